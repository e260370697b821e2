"""The SpeechBrain lobe's contract: relative lengths in, (B, T, D) features out."""

from __future__ import annotations

import pytest
import torch

from pase.extract import load_encoder
from pase.integrations.speechbrain import PaseLobe, relative_to_samples


def test_relative_lengths() -> None:
    assert relative_to_samples(torch.tensor([1.0, 0.5, 0.0]), 3200).tolist() == [3200, 1600, 1]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        relative_to_samples(torch.tensor([1.2]), 100)


def test_features_match_each_item_alone(tiny_cfg) -> None:
    lobe = PaseLobe(fe_cfg=tiny_cfg, seed=3)
    assert lobe.output_size == 16
    wavs = torch.randn(2, 3200)
    wavs[1, 1600:] = 0
    feats = lobe(wavs, torch.tensor([1.0, 0.5]))
    assert feats.shape == (2, 20, 16)
    ref = load_encoder(tiny_cfg, None, "cpu", seed=3)
    torch.testing.assert_close(feats[1, :10], ref(wavs[1:, None, :1600])[0].T, rtol=1e-4, atol=1e-5)
    assert torch.all(feats[1, 10:] == 0)
    torch.testing.assert_close(lobe(wavs[:1]), feats[:1])  # wav_lens None: full length


def test_freeze_flag(tiny_cfg) -> None:
    frozen = PaseLobe(fe_cfg=tiny_cfg, seed=3).train()
    assert not frozen.features.encoder.training
    assert not any(p.requires_grad for p in frozen.parameters())
    tuned = PaseLobe(fe_cfg=tiny_cfg, seed=3, freeze=False, layer="weighted").train()
    assert tuned.features.encoder.training
    tuned(torch.randn(2, 2400), torch.tensor([1.0, 0.8])).sum().backward()
    assert tuned.features.encoder.W.weight.grad.abs().sum() > 0
    assert tuned.features.weighted.weights.grad.abs().sum() > 0
