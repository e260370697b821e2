"""PASE / PASE+ frames as a lhotse feature type (``CutSet.compute_and_store_features``).

:class:`PaseExtractor` (name ``"pase"``) is a ``lhotse.features.FeatureExtractor``
registered with lhotse's ``register_extractor``, configured by the dataclass
:class:`PaseExtractorConfig` (``fe_cfg``, ``ckpt``, ``seed``, ``device``, ``chunk_seconds``):
256-dim frames every 0.01 s of 16 kHz audio.

Frame count. lhotse requires ``num_frames == compute_num_frames(duration, frame_shift, sr)``
= ``(L + 80) // 160`` for ``L`` samples (a rounded count), while the encoder gives
``WaveFe.num_frames(L)`` = ``floor(ceil(L / 10) / 16)`` for PASE / PASE+: one frame fewer
when ``80 <= L mod 160 <= 150``, the same count otherwise. :func:`fit_frames` makes the count
lhotse's by repeating the last frame (or dropping frames, for encoders whose rule gives more);
every other frame is the encoder's, unchanged.

Importing this module never needs lhotse: with lhotse installed the extractor subclasses and
registers itself at import; without it, creating one raises an ``ImportError`` saying what to
install.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from pase.constants import HOP, SAMPLE_RATE
from pase.extract import extract_features, load_encoder
from pase.models.frontend import load_config

try:
    from lhotse.features.base import FeatureExtractor as _Base
    from lhotse.features.base import register_extractor as _register

    HAVE_LHOTSE = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_LHOTSE = False
    _Base = object

    def _register(cls: type) -> type:
        return cls


__all__ = ["HAVE_LHOTSE", "PaseExtractor", "PaseExtractorConfig", "fit_frames", "lhotse_num_frames"]

FRAME_SHIFT = HOP / SAMPLE_RATE
"""Seconds between frames (0.01)."""


def lhotse_num_frames(num_samples: int, hop: int = HOP) -> int:
    """lhotse's frame count for ``num_samples`` samples: ``(num_samples + hop // 2) // hop``
    (what ``lhotse.utils.compute_num_frames_from_samples`` gives for a 0.01 s shift)."""
    return (num_samples + hop // 2) // hop


def fit_frames(feats: np.ndarray, num_frames: int) -> np.ndarray:
    """``(T, D)`` -> ``(num_frames, D)``: drop trailing frames or repeat the last one."""
    if feats.ndim != 2 or feats.shape[0] == 0:
        raise ValueError(f"expected (T, D) features with T >= 1, got shape {feats.shape}")
    t = feats.shape[0]
    if t >= num_frames:
        return feats[:num_frames]
    return np.concatenate([feats, np.repeat(feats[-1:], num_frames - t, axis=0)], 0)


@dataclass
class PaseExtractorConfig:
    """Settings of :class:`PaseExtractor` (serialised by lhotse with the features).

    Attributes:
        fe_cfg: ``PASE``, ``PASE+`` or a frontend ``.cfg`` file.
        ckpt: encoder checkpoint; None: random weights drawn from ``seed``.
        seed: seed of the random weights.
        device: ``cpu`` or ``cuda[:N]``.
        chunk_seconds: encode long audio in pieces of this many seconds (same output).
        sampling_rate: Hz; must be 16000.
    """

    fe_cfg: str = "PASE+"
    ckpt: str | None = None
    seed: int = 0
    device: str = "cpu"
    chunk_seconds: float = 20.0
    sampling_rate: int = SAMPLE_RATE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> PaseExtractorConfig:
        return PaseExtractorConfig(**data)


@_register
class PaseExtractor(_Base):  # type: ignore[misc,valid-type]
    """PASE / PASE+ frames for lhotse: ``extract(samples (L,) or (1, L), 16000)`` ->
    ``(lhotse_num_frames(L), D)`` float32 (see the module doc on the frame count)."""

    name = "pase"
    config_type = PaseExtractorConfig

    def __init__(self, config: PaseExtractorConfig | None = None) -> None:
        if not HAVE_LHOTSE:
            raise ImportError("PaseExtractor needs lhotse: pip install lhotse")
        super().__init__(config=config)
        if self.config.sampling_rate != SAMPLE_RATE:
            raise ValueError(
                f"PaseExtractor: sampling_rate {self.config.sampling_rate}: PASE encoders take "
                f"{SAMPLE_RATE} Hz audio (resample the cuts first)"
            )
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:  # worker processes rebuild the encoder
        return {**self.__dict__, "_model": None}

    @property
    def model(self) -> Any:
        """The encoder (built on first use, eval mode, on ``config.device``)."""
        if self._model is None:
            c = self.config
            self._model = load_encoder(c.fe_cfg, c.ckpt or None, c.device, seed=c.seed)
        return self._model

    @property
    def device(self) -> str | torch.device:
        return self.config.device

    @property
    def frame_shift(self) -> float:
        return FRAME_SHIFT

    def feature_dim(self, sampling_rate: int) -> int:
        return int(load_config(self.config.fe_cfg)["emb_dim"])

    def extract(self, samples: np.ndarray | torch.Tensor, sampling_rate: int) -> np.ndarray:
        if sampling_rate != SAMPLE_RATE:
            raise ValueError(
                f"PaseExtractor: got {sampling_rate} Hz audio, needs {SAMPLE_RATE} Hz "
                "(resample the cuts first)"
            )
        x = torch.as_tensor(samples, dtype=torch.float32)
        if x.dim() == 2 and x.shape[0] == 1:
            x = x[0]
        if x.dim() != 1:
            raise ValueError(
                f"PaseExtractor: expected mono audio (L,) or (1, L), got shape {tuple(x.shape)}"
            )
        feats = extract_features(self.model, x, chunk_seconds=self.config.chunk_seconds)
        return fit_frames(feats, lhotse_num_frames(x.shape[0]))

    def extract_batch(
        self,
        samples: Any,
        sampling_rate: int,
        lengths: Any = None,
    ) -> Any:
        """lhotse's batch call; a padded batch with ``lengths`` is encoded item by item on
        its own samples (padding never enters a frame)."""
        if lengths is None:
            return super().extract_batch(samples, sampling_rate)
        feats = [self.extract(samples[i, : int(n)], sampling_rate) for i, n in enumerate(lengths)]
        out = [torch.from_numpy(f) for f in feats] if torch.is_tensor(samples) else feats
        if all(f.shape == out[0].shape for f in out):
            return torch.stack(out) if torch.is_tensor(samples) else np.stack(out)
        return out
