"""A PASE encoder as the front end of a downstream model.

:class:`EncoderFeatures` takes a zero-padded waveform batch and its lengths and returns
frame features ``(B, T, C)`` with frame lengths ``(B,)``, from one layer or a learned
weighted sum of the 9 hidden layers (:class:`WeightedLayerSum`, s3prl's Featurizer idea:
softmax weights over layers). The encoder is frozen (eval mode, no gradient) or fine-tuned
(train mode; BatchNorm statistics of the real frames only, or frozen with ``freeze_bn``, see
:meth:`pase.models.frontend.WaveFe.freeze_bn`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pase.models.frontend import WaveFe

#: ``layer`` values besides a hidden-layer index
LAYERS = ("output", "weighted")


class WeightedLayerSum(nn.Module):
    """Softmax-weighted sum of ``num_layers`` layers, each ``(B, C, T)`` -> ``(B, C, T)``.

    The weights start equal; with ``layer_norm`` each layer is normalised over channels first
    (layers of very different scales then weigh by the learned weights alone).
    """

    def __init__(self, num_layers: int, layer_norm: bool = False) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(num_layers))
        self.layer_norm = layer_norm

    @property
    def layer_weights(self) -> Tensor:
        """``(num_layers,)`` softmax weights (detached)."""
        return F.softmax(self.weights.detach(), 0)

    def forward(self, layers: Sequence[Tensor]) -> Tensor:
        if len(layers) != self.weights.numel():
            raise ValueError(f"expected {self.weights.numel()} layers, got {len(layers)}")
        stack = torch.stack(list(layers))  # (L, B, C, T)
        if self.layer_norm:
            stack = F.layer_norm(stack.transpose(2, 3), stack.shape[2:3]).transpose(2, 3)
        w = F.softmax(self.weights, 0).view(-1, 1, 1, 1)
        return (w * stack).sum(0)


class EncoderFeatures(nn.Module):
    """Waveforms -> frame features for a task head.

    Args:
        encoder: a PASE / PASE+ encoder (e.g. :func:`pase.extract.load_encoder`).
        layer: ``"output"`` (the encoder output), ``"weighted"`` (learned weighted sum of the
            9 hidden layers: 7 dense skips, ``W``, output) or an index into those layers.
        finetune: train the encoder with the head (else it is frozen: eval mode, no grad).
        freeze_bn: when fine-tuning, keep BatchNorm on its running statistics.

    ``forward(wav (B, L) or (B, 1, L), lengths (B,) samples)`` -> ``(feats (B, T, C),
    frame_lengths (B,))``; frames past a length are zero.
    """

    def __init__(
        self,
        encoder: WaveFe,
        *,
        layer: str | int = "output",
        finetune: bool = False,
        freeze_bn: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(layer, str) and layer not in LAYERS:
            raise ValueError(f"layer must be one of {LAYERS} or a layer index, got {layer!r}")
        self.encoder = encoder
        self.layer = layer
        self.finetune = finetune
        self.num_layers = 9 if encoder.denseskips is not None else 2
        if isinstance(layer, int) and not -self.num_layers <= layer < self.num_layers:
            raise ValueError(f"layer {layer} out of range for {self.num_layers} hidden layers")
        self.weighted = WeightedLayerSum(self.num_layers) if layer == "weighted" else None
        if finetune:
            encoder.freeze_bn(freeze_bn)
        else:
            for p in encoder.parameters():
                p.requires_grad_(False)

    @property
    def dim(self) -> int:
        """Feature dimension ``C``."""
        return self.encoder.emb_dim

    def train(self, mode: bool = True) -> EncoderFeatures:
        super().train(mode)
        if not self.finetune:
            self.encoder.eval()
        return self

    def forward(self, wav: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = wav.unsqueeze(1) if wav.dim() == 2 else wav
        need_hidden = self.layer != "output"
        with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
            out = self.encoder(x, lengths=lengths, return_hidden=need_hidden)
        if need_hidden:
            y, frames, hidden = out
            y = self.weighted(hidden) if self.weighted is not None else hidden[int(self.layer)]
            mask = torch.arange(y.shape[-1], device=y.device)[None, :] < frames[:, None]
            y = y * mask[:, None, :]
        else:
            y, frames = out
        return y.transpose(1, 2), frames
