"""The distortions configuration: the original PASE ``--dtrans_cfg`` JSON keys, validated.

A config is a JSON object (file) or a dict with the keyword arguments of the original
``config_distortions``. The accepted keys are those the registered distortion kinds declare
(each kind's ``Config``, :mod:`pase.distortions.registry`) and the chain's own
(:class:`~pase.distortions.options.ChainOptions`). Every key is checked here, before any data
is loaded: unknown keys, wrong types, probabilities outside [0, 1] and inconsistent
combinations raise :class:`DistortionConfigError` naming the config and the key. File-level
checks (missing files, sample rates) happen when the banks are built
(:mod:`pase.distortions.banks`), still at construction time.

Deliberate differences from the original defaults (see ``docs/distortions.md``):
``codec2_p`` defaults to 0 (the original silently used 0.3); a distortion whose data keys are
absent is off (the original crashed without ``reverb_irfiles`` and globbed ``*.npy`` in the
working directory for band-drop); a probability set explicitly above 0 without its data is an
error instead of being silently ignored.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pase.distortions.options import (
    ChainOptions,
    DistortionConfigError,
    DistortionOptions,
    Where,
)
from pase.distortions.registry import config_keys, distortion_kinds, get_distortion_kind

__all__ = ["DistortionConfig", "DistortionConfigError", "check_keys"]


def _default_options() -> dict[str, DistortionOptions]:
    return {kind.name: kind.Config() for kind in distortion_kinds()}


@dataclass(frozen=True)
class DistortionConfig:
    """Validated distortion settings: the options of every registered kind and of the chain.

    Every original key reads as an attribute (``cfg.reverb_p``, ``cfg.max_chops``,
    ``cfg.bank_memory_mb``). Paths are kept as written; they are resolved against ``base_dir``
    (default: the current directory, as in the original) when the banks are built.
    """

    #: options of each kind, by kind name (a kind registered later reads as its defaults)
    options: Mapping[str, DistortionOptions] = field(default_factory=_default_options)
    #: the chain's own keys (``bank_memory_mb``, ``report``)
    chain: ChainOptions = field(default_factory=ChainOptions)
    # not config keys: where the config came from, and which keys it set explicitly
    source: str = field(default="<dict>", compare=False)
    explicit: frozenset[str] = field(default_factory=frozenset, compare=False)

    def __getattr__(self, key: str) -> Any:
        """The value of config key ``key`` (called for names that are not attributes)."""
        where = None if key.startswith("__") else config_keys().get(key)
        if where is None:
            raise AttributeError(f"{type(self).__name__!r} has no attribute or config key {key!r}")
        kind, name = where[:2]
        return getattr(self.chain if kind is None else self.section(kind), name)

    @classmethod
    def keys(cls) -> list[str]:
        """All accepted configuration keys (those of every registered kind, then the chain's)."""
        return list(config_keys())

    @classmethod
    def load(cls, cfg: str | os.PathLike | Mapping[str, Any]) -> DistortionConfig:
        """Read and validate a config: a JSON file path, or a dict of keys.

        Raises:
            DistortionConfigError: unreadable file, invalid JSON, not an object, unknown key,
                or malformed value (the message names the config and the key).
        """
        if isinstance(cfg, Mapping):
            return cls.from_dict(cfg)
        path = Path(cfg)
        if not path.is_file():
            raise DistortionConfigError(f"distortions config {str(path)!r} does not exist")
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            raise DistortionConfigError(
                f"distortions config {str(path)!r}: unreadable ({e})"
            ) from e
        except json.JSONDecodeError as e:
            raise DistortionConfigError(
                f"distortions config {str(path)!r}: invalid JSON at line {e.lineno}, "
                f"column {e.colno}: {e.msg}"
            ) from None
        if not isinstance(obj, dict):
            raise DistortionConfigError(
                f"distortions config {str(path)!r}: expected a JSON object of keys, "
                f"got {type(obj).__name__}"
            )
        return cls.from_dict(obj, source=str(path))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<dict>") -> DistortionConfig:
        """Validate a dict of original config keys (see :meth:`keys`)."""
        check_keys(d, source)
        table = config_keys()
        values: dict[str | None, dict[str, Any]] = {}
        for key, raw in d.items():
            kind, name, check = table[key]
            values.setdefault(kind, {})[name] = check(raw, Where(source, key))
        options = {k.name: k.Config(**values.get(k.name, {})) for k in distortion_kinds()}
        chain = ChainOptions(**values.get(None, {}))
        cfg = cls(options, chain, source=source, explicit=frozenset(d))
        cfg._check_combinations()
        return cfg

    # ----------------------------------------------------------------------------------------
    def section(self, name: str) -> DistortionOptions:
        """The options of kind ``name`` (its defaults when registered after this config)."""
        opts = self.options.get(name)
        return get_distortion_kind(name).Config() if opts is None else opts

    def active(self, name: str) -> bool:
        """Whether distortion ``name`` (e.g. ``"reverb"``, ``"noises"``) will be applied."""
        return self.section(name).active

    def error(self, key: str, msg: str) -> DistortionConfigError:
        """An error naming this config and ``key``."""
        return DistortionConfigError(f"distortions config {self.source!r}, key {key!r}: {msg}")

    def _check_combinations(self) -> None:
        """A probability set explicitly above 0 needs the data / parameters it acts with; then
        each kind's own checks across keys."""
        kinds = distortion_kinds()
        for kind in kinds:
            opts = self.section(kind.name)
            pkey = kind.key("p")
            if pkey in self.explicit and opts.p > 0 and not opts.present():
                dkey = kind.key(opts.needs) if opts.needs else "its data"
                raise self.error(
                    pkey, f"is {opts.p} but {dkey!r} is not set (set it, or set {pkey} to 0)"
                )
        for kind in kinds:
            kind.check_config(self.section(kind.name), self)


def check_keys(d: Mapping[str, Any], source: str = "<dict>") -> None:
    """Raise :class:`DistortionConfigError` for a key that is not a distortions config key."""
    known = DistortionConfig.keys()
    for key in d:
        if not isinstance(key, str) or key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DistortionConfigError(f"distortions config {source!r}: unknown key {key!r}{hint}")
