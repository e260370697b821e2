"""Config schemas of the distortions: declared fields, their original keys and validators.

Every distortion kind declares its config keys as a class derived from
:class:`DistortionOptions` (it becomes a frozen dataclass) whose fields are made with
:func:`option` (a default and a validator). A field's config key is ``<kind>_<field>``
(``reverb`` + ``irfiles`` -> ``reverb_irfiles``) unless the field gives its own
(``option(..., key="max_chops")``).

The validators below take ``(value, where)`` and return the value to keep, or raise
:class:`DistortionConfigError` naming the config and the key (``where.fail(msg, value)``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover
    from typing_extensions import dataclass_transform

AUDIO_FORMATS = ("wav", "flac", "npy")


class DistortionConfigError(ValueError):
    """A distortions configuration (or a file it points to) that cannot be used."""


@dataclass(frozen=True)
class Where:
    """The config (``source``) and ``key`` a value comes from, for error messages."""

    source: str
    key: str

    def fail(self, msg: str, value: Any) -> DistortionConfigError:
        """An error naming the config, the key and the offending value."""
        return DistortionConfigError(
            f"distortions config {self.source!r}, key {self.key!r}: {msg} (got {value!r})"
        )


Validator = Callable[[Any, Where], Any]


def option(default: Any, check: Validator, *, key: str | None = None) -> Any:
    """A config field: its ``default`` (copied per instance when mutable), the validator
    ``check(value, where) -> value`` applied to a value read from a config, and optionally its
    config key (default ``<kind>_<field name>``)."""
    meta = {"check": check, "key": key}
    if isinstance(default, (list, dict, set)):
        factory = functools.partial(copy.deepcopy, default)
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass_transform(frozen_default=True, field_specifiers=(option,))
class Options:
    """Base of a config schema: every subclass is made a frozen dataclass whose fields are
    :func:`option` s."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)

    @classmethod
    def schema(cls, prefix: str) -> dict[str, tuple[str, Validator]]:
        """``{config key: (field name, validator)}`` with keys named ``prefix + field``."""
        out = {}
        for f in dataclasses.fields(cls):
            if "check" not in f.metadata:
                raise TypeError(
                    f"{cls.__qualname__}.{f.name} is not declared with option(default, check)"
                )
            out[f.metadata["key"] or prefix + f.name] = (f.name, f.metadata["check"])
        return out

    @classmethod
    def default(cls, name: str) -> Any:
        """The default value of field ``name``."""
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        return f.default


# --------------------------------------------------------------------------------------------
# value validators
# --------------------------------------------------------------------------------------------
def number(v: Any, w: Where) -> float:
    """A finite int or float (not a bool) -> float."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise w.fail("expected a finite number", v)
    return float(v)


def probability(v: Any, w: Where) -> float:
    """A number in [0, 1]."""
    p = number(v, w)
    if not 0.0 <= p <= 1.0:
        raise w.fail("a probability must lie in [0, 1]", v)
    return p


def positive_number(v: Any, w: Where) -> float:
    """A number > 0."""
    x = number(v, w)
    if x <= 0:
        raise w.fail("expected a positive number", v)
    return x


def positive_int(v: Any, w: Where) -> int:
    """An int >= 1 (not a bool)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise w.fail("expected a positive integer", v)
    return v


def boolean(v: Any, w: Where) -> bool:
    """``true`` or ``false``."""
    if not isinstance(v, bool):
        raise w.fail("expected true or false", v)
    return v


def text(v: Any, w: Where) -> str:
    """A non-empty string."""
    if not isinstance(v, str) or not v:
        raise w.fail("expected a non-empty string", v)
    return v


def optional_text(v: Any, w: Where) -> str | None:
    """``null`` or a non-empty string."""
    return None if v is None else text(v, w)


def audio_format(v: Any, w: Where) -> str:
    """One of :data:`AUDIO_FORMATS` (a leading dot and upper case accepted)."""
    s = text(v, w).lstrip(".").lower()
    if s not in AUDIO_FORMATS:
        raise w.fail(
            f"unsupported format; use one of {', '.join(AUDIO_FORMATS)} (convert .imp/.mat/.txt "
            "impulse responses to .npy or 16 kHz .wav)",
            v,
        )
    return s


def file_list(v: Any, w: Where) -> list[str]:
    """A list of non-empty file names."""
    if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
        raise w.fail("expected a list of file names", v)
    return list(v)


def optional_file_list(v: Any, w: Where) -> list[str] | None:
    """``null`` or a list of file names."""
    return None if v is None else file_list(v, w)


def directories(v: Any, w: Where) -> list[str] | None:
    """``null``, a directory, or a non-empty list of directories (-> a list)."""
    if v is None:
        return None
    if isinstance(v, str):
        return [text(v, w)]
    if isinstance(v, list) and v and all(isinstance(s, str) and s for s in v):
        return list(v)
    raise w.fail("expected a directory or a non-empty list of directories", v)


def numbers(nonempty: bool, check: Callable[[float], bool], what: str) -> Validator:
    """A validator of a list of numbers, each passing ``check`` (``what`` says how)."""

    def validate(v: Any, w: Where) -> list[float]:
        if not isinstance(v, list) or (nonempty and not v):
            raise w.fail(f"expected a {'non-empty ' if nonempty else ''}list of numbers", v)
        out = [number(x, w) for x in v]
        if not all(check(x) for x in out):
            raise w.fail(f"every value must be {what}", v)
        return out

    return validate


def interval(lo_ok: Callable[[float], bool], what: str) -> Validator:
    """A validator of ``null`` or ``[low, high]`` with ``low <= high`` and ``lo_ok(low)``."""

    def validate(v: Any, w: Where) -> list[float] | None:
        if v is None:
            return None
        if not isinstance(v, list) or len(v) != 2:
            raise w.fail("expected [low, high]", v)
        lo, hi = number(v[0], w), number(v[1], w)
        if not (lo_ok(lo) and lo <= hi):
            raise w.fail(f"expected [low, high] with {what} and low <= high", v)
        return [lo, hi]

    return validate


# --------------------------------------------------------------------------------------------
# the options of the chain, and those every distortion kind has
# --------------------------------------------------------------------------------------------
class ChainOptions(Options):
    """The keys of the whole chain (named as the fields, without a kind prefix)."""

    bank_memory_mb: float = option(512.0, positive_number)  # ours: bank memory budget (MiB)
    report: bool = option(False, boolean)  # original debug flag, accepted and ignored


class DistortionOptions(Options):
    """The options of one distortion kind: ``p`` (key ``<kind>_p``), the probability of
    applying it to an example, and those the kind adds.

    ``needs`` names the field holding the kind's data or parameters: while that field has its
    default (not set), the kind is off whatever ``p`` says, and a config that sets ``p`` above
    0 explicitly is refused. ``None``: the kind needs nothing (then ``p`` must default to 0).
    """

    p: float = option(0.5, probability)

    needs: ClassVar[str | None] = None

    def present(self) -> bool:
        """Whether the data / parameters the kind acts with are configured."""
        return self.needs is None or getattr(self, self.needs) != self.default(self.needs)

    @property
    def active(self) -> bool:
        """Whether the kind is built and applied (``p > 0`` and :meth:`present`)."""
        return self.p > 0 and self.present()
