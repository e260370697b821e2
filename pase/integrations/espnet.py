"""A PASE / PASE+ encoder as an ESPnet frontend (``espnet2`` ``AbsFrontend`` contract).

:class:`PaseFrontend` maps raw 16 kHz speech ``(B, L)`` with its lengths ``(B,)`` (samples)
to frame features ``(B, T, D)`` with frame lengths ``(B,)``, 100 frames/s. It subclasses
``espnet2.asr.frontend.abs_frontend.AbsFrontend`` when espnet is importable, else it is a
plain ``torch.nn.Module`` with the same two methods (``output_size``, ``forward``).

ESPnet builds frontends by name from its ``frontend_choices``; :func:`register` adds this
class there (before the task parses its arguments). See docs/integrations.md.
"""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor, nn

from pase.constants import SAMPLE_RATE
from pase.integrations._common import build_features

try:  # the base class when ESPnet is installed; the contract is the same without it
    from espnet2.asr.frontend.abs_frontend import AbsFrontend as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = nn.Module

__all__ = ["PaseFrontend", "register"]


def _sample_rate(fs: int | str) -> int:
    """``16000``, ``"16000"`` or ESPnet's ``"16k"`` -> Hz."""
    if isinstance(fs, str):
        text = fs.strip().lower()
        return round(float(text[:-1]) * 1000) if text.endswith("k") else round(float(text))
    return int(fs)


class PaseFrontend(_Base):  # type: ignore[misc,valid-type]
    """PASE / PASE+ frontend for ESPnet.

    Args:
        fe_cfg: encoder config: ``PASE``, ``PASE+`` or a frontend ``.cfg`` file.
        ckpt: encoder checkpoint (``FE_e199.ckpt``, original or ours); None: random weights
            drawn from ``seed``.
        layer: ``"output"``, ``"weighted"`` (learned softmax-weighted sum of the hidden
            layers) or a hidden-layer index (see :class:`pase.downstream.featurizer
            .EncoderFeatures`).
        finetune: train the encoder with the ASR model; default False: frozen (eval mode,
            no gradient; the layer weights of ``"weighted"`` still train).
        freeze_bn: when fine-tuning, keep BatchNorm on its running statistics.
        fs: sampling rate of the input (ESPnet's ``fs``, e.g. ``16k``); must be 16 kHz.
        seed: seed of the random weights when ``ckpt`` is None.
    """

    def __init__(
        self,
        fe_cfg: str | os.PathLike | dict[str, Any] = "PASE+",
        ckpt: str | os.PathLike | None = None,
        layer: str | int = "output",
        finetune: bool = False,
        freeze_bn: bool = False,
        fs: int | str = SAMPLE_RATE,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if _sample_rate(fs) != SAMPLE_RATE:
            raise ValueError(
                f"PaseFrontend: fs {fs!r}: PASE encoders take {SAMPLE_RATE} Hz audio; "
                "resample the data first"
            )
        self.features = build_features(
            fe_cfg, ckpt, layer=layer, finetune=finetune, freeze_bn=freeze_bn, seed=seed
        )

    def output_size(self) -> int:
        """Feature dimension ``D`` (256 for PASE / PASE+)."""
        return self.features.dim

    def forward(self, input: Tensor, input_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``input (B, L)`` zero-padded samples and ``input_lengths (B,)`` samples ->
        ``feats (B, T, D)`` (zero past each length) and ``feats_lens (B,)`` frames."""
        if input.dim() != 2:
            raise ValueError(f"PaseFrontend: expected input (B, L), got {tuple(input.shape)}")
        feats, feats_lens = self.features(input, input_lengths)
        return feats, feats_lens.to(input_lengths.device)


def register(name: str = "pase") -> None:
    """Add :class:`PaseFrontend` to ESPnet's ASR ``frontend_choices`` as ``name``, so that
    ``frontend: pase`` works; call it before the task builds its argument parser."""
    try:
        from espnet2.tasks.asr import frontend_choices
    except ImportError as e:
        raise ImportError("register() needs ESPnet: pip install espnet") from e
    frontend_choices.classes[name.lower()] = PaseFrontend
