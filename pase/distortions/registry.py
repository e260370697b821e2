"""The distortion kinds: their base class, the registry, and what a kind builds itself with.

A kind is one class, registered by name with its place in the chain::

    @register_distortion("polarity", order=115)
    class Polarity(Distortion):
        class Config(DistortionOptions):   # keys polarity_p (and any option() added here)
            p: float = option(0.0, probability)

        @classmethod
        def from_config(cls, opts, ctx):   # opts: a Config, ctx: a BuildContext
            return cls(opts.p)

        def apply(self, x, generator):     # (n, L) -> (n, L)
            return -x

The config loader (:class:`pase.distortions.DistortionConfig`) accepts and validates the keys
of every registered kind, and :class:`pase.distortions.Distortions` builds and applies the
active ones in increasing ``order`` (the built-in kinds use 10, 20, ..., 110).
"""

from __future__ import annotations

import inspect
import math
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch

from pase.distortions.banks import WaveBank, dir_files, list_files, root_files
from pase.distortions.options import ChainOptions, DistortionOptions, Validator

if TYPE_CHECKING:
    from pase.distortions.config import DistortionConfig

Tensor = torch.Tensor
Generator = torch.Generator


class Distortion(ABC):
    """One distortion applied with probability ``p`` (per example).

    A registered subclass declares ``Config`` (its options: a frozen dataclass derived from
    :class:`~pase.distortions.options.DistortionOptions`), :meth:`from_config` and
    :meth:`apply`; it may add :meth:`check_config`. ``name`` and ``order`` are set by
    :func:`register_distortion`.
    """

    name: ClassVar[str] = "distortion"
    order: ClassVar[float] = math.inf
    Config: ClassVar[type[DistortionOptions]] = DistortionOptions

    def __init__(self, p: float) -> None:
        self.p = float(p)

    @classmethod
    @abstractmethod
    def from_config(cls, opts: Any, ctx: BuildContext) -> Distortion:
        """The distortion of options ``opts`` (a ``cls.Config``), its data loaded through
        ``ctx`` (banks, file lists, other kinds). Raise ``DistortionConfigError`` naming the
        key for what cannot be used."""

    @classmethod
    def check_config(cls, opts: Any, config: DistortionConfig) -> None:
        """Checks across keys, once every value is valid (raise ``config.error(key, msg)``);
        runs for every kind, active or not, after the "``p`` without its data" check."""
        return None

    @classmethod
    def key(cls, field: str) -> str:
        """The config key of option ``field`` of this kind (e.g. ``"irfiles"`` ->
        ``"reverb_irfiles"``)."""
        return next(k for k, (f, _) in cls.Config.schema(f"{cls.name}_").items() if f == field)

    @abstractmethod
    def apply(self, x: Tensor, generator: Generator) -> Tensor:
        """Distort every row of ``x`` ``(n, L)`` (16 kHz samples) drawing from ``generator``
        (CPU); returns ``(n, L)`` on ``x``'s device."""

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}(p={self.p}{', ' + extra if extra else ''})"


# --------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------
_KINDS: dict[str, type[Distortion]] = {}
_KEYS: dict[str, tuple[str | None, str, Validator]] = {}  # cache of config_keys()

D = TypeVar("D", bound=type[Distortion])


def register_distortion(name: str, *, order: float) -> Callable[[D], D]:
    """Class decorator: register a :class:`Distortion` subclass as kind ``name``.

    Args:
        name: the kind's name: its config keys are ``<name>_<option>`` (``<name>_p``...), and
            it names the kind in ``Distortions.names`` and the ``return_applied`` masks.
        order: its place in the chain (kinds apply in increasing order; unique).

    Raises:
        TypeError / ValueError: an abstract class, a ``Config`` not derived from
            ``DistortionOptions`` or with a field not made by
            :func:`~pase.distortions.options.option`, a name, order or key already taken, or
            a kind that would be on in configs that never mention it.
    """

    def decorate(cls: D) -> D:
        _check_kind(name, order, cls)
        cls.name, cls.order = name, order
        _KINDS[name] = cls
        _KEYS.clear()
        return cls

    return decorate


def unregister_distortion(name: str) -> type[Distortion]:
    """Remove kind ``name`` from the registry (e.g. a test's own kind); returns its class."""
    cls = get_distortion_kind(name)
    del _KINDS[name]
    _KEYS.clear()
    return cls


def distortion_kinds() -> list[type[Distortion]]:
    """The registered kinds in order of application."""
    return sorted(_KINDS.values(), key=lambda k: k.order)


def get_distortion_kind(name: str) -> type[Distortion]:
    """The class registered as kind ``name``."""
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(k.name for k in distortion_kinds())
        raise ValueError(f"no distortion kind {name!r} (registered: {known})") from None


def config_keys() -> Mapping[str, tuple[str | None, str, Validator]]:
    """Every accepted config key (read-only): ``{key: (kind name or None for the chain's own
    keys, field name, validator)}``, the kinds in order of application, then the chain's."""
    if not _KEYS:
        for kind in distortion_kinds():
            for key, (f, check) in kind.Config.schema(f"{kind.name}_").items():
                _KEYS[key] = (kind.name, f, check)
        for key, (f, check) in ChainOptions.schema("").items():
            _KEYS[key] = (None, f, check)
    return MappingProxyType(_KEYS)


def _check_kind(name: str, order: float, cls: type) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"distortion kind name {name!r}: use lower-case letters, digits and _")
    if not (isinstance(cls, type) and issubclass(cls, Distortion)):
        raise TypeError(f"distortion kind {name!r}: {cls!r} is not a Distortion subclass")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise TypeError(f"distortion kind {name!r}: {cls.__qualname__} does not define {missing}")
    conf = cls.Config
    if not (isinstance(conf, type) and issubclass(conf, DistortionOptions)):
        raise TypeError(
            f"distortion kind {name!r}: {cls.__qualname__}.Config must be a class derived "
            "from DistortionOptions"
        )
    schema = conf.schema(f"{name}_")  # every field an option()
    if conf.needs is not None and conf.needs not in {f for f, _ in schema.values()}:
        raise ValueError(f"distortion kind {name!r}: needs={conf.needs!r} is not an option")
    if isinstance(order, bool) or not isinstance(order, (int, float)) or not math.isfinite(order):
        raise ValueError(f"distortion kind {name!r}: order must be a finite number")
    others = {n: k for n, k in _KINDS.items() if n != name}
    old = _KINDS.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (
        cls.__module__,
        cls.__qualname__,
    ):
        raise ValueError(
            f"distortion kind {name!r} is already registered ({old.__module__}.{old.__qualname__})"
        )
    for n, k in others.items():
        if k.order == order:
            raise ValueError(f"distortion kind {name!r}: order {order} is taken by {n!r}")
    taken = {key: repr(n) for n, k in others.items() for key in k.Config.schema(f"{n}_")}
    taken.update(dict.fromkeys(ChainOptions.schema(""), "the chain"))
    for key in schema:
        if key in taken:
            raise ValueError(f"distortion kind {name!r}: key {key!r} is taken by {taken[key]}")
    if conf().active:
        raise ValueError(
            f"distortion kind {name!r} would be on in every config that does not mention it: "
            "default p to 0, or name the option it cannot work without in Config.needs"
        )


# --------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------
class BuildContext:
    """What :meth:`Distortion.from_config` builds with: the whole config, where in-memory banks
    are kept (``device``), the folder relative paths resolve against (``base_dir``; ``None``:
    the current directory), and the distortions built so far (:meth:`distortion`)."""

    def __init__(
        self,
        config: DistortionConfig,
        *,
        device: torch.device | str | None = None,
        base_dir: str | os.PathLike | None = None,
    ) -> None:
        self.config = config
        self.device = device
        self.base_dir = base_dir
        self._built: dict[str, Distortion | None] = {}

    def distortion(self, name: str) -> Distortion:
        """The distortion of kind ``name`` built from its options, once per build (so a kind
        can reuse another's data, as overlapping speech reverberates with the reverb kind's
        impulse responses), whether that kind is active or not."""
        if name not in self._built:
            self._built[name] = None
            kind = get_distortion_kind(name)
            self._built[name] = kind.from_config(self.config.section(name), self)
        built = self._built[name]
        if built is None:
            raise RuntimeError(f"distortion kind {name!r} needs itself to be built")
        return built

    def bank(self, files: Sequence[str], key: str, max_len: int | None = None) -> WaveBank:
        """A checked :class:`WaveBank` of ``files`` (named ``key`` in errors), truncated to
        ``max_len`` samples, in memory when it fits ``bank_memory_mb``."""
        return WaveBank(
            files,
            key=key,
            source=self.config.source,
            max_len=max_len,
            memory_mb=self.config.bank_memory_mb,
            device=self.device,
        )

    def root_files(
        self, root: str, names: Sequence[str], fmt: str, *, key: str, exclude: Sequence[str] = ()
    ) -> list[str]:
        """:func:`pase.distortions.banks.root_files` resolved against ``base_dir``."""
        return root_files(
            root,
            names,
            fmt,
            key=key,
            source=self.config.source,
            base_dir=self.base_dir,
            exclude=exclude,
        )

    def dir_files(self, dirs: Sequence[str], *, key: str) -> list[str]:
        """:func:`pase.distortions.banks.dir_files` resolved against ``base_dir``."""
        return dir_files(dirs, key=key, source=self.config.source, base_dir=self.base_dir)

    def list_files(self, list_file: str, root: str, *, key: str) -> list[str]:
        """:func:`pase.distortions.banks.list_files` resolved against ``base_dir``."""
        return list_files(
            list_file, root, key=key, source=self.config.source, base_dir=self.base_dir
        )
