"""Target normalisation statistics: per-key, per-channel mean / std, accumulated from batches of
targets, stored as JSON or ``.npz`` (never pickle), and the z-normalisation that uses them.

Two std definitions:

- ``std_mode="pooled"`` (default): the exact mean and (population) standard deviation of
  every frame of every example, accumulated in float64 with Chan's parallel update, so the
  result does not depend on how the data is split into batches;
- ``std_mode="per_example"``: the original ``make_trainset_statistics.py``: mean = mean over
  examples of each example's time mean; std = standard deviation *over examples* of each
  example's time standard deviation (both unbiased, torch's default). This is not a spread of
  the target values: it measures how much the per-chunk spread varies, and is usually much
  smaller than the pooled std (so the original's normalised targets have large variance).

Waveform targets (``cchunk``) and the input chunks are never normalised.

Checks: means and stds must be finite and stds >= 0 (:class:`StatsError` naming the key and
channels otherwise, at construction and so at every load). A std of exactly 0 is legitimate:
``pase-make-stats`` writes it for a channel that is constant over the sampled chunks (e.g. the
prosody f0 channels when no sampled frame is voiced); such files load, with a
:class:`StatsWarning` naming the channels, since :meth:`TargetStats.normalize` floors stds at
``MIN_STD`` (and a channel that varies in training would then be scaled by 1 / MIN_STD).
:meth:`TargetStats.check` compares the keys and channel counts with a workers' target set.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from pase.io.atomic import atomic_open, write_json_atomic
from pase.io.safe_pickle import load_restricted

if TYPE_CHECKING:
    from pase.targets.target_set import TargetSet

StdMode = Literal["pooled", "per_example"]
STD_MODES = ("pooled", "per_example")
DEFAULT_WAVEFORM_KEYS = ("cchunk", "chunk", "chunk_ctxt", "chunk_rand", "overlap")
FORMAT = "pase-target-stats"
VERSION = 1
#: smallest std used by :meth:`TargetStats.normalize` (smaller ones are floored to it)
MIN_STD = 1e-5


class StatsError(ValueError):
    """Unusable statistics (file, key or shape named)."""


class StatsWarning(UserWarning):
    """Statistics that load but deserve a look (channels whose std is floored)."""


class LegacyPickleWarning(UserWarning):
    """Reading the original PASE ``.pkl`` statistics (a pickle) through the restricted loader."""


@dataclass
class TargetStats:
    """Per-key channel statistics: ``mean[key]`` and ``std[key]`` are float32 ``(C,)``
    tensors; ``counts[key]`` is the number of frames (pooled) or examples (per_example) seen.
    ``waveform_keys`` are never normalised even when present."""

    mean: dict[str, torch.Tensor]
    std: dict[str, torch.Tensor]
    std_mode: str = "pooled"
    counts: dict[str, int] = field(default_factory=dict)
    waveform_keys: tuple[str, ...] = DEFAULT_WAVEFORM_KEYS

    def __post_init__(self) -> None:
        if set(self.mean) != set(self.std):
            raise StatsError(f"mean and std keys differ: {sorted(self.mean)} vs {sorted(self.std)}")
        for k in self.mean:
            m = torch.as_tensor(self.mean[k], dtype=torch.float32).detach().cpu().reshape(-1)
            s = torch.as_tensor(self.std[k], dtype=torch.float32).detach().cpu().reshape(-1)
            if m.shape != s.shape:
                raise StatsError(f"key {k!r}: mean has {m.numel()} channels, std {s.numel()}")
            for what, bad in (
                ("non-finite mean", ~torch.isfinite(m)),
                ("non-finite std", ~torch.isfinite(s)),
                ("negative std", s < 0),
            ):
                if bad.any():
                    raise StatsError(f"key {k!r}: {what} in {_channels(bad)}")
            self.mean[k], self.std[k] = m, s
        self.waveform_keys = tuple(self.waveform_keys)
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def keys(self) -> list[str]:
        """Keys with statistics."""
        return list(self.mean)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}:{v.numel()}" for k, v in self.mean.items())
        return f"TargetStats([{dims}], std_mode={self.std_mode!r})"

    def floored(self, min_std: float = MIN_STD) -> dict[str, list[int]]:
        """Channels (0-based) per key whose std is below ``min_std`` (normalisation floors
        them; 0 when a channel was constant in the data the statistics came from)."""
        out = {}
        for k, s in self.std.items():
            if k in self.waveform_keys:
                continue
            idx = torch.nonzero(s < min_std).flatten().tolist()
            if idx:
                out[k] = idx
        return out

    def check(
        self, targets: TargetSet, where: str = "statistics", *, net_cfg: str | None = None
    ) -> None:
        """Raise :class:`StatsError` unless every non-waveform target of ``targets`` (a
        :class:`pase.targets.TargetSet`) has statistics with its number of channels.

        Args:
            targets: the workers' target set.
            where: the statistics file, for messages.
            net_cfg: the workers config, named in the advice to recompute.
        """
        redo = (
            f"; recompute them with pase-make-stats --net-cfg {net_cfg}"
            if net_cfg
            else "; recompute them with pase-make-stats for these workers"
        )
        wave = set(targets.waveform_names) | set(self.waveform_keys)
        need = [n for n in targets.names if n not in wave]
        lacking = [n for n in need if n not in self.mean]
        if lacking:
            raise StatsError(f"{where} has no statistics for {lacking}{redo}")
        dims = targets.dims
        wrong = [
            f"{n!r} has {dims[n]} channels, its statistics {self.mean[n].numel()}"
            for n in need
            if self.mean[n].numel() != dims[n]
        ]
        if wrong:
            raise StatsError(
                f"{where} does not match the workers' targets: {'; '.join(wrong)}{redo}"
            )

    # ---------------------------------------------------------------------------- normalise

    def _moments(
        self, key: str, device: torch.device, dtype: torch.dtype, min_std: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ck = (key, device, dtype, min_std)
        if ck not in self._cache:
            m = self.mean[key].to(device=device, dtype=dtype).unsqueeze(-1)
            s = self.std[key].clamp_min(min_std).to(device=device, dtype=dtype).unsqueeze(-1)
            self._cache[ck] = (m, s)
        return self._cache[ck]

    def normalize(
        self, targets: Mapping[str, torch.Tensor], *, min_std: float = MIN_STD
    ) -> dict[str, torch.Tensor]:
        """``(x - mean) / max(std, min_std)`` per channel for every key of ``targets`` that
        has statistics and is not a waveform key; other keys are passed through unchanged.
        Tensors are ``(B, C, T)`` or ``(C, T)``; returns a new dict."""
        out = dict(targets)
        for k, x in targets.items():
            if k in self.waveform_keys or k not in self.mean:
                continue
            c = self.mean[k].numel()
            if x.dim() not in (2, 3) or x.shape[-2] != c:
                raise StatsError(
                    f"normalize: target {k!r} has shape {tuple(x.shape)}, statistics have {c} "
                    f"channels (expected (B, {c}, T) or ({c}, T))"
                )
            m, s = self._moments(k, x.device, x.dtype, min_std)
            out[k] = (x - m) / s
        return out

    # ---------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the format written by :meth:`save` for ``.json``)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "std_mode": self.std_mode,
            "waveform_keys": list(self.waveform_keys),
            "stats": {
                k: {
                    "mean": self.mean[k].tolist(),
                    "std": self.std[k].tolist(),
                    "count": int(self.counts.get(k, 0)),
                }
                for k in self.mean
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "stats") -> TargetStats:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise StatsError(f"{where}: not a {FORMAT} file (missing 'format': {FORMAT!r})")
        if data.get("version") != VERSION:
            raise StatsError(f"{where}: unsupported version {data.get('version')!r}")
        stats = data.get("stats")
        if not isinstance(stats, Mapping):
            raise StatsError(f"{where}: 'stats' must be an object of key -> {{mean, std}}")
        mean, std, counts = {}, {}, {}
        for k, v in stats.items():
            if not isinstance(v, Mapping) or "mean" not in v or "std" not in v:
                raise StatsError(f"{where}: key {k!r} needs 'mean' and 'std' lists")
            try:
                mean[k] = torch.tensor(v["mean"], dtype=torch.float32)
                std[k] = torch.tensor(v["std"], dtype=torch.float32)
            except (TypeError, ValueError, RuntimeError) as e:
                raise StatsError(
                    f"{where}: key {k!r}: mean/std must be lists of numbers ({e})"
                ) from e
            counts[k] = int(v.get("count", 0))
        mode = data.get("std_mode", "pooled")
        wkeys = tuple(data.get("waveform_keys", DEFAULT_WAVEFORM_KEYS))
        try:
            return cls(mean, std, mode, counts, wkeys)
        except StatsError as e:
            raise StatsError(f"{where}: {e}") from e

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically as ``.json`` or ``.npz`` (chosen by the suffix)."""
        path = Path(path)
        if path.suffix == ".json":
            write_json_atomic(path, self.to_dict())
        elif path.suffix == ".npz":
            meta = self.to_dict()
            arrays: dict[str, np.ndarray] = {}
            for i, k in enumerate(self.mean):
                arrays[f"mean_{i}"] = self.mean[k].numpy()
                arrays[f"std_{i}"] = self.std[k].numpy()
                meta["stats"][k] = {"index": i, "count": meta["stats"][k]["count"]}
            arrays["meta"] = np.array(json.dumps(meta))
            with atomic_open(path, "wb") as f:
                np.savez(f, **arrays)
        else:
            raise StatsError(f"{path}: statistics are saved as .json or .npz, not {path.suffix!r}")

    @classmethod
    def load(cls, path: str | os.PathLike, *, legacy_pickle: bool = False) -> TargetStats:
        """Read ``.json`` / ``.npz`` statistics. An original PASE ``.pkl`` is read only with
        ``legacy_pickle=True`` (see :func:`load_legacy_pickle`; it warns). Non-finite values
        or negative stds raise :class:`StatsError` naming the file and key; stds below
        ``MIN_STD`` give a :class:`StatsWarning`."""
        stats = cls._load(Path(path), legacy_pickle)
        floored = stats.floored()
        if floored:
            where = "; ".join(
                f"{k!r} {_channels_of(v, stats.mean[k].numel())}" for k, v in floored.items()
            )
            warnings.warn(
                f"{path}: std below {MIN_STD:g} (floored to it when normalising; 0 means the "
                f"channel was constant in the data the statistics came from): {where}",
                StatsWarning,
                stacklevel=2,
            )
        return stats

    @classmethod
    def _load(cls, path: Path, legacy_pickle: bool) -> TargetStats:
        if not path.is_file():
            raise StatsError(f"{path}: no such statistics file")
        if path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise StatsError(f"{path}: not valid JSON ({e})") from e
            return cls.from_dict(data, str(path))
        if path.suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as z:
                    meta = json.loads(str(z["meta"]))
                    for v in meta.get("stats", {}).values():
                        i = v["index"]
                        v["mean"], v["std"] = z[f"mean_{i}"].tolist(), z[f"std_{i}"].tolist()
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise StatsError(f"{path}: not a readable statistics .npz ({e})") from e
            return cls.from_dict(meta, str(path))
        if path.suffix == ".pkl" or path.suffix == ".pickle":
            if not legacy_pickle:
                raise StatsError(
                    f"{path}: pickled statistics (original PASE) are not read by default; pass "
                    f"legacy_pickle=True (restricted loader) and convert them once with .save()"
                    f" to .json or .npz"
                )
            return load_legacy_pickle(path)
        raise StatsError(f"{path}: unknown statistics format {path.suffix!r} (.json or .npz)")


# -------------------------------------------------------------------------------- accumulator


class StatsAccumulator:
    """Streaming per-key, per-channel statistics over batches of targets ``(B, C, T)``.

    ``update(targets)`` takes the dict a :class:`pase.targets.TargetSet` returns (waveform
    keys are skipped); ``result()`` gives :class:`TargetStats`. All sums are float64.
    """

    def __init__(
        self,
        std_mode: StdMode = "pooled",
        waveform_keys: Iterable[str] = DEFAULT_WAVEFORM_KEYS,
    ) -> None:
        if std_mode not in STD_MODES:
            raise StatsError(f"std_mode must be one of {STD_MODES}, got {std_mode!r}")
        self.std_mode = std_mode
        self.waveform_keys = tuple(waveform_keys)
        # pooled: count (frames), mean, M2; per_example: count (examples), sum m, sum s, sum s^2
        self._acc: dict[str, list] = {}

    def update(self, targets: Mapping[str, torch.Tensor]) -> None:
        """Add a batch: every non-waveform key must be ``(B, C, T)`` with the same ``C`` as in
        earlier batches."""
        for k, x in targets.items():
            if k in self.waveform_keys:
                continue
            if not isinstance(x, torch.Tensor) or x.dim() != 3:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise StatsError(f"update: target {k!r} must be (B, C, T), got {shape}")
            x = x.detach().to(torch.float64)
            b, c, t = x.shape
            if b == 0 or t == 0:
                continue
            acc = self._acc.get(k)
            if acc is not None and acc[1].numel() != c:
                raise StatsError(f"update: target {k!r} has {c} channels, earlier {acc[1].numel()}")
            if self.std_mode == "pooled":
                self._update_pooled(k, x)
            else:
                self._update_per_example(k, x)

    def _update_pooled(self, k: str, x: torch.Tensor) -> None:
        b, _, t = x.shape
        n_b = b * t
        mean_b = x.mean(dim=(0, 2)).cpu()
        m2_b = (x - mean_b.to(x.device)[:, None]).square().sum(dim=(0, 2)).cpu()
        if k not in self._acc:
            self._acc[k] = [n_b, mean_b, m2_b]
            return
        n, mean, m2 = self._acc[k]
        tot = n + n_b
        delta = mean_b - mean
        self._acc[k] = [
            tot,
            mean + delta * (n_b / tot),
            m2 + m2_b + delta.square() * (n * n_b / tot),
        ]

    def _update_per_example(self, k: str, x: torch.Tensor) -> None:
        b, _, t = x.shape
        if t < 2:
            raise StatsError(f"update: per_example std of {k!r} needs >= 2 frames, got {t}")
        m = x.mean(dim=2)
        s = x.std(dim=2)  # unbiased, as the original
        part = [b, m.sum(0).cpu(), s.sum(0).cpu(), s.square().sum(0).cpu()]
        if k not in self._acc:
            self._acc[k] = part
        else:
            self._acc[k] = [a + p for a, p in zip(self._acc[k], part)]

    def result(self) -> TargetStats:
        """The statistics of everything seen so far."""
        if not self._acc:
            raise StatsError("result: no (non-waveform) targets were accumulated")
        mean, std, counts = {}, {}, {}
        for k, acc in self._acc.items():
            if self.std_mode == "pooled":
                n, mu, m2 = acc
                mean[k], std[k] = mu, (m2 / n).clamp_min(0).sqrt()
            else:
                n, sm, ss, ss2 = acc
                if n < 2:
                    raise StatsError(f"result: per_example std of {k!r} needs >= 2 examples")
                mu_s = ss / n
                var = ((ss2 - n * mu_s.square()) / (n - 1)).clamp_min(0)
                mean[k], std[k] = sm / n, var.sqrt()
            counts[k] = int(n)
        return TargetStats(mean, std, self.std_mode, counts, self.waveform_keys)


# -------------------------------------------------------------------------------- legacy pkl


def load_legacy_pickle(path: str | os.PathLike) -> TargetStats:
    """Read the original PASE statistics ``.pkl`` (``{key: {"mean": FloatTensor(C),
    "std": FloatTensor(C)}}``, written with ``pickle.dump``; its std is the per-example
    definition). Tries ``torch.load(weights_only=True)`` first, else a restricted unpickler
    that only resolves tensor / numpy-array reconstruction globals (anything else raises).
    Warns :class:`LegacyPickleWarning`; convert once with :meth:`TargetStats.save`."""
    path = Path(path)
    warnings.warn(
        f"{path}: reading legacy pickled PASE statistics with a restricted unpickler; "
        f"convert them to .json/.npz with TargetStats.save()",
        LegacyPickleWarning,
        stacklevel=2,
    )
    try:
        if zipfile.is_zipfile(path):  # torch.save (>= 1.6 format)
            data = torch.load(path, weights_only=True, map_location="cpu")
        else:
            with open(path, "rb") as f:
                data = load_restricted(f)
            if isinstance(data, int):  # legacy torch.save stream: starts with a magic number
                data = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, RuntimeError) as e:
        raise StatsError(f"{path}: cannot read legacy statistics pickle ({e})") from e
    if not isinstance(data, Mapping):
        raise StatsError(f"{path}: expected a dict of key -> {{mean, std}}, got {type(data)}")
    mean, std = {}, {}
    for k, v in data.items():
        if not isinstance(v, Mapping) or "mean" not in v or "std" not in v:
            raise StatsError(f"{path}: key {k!r} needs 'mean' and 'std'")
        try:
            mean[str(k)] = torch.as_tensor(np.asarray(v["mean"], dtype=np.float32))
            std[str(k)] = torch.as_tensor(np.asarray(v["std"], dtype=np.float32))
        except (TypeError, ValueError) as e:
            raise StatsError(f"{path}: key {k!r}: mean/std are not numbers ({e})") from e
    try:
        return TargetStats(mean, std, "per_example", {}, DEFAULT_WAVEFORM_KEYS)
    except StatsError as e:
        raise StatsError(f"{path}: {e}") from e


def _channels(bad: torch.Tensor) -> str:
    return _channels_of(torch.nonzero(bad).flatten().tolist(), bad.numel())


def _channels_of(idx: list[int], total: int) -> str:
    shown = ", ".join(map(str, idx[:10])) + (", ..." if len(idx) > 10 else "")
    return f"channel{'s' if len(idx) > 1 else ''} {shown} (of {total})"
