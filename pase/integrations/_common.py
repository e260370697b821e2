"""What the integrations share: building the frame-feature module from config names."""

from __future__ import annotations

import os
from typing import Any

from pase.downstream.featurizer import LAYERS, EncoderFeatures
from pase.extract import load_encoder


def parse_layer(layer: str | int) -> str | int:
    """``"output"``, ``"weighted"`` or a hidden-layer index (``3``, ``"3"``, ``"-1"``)."""
    if isinstance(layer, bool):
        raise ValueError(f"layer must be one of {LAYERS} or a layer index, got {layer!r}")
    if isinstance(layer, int) or layer in LAYERS:
        return layer
    try:
        return int(layer)
    except (TypeError, ValueError):
        raise ValueError(f"layer must be one of {LAYERS} or a layer index, got {layer!r}") from None


def build_features(
    fe_cfg: str | os.PathLike | dict[str, Any] = "PASE+",
    ckpt: str | os.PathLike | None = None,
    *,
    layer: str | int = "output",
    finetune: bool = False,
    freeze_bn: bool = False,
    seed: int = 0,
) -> EncoderFeatures:
    """:class:`EncoderFeatures` over the encoder of ``fe_cfg`` (``PASE``, ``PASE+``, a
    ``.cfg`` path or a dict) with the weights of ``ckpt`` (seeded random ones without)."""
    encoder = load_encoder(fe_cfg, None if ckpt in (None, "") else ckpt, "cpu", seed=seed)
    return EncoderFeatures(
        encoder, layer=parse_layer(layer), finetune=finetune, freeze_bn=freeze_bn
    )
