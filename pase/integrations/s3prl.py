"""A PASE / PASE+ encoder as an s3prl-style upstream (no s3prl import needed).

:class:`UpstreamExpert` follows s3prl's upstream contract: ``forward(wavs)`` takes a list of
1-D 16 kHz waveforms of any lengths and returns ``{"hidden_states": [(B, T, D), ...],
"last_hidden_state": (B, T, D)}``, every layer at 100 frames/s (downsample rate 160). The
batch is zero-padded and encoded with its lengths, so in eval mode each item's frames equal
the frames of the item encoded alone, up to its own frame count (zeros after).

Hidden layers of PASE+ (9): the 7 dense skips pooled to frame rate, the ``W`` projection, the
output; the last is ``last_hidden_state``. PASE has 2 (``W``, output).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pase.extract import load_encoder

__all__ = ["UpstreamExpert"]


class UpstreamExpert(nn.Module):
    """s3prl upstream of a PASE / PASE+ encoder.

    Args:
        ckpt: encoder checkpoint (``FE_e199.ckpt``, original or ours); None: random weights
            drawn from ``seed``.
        model_config: ``PASE``, ``PASE+`` (default when None) or a frontend ``.cfg`` file.
        seed: seed of the random weights when ``ckpt`` is None.
        **kwargs: other options s3prl passes to upstreams; ignored.
    """

    def __init__(
        self,
        ckpt: str | os.PathLike | None = None,
        model_config: str | os.PathLike | dict[str, Any] | None = None,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.model = load_encoder(model_config or "PASE+", ckpt or None, "cpu", seed=seed)

    def get_downsample_rates(self, key: str) -> int:
        """Input samples per output frame of every layer (``key``): 160."""
        return self.model.hop

    def forward(self, wavs: list[Tensor]) -> dict[str, Any]:
        """``wavs``: list of ``(L_i,)`` waveforms -> ``hidden_states`` (list of ``(B, T, D)``)
        and ``last_hidden_state`` (``(B, T, D)``), ``T`` the frames of the longest."""
        if len(wavs) == 0:
            raise ValueError("UpstreamExpert: empty list of waveforms")
        if any(w.dim() != 1 for w in wavs):
            shapes = [tuple(w.shape) for w in wavs]
            raise ValueError(f"UpstreamExpert: expected 1-D waveforms, got shapes {shapes}")
        lengths = torch.tensor([w.shape[0] for w in wavs], dtype=torch.long)
        longest = int(lengths.max())
        x = torch.stack([F.pad(w, (0, longest - w.shape[0])) for w in wavs]).unsqueeze(1)
        _, _, hidden = self.model(x, lengths=lengths, return_hidden=True)
        layers = [h.transpose(1, 2) for h in hidden]
        return {"hidden_states": layers, "last_hidden_state": layers[-1]}
