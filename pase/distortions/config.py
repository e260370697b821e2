"""The distortions configuration: the original PASE ``--dtrans_cfg`` JSON keys, validated.

A config is a JSON object (file) or a dict with the keyword arguments of the original
``config_distortions``. Every key is checked here, before any data is loaded: unknown keys,
wrong types, probabilities outside [0, 1] and inconsistent combinations raise
:class:`DistortionConfigError` naming the config and the key. File-level checks (missing files,
sample rates) happen when the banks are built (:mod:`pase.distortions.banks`), still at
construction time.

Deliberate differences from the original defaults (see ``docs/distortions.md``):
``codec2_p`` defaults to 0 (the original silently used 0.3); a distortion whose data keys are
absent is off (the original crashed without ``reverb_irfiles`` and globbed ``*.npy`` in the
working directory for band-drop); a probability set explicitly above 0 without its data is an
error instead of being silently ignored.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

AUDIO_FORMATS = ("wav", "flac", "npy")
CODEC2_MODES = (3200, 2400, 1600, 1400, 1300, 1200, 700)


class DistortionConfigError(ValueError):
    """A distortions configuration (or a file it points to) that cannot be used."""


@dataclass(frozen=True)
class DistortionConfig:
    """Validated distortion settings; field names are the original config keys.

    Paths are kept as written; they are resolved against ``base_dir`` (default: the current
    directory, as in the original) when the banks are built.
    """

    # 2. reverberation
    reverb_irfiles: list[str] | None = None
    reverb_fmt: str = "wav"
    reverb_data_root: str = "."
    reverb_p: float = 0.5
    reverb_cache: bool = False
    # 3. overlapping speech
    overlap_dir: str | None = None
    overlap_list: str | None = None
    overlap_snrs: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0])
    overlap_reverb: bool = False
    overlap_p: float = 0.5
    # 4. additive noise
    noises_dir: list[str] | None = None
    noises_snrs: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0])
    noises_p: float = 0.5
    noises_cache: bool = False
    # 5. speed change
    speed_range: list[float] | None = None
    speed_p: float = 0.5
    # 6. resampling (decimate + linear interpolation)
    resample_factors: list[float] = field(default_factory=list)
    resample_p: float = 0.5
    # 7. clipping
    clip_factors: list[float] = field(default_factory=list)
    clip_p: float = 0.5
    # 8. codec2
    codec2_p: float = 0.0
    codec2_kbps: int = 1600
    codec2_cachedir: str | None = None
    codec2_cache: bool = False
    # 9. temporal chopping
    chop_factors: list[list[float]] = field(default_factory=list)
    max_chops: int = 5
    chop_p: float = 0.5
    # 10. band-drop FIR filters
    bandrop_irfiles: list[str] | None = None
    bandrop_fmt: str = "npy"
    bandrop_data_root: str = "."
    bandrop_p: float = 0.5
    # 11. narrow-band (16 -> 8 kHz) low-pass FIR filters
    downsample_irfiles: list[str] = field(default_factory=list)
    downsample_fmt: str = "npy"
    downsample_data_root: str = "."
    downsample_p: float = 0.5
    # ours: random gain (last), bank memory budget
    gain_p: float = 0.0
    gain_db: list[float] | None = None
    bank_memory_mb: float = 512.0
    # original's debug flag (accepted, ignored: use Distortions(..., return_applied=True))
    report: bool = False
    # not config keys: where the config came from, and which keys it set explicitly
    source: str = field(default="<dict>", compare=False)
    explicit: frozenset[str] = field(default_factory=frozenset, compare=False)

    @classmethod
    def keys(cls) -> list[str]:
        """All accepted configuration keys."""
        return [f.name for f in fields(cls) if f.name not in ("source", "explicit")]

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
        """Validate a dict of original config keys (see the class fields)."""
        check_keys(d, source)
        values: dict[str, Any] = {}
        for key, raw in d.items():
            values[key] = _VALIDATORS[key](raw, _Where(source, key))
        cfg = cls(**values, source=source, explicit=frozenset(d))
        cfg._check_combinations()
        return cfg

    # ----------------------------------------------------------------------------------------
    def error(self, key: str, msg: str) -> DistortionConfigError:
        """An error naming this config and ``key``."""
        return DistortionConfigError(f"distortions config {self.source!r}, key {key!r}: {msg}")

    def _check_combinations(self) -> None:
        """A probability set explicitly above 0 needs the data / parameters it acts with."""
        needs = {
            "reverb_p": ("reverb_irfiles", self.reverb_irfiles is not None),
            "overlap_p": ("overlap_dir", self.overlap_dir is not None),
            "noises_p": ("noises_dir", self.noises_dir is not None),
            "speed_p": ("speed_range", self.speed_range is not None),
            "resample_p": ("resample_factors", bool(self.resample_factors)),
            "clip_p": ("clip_factors", bool(self.clip_factors)),
            "chop_p": ("chop_factors", bool(self.chop_factors)),
            "bandrop_p": ("bandrop_irfiles", self.bandrop_irfiles is not None),
            "downsample_p": ("downsample_irfiles", bool(self.downsample_irfiles)),
            "gain_p": ("gain_db", self.gain_db is not None),
        }
        for pkey, (dkey, present) in needs.items():
            if pkey in self.explicit and getattr(self, pkey) > 0 and not present:
                raise self.error(
                    pkey,
                    f"is {getattr(self, pkey)} but {dkey!r} is not set (set it, or set "
                    f"{pkey} to 0)",
                )
        if self.overlap_reverb and self.overlap_p > 0 and self.overlap_dir is not None:
            if self.reverb_irfiles is None:
                raise self.error(
                    "overlap_reverb",
                    "is true but no impulse responses are configured ('reverb_irfiles' is not set)",
                )
        if self.codec2_p > 0 and self.codec2_cachedir is not None:
            raise self.error(
                "codec2_cachedir",
                "pre-encoded codec2 caches are not supported (they are "
                "looked up by utterance name, which batched distortions do not see); remove "
                "the key to run codec2 on the fly",
            )

    # active flags (a distortion with p = 0 or without its data is not built at all)
    def active(self, name: str) -> bool:
        """Whether distortion ``name`` (e.g. ``"reverb"``, ``"noises"``) will be applied."""
        p = getattr(self, f"{name}_p")
        present = {
            "reverb": self.reverb_irfiles is not None,
            "overlap": self.overlap_dir is not None,
            "noises": self.noises_dir is not None,
            "speed": self.speed_range is not None,
            "resample": bool(self.resample_factors),
            "clip": bool(self.clip_factors),
            "codec2": True,
            "chop": bool(self.chop_factors),
            "bandrop": self.bandrop_irfiles is not None,
            "downsample": bool(self.downsample_irfiles),
            "gain": self.gain_db is not None,
        }[name]
        return p > 0 and present


def check_keys(d: Mapping[str, Any], source: str = "<dict>") -> None:
    """Raise :class:`DistortionConfigError` for a key that is not a distortions config key."""
    known = DistortionConfig.keys()
    for key in d:
        if not isinstance(key, str) or key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DistortionConfigError(f"distortions config {source!r}: unknown key {key!r}{hint}")


# --------------------------------------------------------------------------------------------
# value validators
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Where:
    source: str
    key: str

    def fail(self, msg: str, value: Any) -> DistortionConfigError:
        return DistortionConfigError(
            f"distortions config {self.source!r}, key {self.key!r}: {msg} (got {value!r})"
        )


def _number(v: Any, w: _Where) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise w.fail("expected a finite number", v)
    return float(v)


def _prob(v: Any, w: _Where) -> float:
    p = _number(v, w)
    if not 0.0 <= p <= 1.0:
        raise w.fail("a probability must lie in [0, 1]", v)
    return p


def _bool(v: Any, w: _Where) -> bool:
    if not isinstance(v, bool):
        raise w.fail("expected true or false", v)
    return v


def _str(v: Any, w: _Where) -> str:
    if not isinstance(v, str) or not v:
        raise w.fail("expected a non-empty string", v)
    return v


def _opt_str(v: Any, w: _Where) -> str | None:
    return None if v is None else _str(v, w)


def _fmt(v: Any, w: _Where) -> str:
    s = _str(v, w).lstrip(".").lower()
    if s not in AUDIO_FORMATS:
        raise w.fail(
            f"unsupported format; use one of {', '.join(AUDIO_FORMATS)} (convert .imp/.mat/.txt "
            "impulse responses to .npy or 16 kHz .wav)",
            v,
        )
    return s


def _str_list(v: Any, w: _Where) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
        raise w.fail("expected a list of file names", v)
    return list(v)


def _opt_str_list(v: Any, w: _Where) -> list[str] | None:
    return None if v is None else _str_list(v, w)


def _dirs(v: Any, w: _Where) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [_str(v, w)]
    if isinstance(v, list) and v and all(isinstance(s, str) and s for s in v):
        return list(v)
    raise w.fail("expected a directory or a non-empty list of directories", v)


def _numbers(nonempty: bool, check: Callable[[float], bool], what: str) -> Callable:
    def validate(v: Any, w: _Where) -> list[float]:
        if not isinstance(v, list) or (nonempty and not v):
            raise w.fail(f"expected a {'non-empty ' if nonempty else ''}list of numbers", v)
        out = [_number(x, w) for x in v]
        if not all(check(x) for x in out):
            raise w.fail(f"every value must be {what}", v)
        return out

    return validate


def _range(lo_ok: Callable[[float], bool], what: str) -> Callable:
    def validate(v: Any, w: _Where) -> list[float] | None:
        if v is None:
            return None
        if not isinstance(v, list) or len(v) != 2:
            raise w.fail("expected [low, high]", v)
        lo, hi = _number(v[0], w), _number(v[1], w)
        if not (lo_ok(lo) and lo <= hi):
            raise w.fail(f"expected [low, high] with {what} and low <= high", v)
        return [lo, hi]

    return validate


def _chop_factors(v: Any, w: _Where) -> list[list[float]]:
    if not isinstance(v, list):
        raise w.fail("expected a list of [mean, std] pairs in seconds", v)
    out = []
    for pair in v:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise w.fail("expected a list of [mean, std] pairs in seconds", v)
        mean, std = _number(pair[0], w), _number(pair[1], w)
        if mean <= 0 or std < 0:
            raise w.fail("every pair needs mean > 0 and std >= 0 (seconds)", v)
        out.append([mean, std])
    return out


def _pos_int(v: Any, w: _Where) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise w.fail("expected a positive integer", v)
    return v


def _kbps(v: Any, w: _Where) -> int:
    if isinstance(v, bool) or v not in CODEC2_MODES:
        raise w.fail(f"codec2 bit rate must be one of {list(CODEC2_MODES)}", v)
    return int(v)


def _pos_number(v: Any, w: _Where) -> float:
    x = _number(v, w)
    if x <= 0:
        raise w.fail("expected a positive number", v)
    return x


_VALIDATORS: dict[str, Callable[[Any, _Where], Any]] = {
    "reverb_irfiles": _opt_str_list,
    "reverb_fmt": _fmt,
    "reverb_data_root": _str,
    "reverb_p": _prob,
    "reverb_cache": _bool,
    "overlap_dir": _opt_str,
    "overlap_list": _opt_str,
    "overlap_snrs": _numbers(True, lambda x: True, "a number"),
    "overlap_reverb": _bool,
    "overlap_p": _prob,
    "noises_dir": _dirs,
    "noises_snrs": _numbers(True, lambda x: True, "a number"),
    "noises_p": _prob,
    "noises_cache": _bool,
    "speed_range": _range(lambda lo: lo > 0, "low > 0"),
    "speed_p": _prob,
    "resample_factors": _numbers(False, lambda x: x >= 1 and x == int(x), "an integer >= 1"),
    "resample_p": _prob,
    "clip_factors": _numbers(False, lambda x: 0 < x <= 1, "in (0, 1]"),
    "clip_p": _prob,
    "codec2_p": _prob,
    "codec2_kbps": _kbps,
    "codec2_cachedir": _opt_str,
    "codec2_cache": _bool,
    "chop_factors": _chop_factors,
    "max_chops": _pos_int,
    "chop_p": _prob,
    "bandrop_irfiles": _opt_str_list,
    "bandrop_fmt": _fmt,
    "bandrop_data_root": _str,
    "bandrop_p": _prob,
    "downsample_irfiles": lambda v, w: [] if v is None else _str_list(v, w),
    "downsample_fmt": _fmt,
    "downsample_data_root": _str,
    "downsample_p": _prob,
    "gain_p": _prob,
    "gain_db": _range(lambda lo: True, "any low"),
    "bank_memory_mb": _pos_number,
    "report": _bool,
}
assert set(_VALIDATORS) == set(DistortionConfig.keys())  # one validator per key
