"""pase-export: TorchScript / ONNX files equal the eager encoder at other lengths."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

import pase.export as export_mod
from pase.bin.export import main
from pase.export import ExportableEncoder, export_encoder
from pase.extract import load_encoder

from .conftest import TINY, randomize_bn

#: PASE-shaped (no dense skips, no RNN, no output norm)
TINY_PASE = {k: TINY[k] for k in ("kwidths", "strides", "fmaps", "emb_dim")}


def _jit_load(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path))


@pytest.mark.parametrize("cfg", [TINY, TINY_PASE], ids=["pase+", "pase"])
def test_torchscript_any_length_and_batch(tmp_path: Path, cfg: dict, tiny_encoder) -> None:
    model = tiny_encoder if cfg is TINY else load_encoder(cfg, None, "cpu", seed=3)
    randomize_bn(model)
    report = export_encoder(model, tmp_path / "enc.pt", "torchscript", export_samples=4000)
    assert report.max_abs_diff <= 1e-4 and report.check_samples != 4000
    loaded = _jit_load(tmp_path / "enc.pt")
    for batch, n in [(1, model.min_input_samples), (3, 1599), (2, 6011)]:
        x = torch.randn(batch, 1, n)
        with torch.no_grad():
            ref = model(x)
            got = loaded(x)
        assert got.shape == (batch, model.emb_dim, model.num_frames(n))
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(torch.jit.Error, match="too short"):
        loaded(torch.randn(1, 1, model.min_input_samples - 1))


def test_onnx_any_length_and_batch(tmp_path: Path, tiny_encoder) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    report = export_encoder(tiny_encoder, tmp_path / "enc.onnx", "onnx", export_samples=4000)
    assert report.max_abs_diff <= 1e-4
    session = ort.InferenceSession(str(tmp_path / "enc.onnx"), providers=["CPUExecutionProvider"])
    for batch, n in [(1, 1599), (3, 7013)]:
        x = torch.randn(batch, 1, n)
        with torch.no_grad():
            ref = tiny_encoder(x)
        got = torch.from_numpy(session.run(["feats"], {"wav": x.numpy()})[0])
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_the_check_catches_a_wrong_export(tmp_path: Path, tiny_encoder, monkeypatch) -> None:
    init = ExportableEncoder.__init__

    def off_by_a_bit(self, model):
        init(self, model)
        self.out_shift += 1e-3

    monkeypatch.setattr(ExportableEncoder, "__init__", off_by_a_bit)
    with pytest.raises(ValueError, match="differs from the eager one"):
        export_encoder(tiny_encoder, tmp_path / "bad.pt", "torchscript")


def test_refusals(tmp_path: Path, tiny_encoder) -> None:
    with pytest.raises(ValueError, match="format"):
        export_encoder(tiny_encoder, tmp_path / "x", "tflite")
    with pytest.raises(ValueError, match="must differ"):
        export_encoder(tiny_encoder, tmp_path / "x", export_samples=5000, check_samples=5000)
    with pytest.raises(ValueError, match="minimum"):
        export_encoder(tiny_encoder, tmp_path / "x", check_samples=100)
    lstm = load_encoder({**TINY, "rnn_type": "lstm"}, None, "cpu")
    with pytest.raises(ValueError, match="rnn_type"):
        export_mod.ExportableEncoder(lstm)


def test_cli(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "exp" / "tiny.pt"
    assert main(["--fe-cfg", str(cfg), "--seed", "3", "--format", "torchscript", str(out)]) == 0
    assert "reloaded" in capsys.readouterr().err
    x = torch.randn(1, 1, 3000)
    with torch.no_grad():
        ref = load_encoder(str(cfg), None, "cpu", seed=3)(x)
    torch.testing.assert_close(_jit_load(out)(x), ref, rtol=1e-4, atol=1e-5)
    assert main(["--fe-cfg", str(tmp_path / "missing.cfg"), str(out)]) == 1
    assert "pase-export: error: frontend config" in capsys.readouterr().err
