"""Loading original and our checkpoints; unsafe pickles are refused."""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pase.bin.extract import main as extract_main
from pase.models.checkpoint import CheckpointError, read_checkpoint
from pase.models.frontend import WaveFe, wf_builder
from tests.encoder.golden import golden_state_dict


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.fixture
def golden_ckpt(tmp_path: Path) -> Path:
    """A raw state_dict file shaped like the published FE_e199.ckpt."""
    path = tmp_path / "FE_e199.ckpt"
    torch.save(golden_state_dict("PASE+"), path)
    return path


def test_raw_state_dict_loads_with_load_last(golden_ckpt: Path, capsys) -> None:
    model = wf_builder("PASE+").eval()
    model.load_pretrained(golden_ckpt, load_last=True, verbose=True)
    ref = golden_state_dict("PASE+")
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k
    assert "78 tensors match" in capsys.readouterr().out


def test_saver_format_and_prefixes(tmp_path: Path) -> None:
    ref = golden_state_dict("PASE")
    for i, prefix in enumerate(["", "module.", "frontend.", "module.frontend."]):
        path = tmp_path / f"c{i}.ckpt"
        sd = OrderedDict((prefix + k, v) for k, v in ref.items())
        sd["minions.0.W.weight"] = torch.zeros(3)  # a worker in a full-model checkpoint
        torch.save({"step": 10, "state_dict": sd, "optimizer": {"lr": 1e-3}}, path)
        model = wf_builder("PASE").load_pretrained(path, load_last=True, verbose=False)
        assert torch.equal(model.W.weight, ref["W.weight"])


def test_load_last_false_keeps_final_layer(golden_ckpt: Path) -> None:
    model = wf_builder("PASE+")
    before = model.norm_out.num_batches_tracked.clone()
    model.load_pretrained(golden_ckpt, load_last=False, verbose=False)
    # the checkpoint's last two entries (norm_out.running_var, num_batches_tracked) are skipped
    assert torch.equal(model.norm_out.num_batches_tracked, before)
    assert torch.equal(model.norm_out.running_var, torch.ones(256))
    assert torch.equal(model.W.weight, golden_state_dict("PASE+")["W.weight"])


def test_missing_and_mismatched_keys_are_named(tmp_path: Path) -> None:
    sd = golden_state_dict("PASE+")
    del sd["W.bias"]
    sd["blocks.3.conv.weight"] = torch.zeros(1, 2, 3)
    path = tmp_path / "bad.ckpt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as err:
        wf_builder("PASE+").load_pretrained(path, load_last=True)
    msg = str(err.value)
    assert "W.bias" in msg and "blocks.3.conv.weight" in msg and "[1, 2, 3]" in msg


def test_pase_checkpoint_does_not_fit_pase_plus(tmp_path: Path) -> None:
    path = tmp_path / "pase.ckpt"
    torch.save(golden_state_dict("PASE"), path)
    with pytest.raises(CheckpointError, match=r"denseskips\.0\.weight"):
        wf_builder("PASE+").load_pretrained(path, load_last=True)


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch", "pickle"])
def test_malicious_pickle_is_refused(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    payload = {"state_dict": golden_state_dict("PASE"), "extra": _Payload(str(marker))}
    if how == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="refused to load"):
        wf_builder("PASE").load_pretrained(path, load_last=True)
    assert not marker.exists()


def _torch_bytes(obj: object, zip_format: bool = True) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=zip_format)
    return buf.getvalue()


def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(3))
    return buf.getvalue()


_SMALL = {"w": torch.arange(40.0)}
# file content -> what the error must say (regex); none of them is "could run arbitrary code"
NOT_CHECKPOINTS = {
    "empty": (b"", r"not a PyTorch checkpoint \(the file is empty\)"),
    "json": (b'{"fe_cfg": "PASE+", "lr": [1, 2]}\n', r"not a PyTorch checkpoint .*JSON text"),
    "yaml": (b"fe_lr: 0.001\nnet_cfg: workers+\n", r"not a PyTorch checkpoint .*YAML text"),
    "text": (b"hello world\n", r"not a PyTorch checkpoint .*looks like text \('hello world'"),
    "random": (
        bytes(range(7, 256)) * 3,
        r"not a PyTorch checkpoint .*binary data starting with 07",
    ),
    "nul": (b"\x00not a checkpoint", r"not a PyTorch checkpoint .*binary data starting with 00 6e"),
    "npz": (_npz_bytes(), r"not a PyTorch checkpoint .*NumPy \.npz"),
    "plain_pickle": (pickle.dumps({"a": 1}), r"not a PyTorch checkpoint .*plain Python pickle"),
    "pickle_protocol0": (pickle.dumps({"a": 1}, protocol=0), r"plain Python pickle"),
    "cut_pickle": (pickle.dumps(list(range(200)))[:60], r"pickle that is cut short"),
    "truncated_zip": (_torch_bytes(_SMALL)[:300], r"not a readable .*truncated or corrupt zip"),
    "truncated_legacy": (
        _torch_bytes(_SMALL, zip_format=False)[:-40],
        r"not a readable .*truncated or damaged legacy torch\.save",
    ),
}


@pytest.mark.parametrize("kind", sorted(NOT_CHECKPOINTS))
def test_read_checkpoint_says_what_the_file_is(tmp_path: Path, kind: str) -> None:
    content, expected = NOT_CHECKPOINTS[kind]
    path = tmp_path / "x.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected) as err:
        read_checkpoint(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    assert "arbitrary code" not in msg and "refused" not in msg


@pytest.mark.parametrize("how", ["torch_zip", "torch_legacy", "pickle", "pickle_protocol0"])
def test_only_pickles_with_foreign_globals_are_called_unsafe(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "pwned"
    payload = {"w": torch.zeros(2), "extra": _Payload(str(marker))}
    content = {
        "torch_zip": lambda: _torch_bytes(payload),
        "torch_legacy": lambda: _torch_bytes(payload, zip_format=False),
        "pickle": lambda: pickle.dumps(payload),
        "pickle_protocol0": lambda: pickle.dumps({"extra": _Payload(str(marker))}, protocol=0),
    }[how]()
    path = tmp_path / "evil.ckpt"
    path.write_bytes(content)
    with pytest.raises(
        CheckpointError, match=r"refused to load.*\(posix\.system\).*arbitrary code"
    ):
        read_checkpoint(path)
    assert not marker.exists()


def test_real_checkpoints_still_load(tmp_path: Path) -> None:
    for i, zip_format in enumerate([True, False]):
        path = tmp_path / f"ok{i}.ckpt"
        path.write_bytes(_torch_bytes(_SMALL, zip_format))
        assert torch.equal(read_checkpoint(path)["w"], _SMALL["w"])


@pytest.mark.parametrize("kind", ["empty", "json", "yaml", "random", "truncated_zip"])
def test_pase_extract_ckpt_error_is_one_line(tmp_path: Path, kind: str, capsys) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(8000, np.float32), 16000)
    (tmp_path / "wav.scp").write_text(f"a {wav}\n")
    ckpt = tmp_path / "FE.ckpt"
    ckpt.write_bytes(NOT_CHECKPOINTS[kind][0])
    out = f"ark,scp:{tmp_path / 'f.ark'},{tmp_path / 'f.scp'}"
    rc = extract_main(["--cfg", "PASE", "--ckpt", str(ckpt), str(tmp_path / "wav.scp"), out])
    assert rc == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"pase-extract: error: {ckpt}: ")
    assert "not a PyTorch checkpoint" in err[0] or "not a readable PyTorch checkpoint" in err[0]
    assert "Traceback" not in err[0] and "arbitrary code" not in err[0]


def test_missing_file_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        wf_builder("PASE").load_pretrained(tmp_path / "nope.ckpt")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(CheckpointError):
        wf_builder("PASE").load_pretrained(garbage)


def test_save_and_from_pretrained_round_trip(tmp_path: Path) -> None:
    model = wf_builder({**wf_builder("PASE").config, "emb_dim": 64})
    path = tmp_path / "ours.pt"
    model.save(path, step=5)
    back = WaveFe.from_pretrained(path)
    assert back.emb_dim == 64 and not back.training
    assert _same(model, back)
    # our format also loads through the original API
    assert _same(
        wf_builder(model.config).load_pretrained(path, load_last=True, verbose=False), model
    )
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file
