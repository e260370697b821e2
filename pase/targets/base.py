"""Target kinds: their base classes, the registry, and building one from a worker entry.

A target kind is one frozen dataclass registered by name. Its fields are the ``transform``
keys a workers config may set for it, with their defaults and types (``int`` values must be
non-negative integers, ``float`` any number, ``X | None`` also ``null``); :meth:`Target.check`
may add checks across keys, ``channels`` and :meth:`Target.compute` define the output::

    @register_target("energy")  # worker names "energy", "energy_<suffix>"
    @dataclass(frozen=True)
    class Energy(FrameTarget):
        win: int = 400

        @property
        def static_channels(self) -> int:
            return 1

        def frames(self, x, *, hop, sample_rate, cache):  # (B, L) -> (B, 1, T)
            return tf.rms_energy(x, self.win, hop).unsqueeze(1)

:func:`target_from_worker` turns a ``"regr"`` worker entry of a workers config into the
target of its kind; :class:`pase.targets.TargetSet` computes a list of them.
"""

from __future__ import annotations

import abc
import functools
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

import torch

from pase.constants import HOP, SAMPLE_RATE
from pase.targets import functional as tf
from pase.workers.config import WorkersConfigError
from pase.workers.registry import Registry

Tensor = torch.Tensor

# Original target names with a different definition that this package does not compute
# ("mfcc_librosa" would otherwise be an mfcc target with a suffix).
UNSUPPORTED_NAMES = frozenset(
    {"mfcc_librosa", "lpc", "kaldimfcc", "kaldiplp", "overlap", "gap", "chunk"}
)
# Transform keys every kind accepts, which must equal the set's hop / sample rate.
_HOP_KEY = "hop"
_RATE_KEYS = ("sr", "rate")


@dataclass(frozen=True, kw_only=True)
class Target(abc.ABC):
    """One target: ``name`` (the worker regressing it) and the parameters of its kind.

    A kind defines ``channels`` and :meth:`compute`, may add :meth:`check`, and may set the
    class attributes below; ``kind`` is set by :func:`register_target`.
    """

    kind: ClassVar[str] = "target"
    worker_names: ClassVar[tuple[str, ...]] = ()
    """Worker names that select this kind exactly (``("cchunk",)`` for the waveform)."""
    prefixed: ClassVar[bool] = True
    """Whether the worker names ``<kind>`` and ``<kind>_<suffix>`` select this kind."""
    waveform: ClassVar[bool] = False
    """A waveform target ``(B, 1, L)``, never z-normalised, instead of frames ``(B, C, T)``."""

    name: str

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Transform keys of this kind and their defaults (``MISSING`` when required)."""
        return {f.name: f.default for f in fields(cls) if f.name != "name"}

    @property
    def params(self) -> dict[str, Any]:
        """The resolved parameters (defaults + overrides)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}

    @property
    @abc.abstractmethod
    def channels(self) -> int:
        """Output channels ``C`` (1 for a waveform)."""

    @property
    def channels_detail(self) -> str:
        """How ``channels`` comes about, for error messages (may be empty)."""
        return ""

    def check(self, sample_rate: int) -> None:
        """The kind's own checks: raise ``ValueError`` for parameters that cannot be computed
        at ``sample_rate`` Hz (each value's type is checked before)."""
        return None

    def validate(self, sample_rate: int) -> None:
        """Every check of this target: the base class's, then :meth:`check`."""
        self.check(sample_rate)

    @abc.abstractmethod
    def compute(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        """The target of ``x`` ``(B, L)``: ``(B, C, T)`` with ``T = L // hop``, or ``(B, 1, L)``
        for a waveform. ``cache`` shares power spectra between the targets of a set."""


@dataclass(frozen=True, kw_only=True)
class FrameTarget(Target):
    """A frame target: static features ``(B, static_channels, T)`` from :meth:`frames`
    (analysis window ``win`` samples) with ``der_order`` orders of deltas stacked on the
    channel axis (:func:`pase.targets.functional.stack_deltas`)."""

    win: int = 400
    der_order: int = 2

    @property
    @abc.abstractmethod
    def static_channels(self) -> int:
        """Channels before deltas."""

    @property
    def channels(self) -> int:
        """``static_channels * (1 + der_order)``."""
        return self.static_channels * (1 + self.der_order)

    @property
    def channels_detail(self) -> str:
        return f"{self.static_channels} x (1 + der_order {self.der_order})"

    def validate(self, sample_rate: int) -> None:
        if not 0 <= self.der_order <= 2:
            raise ValueError(f"der_order must be 0, 1 or 2, got {self.der_order}")
        if self.win < 2:
            raise ValueError(f"win must be >= 2 samples, got {self.win}")
        self.check(sample_rate)

    @abc.abstractmethod
    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        """Static features of ``x`` ``(B, L)``: ``(B, static_channels, L // hop)``."""

    def compute(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        y = self.frames(x, hop=hop, sample_rate=sample_rate, cache=cache)
        return tf.stack_deltas(y, self.der_order)


def check_n_fft(n_fft: int, win: int) -> None:
    """The FFT must hold the analysis window."""
    if n_fft < win:
        raise ValueError(f"n_fft ({n_fft}) must be >= win ({win})")


TARGET_KINDS: Registry[type[Target]] = Registry("target kind")
"""Target kinds by name (``lps``, ``mfcc``, ``fbank``, ``gtn``, ``prosody``, ``waveform``)."""
register_target = TARGET_KINDS.register
"""Class decorator registering a :class:`Target` dataclass as a target kind."""


def target_kind(name: str) -> str | None:
    """Target kind of a worker name: a kind's exact ``worker_names`` (``cchunk`` ->
    ``waveform``), else the longest kind ``k`` with ``name`` ``k`` or ``k_<suffix>``
    (``lps_long`` -> ``lps``); None when unknown or in :data:`UNSUPPORTED_NAMES`."""
    if name in UNSUPPORTED_NAMES:
        return None
    for cls in TARGET_KINDS:
        if name in cls.worker_names:
            return cls.kind
    prefixed = [
        cls.kind
        for cls in TARGET_KINDS
        if cls.prefixed and (name == cls.kind or name.startswith(cls.kind + "_"))
    ]
    return max(prefixed, key=len, default=None)


def known_target_names() -> list[str]:
    """Worker names (or prefixes) that have a target."""
    names = {n for cls in TARGET_KINDS for n in cls.worker_names}
    names.update(cls.kind for cls in TARGET_KINDS if cls.prefixed)
    return sorted(names)


@functools.cache
def _param_types(cls: type[Target]) -> dict[str, tuple[Any, ...]]:
    hints = typing.get_type_hints(cls)
    return {k: typing.get_args(hints[k]) or (hints[k],) for k in cls.defaults()}


def _check_value(where: str, key: str, allowed: tuple[Any, ...], value: Any) -> Any:
    """``value`` of transform key ``key`` converted to its declared type."""

    def bad(what: str) -> WorkersConfigError:
        return WorkersConfigError(f"{where}: transform key {key!r} must be {what}, got {value!r}")

    if value is None and type(None) in allowed:
        return None
    if bool in allowed:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if int in allowed:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a non-negative integer")
        return value
    if float in allowed:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if str in allowed:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    raise TypeError(f"{where}: transform key {key!r} has an unsupported type {allowed}")


def target_from_worker(
    worker: Mapping[str, Any],
    *,
    where: str = "worker",
    hop: int = HOP,
    sample_rate: int = SAMPLE_RATE,
) -> Target:
    """The :class:`Target` of one regression worker entry: its ``name`` selects the kind
    (:func:`target_kind`), its ``transform`` overrides the kind's defaults (``hop`` /
    ``sr`` / ``rate`` may be given but must equal the set's), and an optional ``num_outputs``
    must equal the target's channels. Raises :class:`WorkersConfigError` naming ``where``
    and the worker."""
    if not isinstance(worker, Mapping):
        raise WorkersConfigError(f"{where}: a worker must be a JSON object, got {worker!r}")
    name = worker.get("name")
    if not isinstance(name, str) or not name:
        raise WorkersConfigError(f"{where}: worker without a 'name'")
    where = f"{where} {name!r}"
    kind = target_kind(name)
    if kind is None:
        raise WorkersConfigError(
            f"{where}: no target for worker name {name!r}; known targets: "
            f"{', '.join(known_target_names())} (optionally with a suffix, e.g. lps_long)"
        )
    cls = TARGET_KINDS.get(kind)
    transform = worker.get("transform", {}) or {}
    if not isinstance(transform, Mapping):
        raise WorkersConfigError(f"{where}: 'transform' must be a JSON object, got {transform!r}")
    types = _param_types(cls)
    params: dict[str, Any] = {}
    for key, value in transform.items():
        if key == _HOP_KEY:
            if value != hop:
                raise WorkersConfigError(f"{where}: transform hop {value!r} != the set's {hop}")
            continue
        if key in _RATE_KEYS:
            if value != sample_rate:
                raise WorkersConfigError(
                    f"{where}: transform {key} {value!r} != the set's {sample_rate} Hz"
                )
            continue
        if key not in types:
            allowed = ", ".join([*types, _HOP_KEY, *_RATE_KEYS])
            raise WorkersConfigError(
                f"{where}: unknown transform key {key!r} for a {kind} target; allowed: {allowed}"
            )
        params[key] = _check_value(where, key, types[key], value)
    missing = [k for k, v in cls.defaults().items() if v is MISSING and k not in params]
    if missing:
        raise WorkersConfigError(f"{where}: a {kind} target needs transform key(s) {missing}")
    target = cls(name=name, **params)
    try:
        target.validate(sample_rate)
    except ValueError as e:
        raise WorkersConfigError(f"{where}: {e}") from e
    n_out = worker.get("num_outputs")
    if not target.waveform and n_out is not None and n_out != target.channels:
        detail = f" ({target.channels_detail})" if target.channels_detail else ""
        raise WorkersConfigError(
            f"{where}: num_outputs {n_out} does not match the target's {target.channels} "
            f"channels{detail}"
        )
    return target
