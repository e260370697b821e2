"""A PASE / PASE+ encoder as a SpeechBrain lobe (no SpeechBrain import needed).

:class:`PaseLobe` follows SpeechBrain's front-end convention: ``forward(wavs (B, L),
wav_lens (B,))`` where ``wav_lens`` are *relative* lengths in ``[0, 1]`` (length / longest),
returning features ``(B, T, D)`` at 100 frames/s, zero past each example's frames. The
relative lengths of the features are the same ``wav_lens`` (up to a frame's rounding), so the
recipe passes ``wav_lens`` on unchanged. See docs/integrations.md for a hyperpyyaml snippet.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor, nn

from pase.integrations._common import build_features

__all__ = ["PaseLobe", "relative_to_samples"]


def relative_to_samples(wav_lens: Tensor, max_len: int) -> Tensor:
    """Relative lengths ``(B,)`` in ``[0, 1]`` -> samples ``(B,)`` (rounded, at least 1)."""
    if wav_lens.dim() != 1:
        raise ValueError(f"wav_lens must be (B,), got {tuple(wav_lens.shape)}")
    if bool(((wav_lens < 0) | (wav_lens > 1)).any()):
        raise ValueError(f"wav_lens must be relative lengths in [0, 1], got {wav_lens.tolist()}")
    return torch.round(wav_lens.double() * max_len).long().clamp(1, max_len)


class PaseLobe(nn.Module):
    """PASE / PASE+ front end for SpeechBrain recipes.

    Args:
        fe_cfg: encoder config: ``PASE``, ``PASE+`` or a frontend ``.cfg`` file.
        ckpt: encoder checkpoint; None: random weights drawn from ``seed``.
        layer: ``"output"``, ``"weighted"`` (learned softmax-weighted sum of the hidden layers)
            or a hidden-layer index.
        freeze: SpeechBrain's flag: True (default) keeps the encoder frozen (eval mode, no
            gradient); False fine-tunes it.
        freeze_bn: when fine-tuning, keep BatchNorm on its running statistics.
        seed: seed of the random weights when ``ckpt`` is None.
    """

    def __init__(
        self,
        fe_cfg: str | os.PathLike | dict[str, Any] = "PASE+",
        ckpt: str | os.PathLike | None = None,
        layer: str | int = "output",
        freeze: bool = True,
        freeze_bn: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.freeze = freeze
        self.features = build_features(
            fe_cfg, ckpt, layer=layer, finetune=not freeze, freeze_bn=freeze_bn, seed=seed
        )

    @property
    def output_size(self) -> int:
        """Feature dimension ``D``."""
        return self.features.dim

    def forward(self, wavs: Tensor, wav_lens: Tensor | None = None) -> Tensor:
        """``wavs (B, L)`` 16 kHz samples, ``wav_lens (B,)`` relative lengths (None: all 1)
        -> ``(B, T, D)`` features."""
        if wavs.dim() != 2:
            raise ValueError(f"PaseLobe: expected wavs (B, L), got {tuple(wavs.shape)}")
        if wav_lens is None:
            wav_lens = wavs.new_ones(wavs.shape[0])
        lengths = relative_to_samples(wav_lens.to(wavs.device), wavs.shape[-1])
        feats, _ = self.features(wavs, lengths)
        return feats
