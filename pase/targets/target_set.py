"""The set of worker targets named by an original PASE workers config.

``TargetSet.from_workers_cfg(cfg)`` reads the ``"regr"`` workers of a workers config
(``{"regr": [...], "cls": [...]}``, the original JSON format), maps each worker name to a
target (``lps``, ``mfcc``, ``fbank``, ``gtn``, ``prosody``, optionally with a suffix such as
``lps_long``; ``cchunk`` is the clean waveform) and applies the worker's ``transform``
overrides. Calling the set on a ``(B, L)`` batch returns ``{name: (B, C, T)}`` with
``T = L // hop`` and the waveform target as ``(B, 1, L)``; spectra shared by several targets
are computed once. Classification workers (``"cls"``: LIM, GIM, SPC) have no target here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from pase.targets import functional as tf
from pase.targets.prosody import prosody
from pase.workers.config import WorkersConfigError, load_workers_cfg

WAVEFORM_NAMES = frozenset({"cchunk"})

# Transform keys each target accepts (the original transforms' keyword names) and their
# defaults. "hop" and "sr"/"rate" are also accepted but must equal the set's hop / rate.
TARGET_DEFAULTS: dict[str, dict[str, Any]] = {
    "lps": {"n_fft": 2048, "win": 400, "der_order": 2},
    "mfcc": {"order": 13, "win": 400, "n_fft": None, "n_mels": 128, "der_order": 2},
    "fbank": {"n_filters": 40, "n_fft": 512, "win": 400, "der_order": 2},
    "gtn": {"n_channels": 40, "f_min": 500.0, "win": 400, "der_order": 2},
    "prosody": {"win": 320, "f0_min": 60.0, "f0_max": 300.0, "der_order": 2},
    "waveform": {},
}
_INT_KEYS = {"n_fft", "win", "der_order", "order", "n_mels", "n_filters", "n_channels", "hop"}
_RATE_KEYS = ("sr", "rate")
# Original target names with a different definition that this package does not compute.
UNSUPPORTED_NAMES = frozenset(
    {"mfcc_librosa", "lpc", "kaldimfcc", "kaldiplp", "overlap", "gap", "chunk"}
)


@dataclass(frozen=True)
class TargetSpec:
    """One target: the worker ``name``, its ``kind`` (a key of ``TARGET_DEFAULTS``) and the
    resolved parameters (defaults + overrides)."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def static_channels(self) -> int:
        """Channels before deltas."""
        p = self.params
        if self.kind == "lps":
            return p["n_fft"] // 2 + 1
        if self.kind == "mfcc":
            return p["order"]
        if self.kind == "fbank":
            return p["n_filters"]
        if self.kind == "gtn":
            return p["n_channels"]
        if self.kind == "prosody":
            return 4
        return 1

    @property
    def channels(self) -> int:
        """Output channels ``C`` (static x (1 + der_order)); 1 for the waveform."""
        return self.static_channels * (1 + self.params.get("der_order", 0))


def target_kind(name: str) -> str | None:
    """Target kind of a worker name: the name itself or its prefix before ``_`` (``lps_long``
    -> ``lps``); ``cchunk`` -> ``waveform``; None when unknown."""
    if name in WAVEFORM_NAMES:
        return "waveform"
    if name in UNSUPPORTED_NAMES:
        return None
    for kind in TARGET_DEFAULTS:
        if kind != "waveform" and (name == kind or name.startswith(kind + "_")):
            return kind
    return None


def _check_value(where: str, kind: str, key: str, value: Any) -> Any:
    if key in _INT_KEYS:
        if value is None and key == "n_fft" and kind == "mfcc":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise WorkersConfigError(f"{where}: transform key {key!r} must be a non-negative "
                                     f"integer, got {value!r}")  # fmt: skip
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorkersConfigError(f"{where}: transform key {key!r} must be a number, got {value!r}")
    return float(value)


def _validate(spec: TargetSpec, where: str, sample_rate: int) -> None:
    p = spec.params
    nyq = sample_rate / 2

    def bad(msg: str) -> WorkersConfigError:
        return WorkersConfigError(f"{where}: {msg}")

    if spec.kind == "waveform":
        return
    if not 0 <= p["der_order"] <= 2:
        raise bad(f"der_order must be 0, 1 or 2, got {p['der_order']}")
    if p["win"] < 2:
        raise bad(f"win must be >= 2 samples, got {p['win']}")
    if spec.kind in ("lps", "fbank") and p["n_fft"] < p["win"]:
        raise bad(f"n_fft ({p['n_fft']}) must be >= win ({p['win']})")
    if spec.kind == "mfcc":
        n_fft = p["win"] if p["n_fft"] is None else p["n_fft"]
        if n_fft < p["win"]:
            raise bad(f"n_fft ({n_fft}) must be >= win ({p['win']})")
        if not 1 <= p["order"] <= p["n_mels"]:
            raise bad(f"order must be in 1..n_mels ({p['n_mels']}), got {p['order']}")
    if spec.kind == "fbank" and p["n_filters"] < 1:
        raise bad(f"n_filters must be >= 1, got {p['n_filters']}")
    if spec.kind == "gtn":
        if p["n_channels"] < 1:
            raise bad(f"n_channels must be >= 1, got {p['n_channels']}")
        if not 0 < p["f_min"] < nyq:
            raise bad(f"f_min must be in (0, {nyq}) Hz, got {p['f_min']}")
    if spec.kind == "prosody" and not 0 < p["f0_min"] < p["f0_max"] < nyq:
        raise bad(f"need 0 < f0_min < f0_max < {nyq} Hz, got {p['f0_min']}, {p['f0_max']}")


def spec_from_worker(
    worker: Mapping[str, Any],
    *,
    where: str = "worker",
    hop: int = tf.HOP,
    sample_rate: int = tf.SAMPLE_RATE,
) -> TargetSpec:
    """Build the :class:`TargetSpec` of one regression worker dict (``name``, optional
    ``transform`` overrides, optional ``num_outputs`` checked against the target's channels).
    Raises :class:`WorkersConfigError` naming ``where`` and the worker."""
    if not isinstance(worker, Mapping):
        raise WorkersConfigError(f"{where}: a worker must be a JSON object, got {worker!r}")
    name = worker.get("name")
    if not isinstance(name, str) or not name:
        raise WorkersConfigError(f"{where}: worker without a 'name'")
    where = f"{where} {name!r}"
    kind = target_kind(name)
    if kind is None:
        known = ", ".join(sorted({"cchunk", *(k for k in TARGET_DEFAULTS if k != "waveform")}))
        raise WorkersConfigError(
            f"{where}: no target for worker name {name!r}; known targets: {known} "
            f"(optionally with a suffix, e.g. lps_long)"
        )
    transform = worker.get("transform", {}) or {}
    if not isinstance(transform, Mapping):
        raise WorkersConfigError(f"{where}: 'transform' must be a JSON object, got {transform!r}")
    defaults = TARGET_DEFAULTS[kind]
    params = dict(defaults)
    for key, value in transform.items():
        if key == "hop":
            if value != hop:
                raise WorkersConfigError(f"{where}: transform hop {value!r} != the set's {hop}")
            continue
        if key in _RATE_KEYS:
            if value != sample_rate:
                raise WorkersConfigError(
                    f"{where}: transform {key} {value!r} != the set's {sample_rate} Hz"
                )
            continue
        if key not in defaults:
            allowed = ", ".join([*defaults, "hop", *_RATE_KEYS])
            raise WorkersConfigError(
                f"{where}: unknown transform key {key!r} for a {kind} target; allowed: {allowed}"
            )
        params[key] = _check_value(where, kind, key, value)
    spec = TargetSpec(name=name, kind=kind, params=params)
    _validate(spec, where, sample_rate)
    n_out = worker.get("num_outputs")
    if kind != "waveform" and n_out is not None and n_out != spec.channels:
        raise WorkersConfigError(
            f"{where}: num_outputs {n_out} does not match the target's {spec.channels} channels "
            f"({spec.static_channels} x (1 + der_order {params['der_order']}))"
        )
    return spec


class TargetSet:
    """Targets of the regression workers of a workers config, computed together.

    ``ts(wav)`` with ``wav`` ``(B, L)`` (or ``(B, 1, L)``) float returns
    ``{name: tensor}`` in config order: ``(B, C, T)`` features with ``T = L // hop`` and
    ``(B, 1, L)`` (a copy of the clean input) for the waveform target ``cchunk``.
    """

    def __init__(
        self,
        specs: Sequence[TargetSpec],
        *,
        hop: int = tf.HOP,
        sample_rate: int = tf.SAMPLE_RATE,
    ) -> None:
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise WorkersConfigError(f"duplicate target names: {', '.join(dup)}")
        self.specs = list(specs)
        self.hop = hop
        self.sample_rate = sample_rate

    @classmethod
    def from_workers_cfg(
        cls,
        cfg: str | os.PathLike | Mapping[str, Any] = "workers+",
        *,
        hop: int = tf.HOP,
        sample_rate: int = tf.SAMPLE_RATE,
    ) -> TargetSet:
        """Build the set from a workers config (see :func:`load_workers_cfg`): one target per
        ``"regr"`` worker. Unknown worker names, unknown transform keys, bad values or a
        ``num_outputs`` that disagrees with the target raise :class:`WorkersConfigError`."""
        data, where = load_workers_cfg(cfg)
        regr = data.get("regr", [])
        if not isinstance(regr, list):
            raise WorkersConfigError(f"{where}: 'regr' must be a list of workers")
        specs = [
            spec_from_worker(w, where=f"{where}: regr[{i}]", hop=hop, sample_rate=sample_rate)
            for i, w in enumerate(regr)
        ]
        names = [s.name for s in specs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise WorkersConfigError(f"{where}: duplicate worker names: {', '.join(dup)}")
        return cls(specs, hop=hop, sample_rate=sample_rate)

    @property
    def names(self) -> list[str]:
        """Target names in config order."""
        return [s.name for s in self.specs]

    @property
    def dims(self) -> dict[str, int]:
        """Channels ``C`` of each target (1 for the waveform)."""
        return {s.name: s.channels for s in self.specs}

    @property
    def waveform_names(self) -> list[str]:
        """Names of waveform targets (never z-normalised)."""
        return [s.name for s in self.specs if s.kind == "waveform"]

    def subset(self, names: Iterable[str]) -> TargetSet:
        """A set with only ``names`` (in this set's order)."""
        wanted = set(names)
        missing = wanted - set(self.names)
        if missing:
            raise KeyError(f"no target(s) {sorted(missing)} in this set ({self.names})")
        specs = [s for s in self.specs if s.name in wanted]
        return TargetSet(specs, hop=self.hop, sample_rate=self.sample_rate)

    def __repr__(self) -> str:
        inner = ", ".join(f"{s.name}:{s.kind}({s.channels})" for s in self.specs)
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
        for spec in self.specs:
            t0 = time.perf_counter() if timings is not None else 0.0
            out[spec.name] = self._compute(spec, x, cache)
            if timings is not None:
                if x.is_cuda:
                    torch.cuda.synchronize(x.device)
                timings[spec.name] = timings.get(spec.name, 0.0) + time.perf_counter() - t0
        return out

    def _compute(self, spec: TargetSpec, x: torch.Tensor, cache: tf.SpectrumCache) -> torch.Tensor:
        p, hop, sr = spec.params, self.hop, self.sample_rate
        if spec.kind == "waveform":
            return x.unsqueeze(1).clone()
        if spec.kind == "lps":
            y = tf.lps(x, p["n_fft"], p["win"], hop, power_fn=cache)
        elif spec.kind == "mfcc":
            y = tf.mfcc(
                x, p["order"], p["win"], p["n_fft"], hop, sample_rate=sr, n_mels=p["n_mels"],
                power_fn=cache,
            )  # fmt: skip
        elif spec.kind == "fbank":
            y = tf.fbank(x, p["n_filters"], p["win"], p["n_fft"], hop, sample_rate=sr,
                         power_fn=cache)  # fmt: skip
        elif spec.kind == "gtn":
            y = tf.gammatone(x, p["n_channels"], p["win"], hop, sample_rate=sr, f_min=p["f_min"],
                             power_fn=cache)  # fmt: skip
        elif spec.kind == "prosody":
            y = prosody(x, p["win"], hop, sample_rate=sr, f0_min=p["f0_min"], f0_max=p["f0_max"])
        else:  # pragma: no cover - kinds come from TARGET_DEFAULTS
            raise AssertionError(spec.kind)
        return tf.stack_deltas(y, p["der_order"])
