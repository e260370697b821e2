"""The set of worker targets named by an original PASE workers config.

``TargetSet.from_workers_cfg(cfg)`` reads the ``"regr"`` workers of a workers config
(``{"regr": [...], "cls": [...]}``, the original JSON format), maps each worker name to a
registered target kind (:mod:`pase.targets.kinds`: ``lps``, ``mfcc``, ``fbank``, ``gtn``,
``prosody``, optionally with a suffix such as ``lps_long``; ``cchunk`` is the clean waveform)
and applies the worker's ``transform`` overrides (:func:`pase.targets.base.target_from_worker`).
Calling the set on a ``(B, L)`` batch returns ``{name: (B, C, T)}`` with ``T = L // hop`` and
waveform targets as ``(B, 1, L)``; spectra shared by several targets are computed once.
Classification workers (``"cls"``: LIM, GIM, SPC) have no target here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

import pase.targets.kinds  # noqa: F401  (registers the built-in target kinds)
from pase.constants import HOP, SAMPLE_RATE
from pase.targets import functional as tf
from pase.targets.base import Target, target_from_worker
from pase.workers.config import WorkersConfigError, load_workers_cfg


class TargetSet:
    """Targets of the regression workers of a workers config, computed together.

    ``ts(wav)`` with ``wav`` ``(B, L)`` (or ``(B, 1, L)``) float returns
    ``{name: tensor}`` in config order: ``(B, C, T)`` features with ``T = L // hop`` and
    ``(B, 1, L)`` (a copy of the clean input) for waveform targets (``cchunk``).
    """

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        hop: int = HOP,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        names = [t.name for t in targets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise WorkersConfigError(f"duplicate target names: {', '.join(dup)}")
        self.targets = list(targets)
        self.hop = hop
        self.sample_rate = sample_rate

    @classmethod
    def from_workers_cfg(
        cls,
        cfg: str | os.PathLike | Mapping[str, Any] = "workers+",
        *,
        hop: int = HOP,
        sample_rate: int = SAMPLE_RATE,
    ) -> TargetSet:
        """Build the set from a workers config (see :func:`load_workers_cfg`): one target per
        ``"regr"`` worker. Unknown worker names, unknown transform keys, bad values or a
        ``num_outputs`` that disagrees with the target raise :class:`WorkersConfigError`."""
        data, where = load_workers_cfg(cfg)
        regr = data.get("regr", [])
        if not isinstance(regr, list):
            raise WorkersConfigError(f"{where}: 'regr' must be a list of workers")
        targets = [
            target_from_worker(w, where=f"{where}: regr[{i}]", hop=hop, sample_rate=sample_rate)
            for i, w in enumerate(regr)
        ]
        try:
            return cls(targets, hop=hop, sample_rate=sample_rate)
        except WorkersConfigError as e:
            raise WorkersConfigError(f"{where}: {e}") from None

    @property
    def names(self) -> list[str]:
        """Target names in config order."""
        return [t.name for t in self.targets]

    @property
    def dims(self) -> dict[str, int]:
        """Channels ``C`` of each target (1 for the waveform)."""
        return {t.name: t.channels for t in self.targets}

    @property
    def waveform_names(self) -> list[str]:
        """Names of waveform targets (never z-normalised)."""
        return [t.name for t in self.targets if t.waveform]

    def subset(self, names: Iterable[str]) -> TargetSet:
        """A set with only ``names`` (in this set's order)."""
        wanted = set(names)
        missing = wanted - set(self.names)
        if missing:
            raise KeyError(f"no target(s) {sorted(missing)} in this set ({self.names})")
        targets = [t for t in self.targets if t.name in wanted]
        return TargetSet(targets, hop=self.hop, sample_rate=self.sample_rate)

    def __repr__(self) -> str:
        inner = ", ".join(f"{t.name}:{t.kind}({t.channels})" for t in self.targets)
        return f"TargetSet([{inner}], hop={self.hop})"

    def __call__(
        self, wav: torch.Tensor, *, timings: dict[str, float] | None = None
    ) -> dict[str, torch.Tensor]:
        """Compute every target of ``wav`` ``(B, L)``. With ``timings``, the wall time (s) of
        each target is added to it (a shared spectrum is charged to the first target using
        it; on CUDA the device is synchronised per target)."""
        x = tf.as_batch(wav, "TargetSet input")
        bad = ~torch.isfinite(x).all(dim=-1)
        if bad.any():
            idx = torch.nonzero(bad).flatten().tolist()
            raise tf.TargetError(f"TargetSet input: NaN/Inf samples in batch example(s) {idx}")
        cache = tf.SpectrumCache()
        out: dict[str, torch.Tensor] = {}
        for target in self.targets:
            t0 = time.perf_counter() if timings is not None else 0.0
            out[target.name] = target.compute(
                x, hop=self.hop, sample_rate=self.sample_rate, cache=cache
            )
            if timings is not None:
                if x.is_cuda:
                    torch.cuda.synchronize(x.device)
                timings[target.name] = timings.get(target.name, 0.0) + time.perf_counter() - t0
        return out
