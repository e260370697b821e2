"""The s3prl-style upstream and the torch.hub entry points of hubconf.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pase.extract import load_encoder
from pase.integrations.s3prl import UpstreamExpert

ROOT = Path(__file__).resolve().parents[2]


def test_upstream_layers_and_padding(tiny_cfg) -> None:
    up = UpstreamExpert(model_config=tiny_cfg, seed=3).eval()
    assert up.get_downsample_rates("hidden_states") == 160
    wavs = [torch.randn(3200), torch.randn(2050), torch.randn(2400)]
    out = up(wavs)
    hidden = out["hidden_states"]
    assert len(hidden) == 9
    assert all(h.shape == (3, 20, 16) for h in hidden)
    assert out["last_hidden_state"] is hidden[-1]
    enc = load_encoder(tiny_cfg, None, "cpu", seed=3)
    for i, w in enumerate(wavs):
        alone, layers = enc(w.view(1, 1, -1), return_hidden=True)
        t = alone.shape[-1]
        torch.testing.assert_close(hidden[-1][i, :t], alone[0].T, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(hidden[0][i, :t], layers[0][0].T, rtol=1e-4, atol=1e-5)
        assert torch.all(hidden[-1][i, t:] == 0)


def test_upstream_errors(tiny_cfg) -> None:
    up = UpstreamExpert(model_config=tiny_cfg)
    with pytest.raises(ValueError, match="1-D"):
        up([torch.randn(1, 3200)])
    with pytest.raises(ValueError, match="empty"):
        up([])


def test_hub_entries_load_checkpoints(tmp_path: Path) -> None:
    ckpt = tmp_path / "FE_e1.ckpt"
    torch.save(load_encoder("PASE+", None, "cpu", seed=7).state_dict(), ckpt)
    enc = torch.hub.load(str(ROOT), "pase_plus", source="local", ckpt=str(ckpt))
    ref = load_encoder("PASE+", ckpt, "cpu")
    x = torch.randn(1, 1, 1600)
    torch.testing.assert_close(enc(x), ref(x))
    assert not enc.training
    plain = torch.hub.load(str(ROOT), "pase", source="local")
    assert plain.denseskips is None and plain.rnn is None
    up = torch.hub.load(str(ROOT), "s3prl_upstream", source="local", ckpt=str(ckpt))
    torch.testing.assert_close(up([x[0, 0]])["last_hidden_state"][0], ref(x)[0].T)


def test_hubconf_imports_nothing_heavy() -> None:
    code = (
        "import sys, importlib.util as u; "
        f"s = u.spec_from_file_location('hubconf', {str(ROOT / 'hubconf.py')!r}); "
        "m = u.module_from_spec(s); s.loader.exec_module(m); "
        "print(sorted(k for k in ('torch', 'pase', 'numpy') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
