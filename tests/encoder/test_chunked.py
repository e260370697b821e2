"""Chunked extraction of long audio equals the one-shot output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.extract import extract_features
from pase.models.frontend import wf_builder


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(3)
    out = {}
    for name in ("PASE", "PASE+"):
        m = wf_builder(name)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_var.uniform_(0.5, 2.0)
        out[name] = m.eval()
    return out


def _speechish(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000
    env = 0.5 + 0.5 * torch.sin(2 * torch.pi * 3 * t)
    return (env * torch.sin(2 * torch.pi * 140 * t) + 0.05 * torch.randn(n, generator=g)).view(
        1, 1, -1
    )


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_60s_chunked_equals_one_shot(models, name: str) -> None:
    model = models[name]
    x = _speechish(60 * 16000 + 77)
    with torch.no_grad():
        full = model(x)
        chunked = model.extract_chunked(x, chunk_frames=1000)
    assert chunked.shape == full.shape
    torch.testing.assert_close(chunked, full, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("extra", [0, 1, 100, 150, 151, 159])
@pytest.mark.parametrize("chunk_frames", [7, 64])
def test_small_chunks_and_length_remainders(models, extra: int, chunk_frames: int) -> None:
    model = models["PASE+"]
    x = _speechish(160 * 230 + extra, seed=extra)
    with torch.no_grad():
        full = model(x)
        chunked = model.extract_chunked(x, chunk_frames=chunk_frames)
    torch.testing.assert_close(chunked, full, rtol=1e-4, atol=1e-4)


def test_chunked_modes_and_errors(models) -> None:
    model = models["PASE+"]
    x = _speechish(16000 * 5)
    with torch.no_grad():
        torch.testing.assert_close(
            model.extract_chunked(x, chunk_frames=100, mode="avg_norm"),
            model(x, mode="avg_norm"),
            rtol=1e-4,
            atol=1e-4,
        )
    lstm = wf_builder({**model.config, "rnn_type": "lstm"}).eval()
    with pytest.raises(ValueError, match="causal"):
        lstm.extract_chunked(x)
    with pytest.raises(ValueError, match="eval mode"):
        wf_builder("PASE").train().extract_chunked(x)


def test_extract_features_matches_model(models) -> None:
    model = models["PASE+"]
    wav = _speechish(16000 * 3).view(-1).numpy()
    feats = extract_features(model, wav, chunk_seconds=0.5)
    with torch.no_grad():
        ref = model(torch.from_numpy(wav).view(1, 1, -1))[0].t().numpy()
    assert feats.dtype == np.float32 and feats.shape == (300, 256)
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-4)
    peak = extract_features(model, 3 * wav, peak_normalize=True)
    np.testing.assert_allclose(peak, extract_features(model, wav / np.abs(wav).max()), atol=1e-5)


def test_untrained_encoders_are_seeded() -> None:
    from pase.extract import load_encoder

    a, b = load_encoder("PASE"), load_encoder("PASE")
    c = load_encoder("PASE", seed=1)
    state = torch.get_rng_state()
    load_encoder("PASE")
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone
    assert torch.equal(a.W.weight, b.W.weight) and not torch.equal(a.W.weight, c.W.weight)


def test_original_skip_pool_chunked_only_where_windows_are_aligned(models) -> None:
    orig = wf_builder({**models["PASE+"].config, "skip_pool": "original"}).eval()
    orig.load_state_dict(models["PASE+"].state_dict())
    x = _speechish(160 * 400)
    with torch.no_grad():
        torch.testing.assert_close(
            orig.extract_chunked(x, chunk_frames=64), orig(x), rtol=1e-4, atol=1e-4
        )
        with pytest.raises(ValueError, match="aligned"):
            orig.extract_chunked(_speechish(160 * 400 + 155), chunk_frames=64)
