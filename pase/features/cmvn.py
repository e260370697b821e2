"""Cepstral mean and variance normalisation in Kaldi's format.

Statistics are ``(2, D + 1)`` float64 matrices (Kaldi ``compute-cmvn-stats``): row 0 holds the
per-dimension sums and, in the last column, the frame count; row 1 holds the sums of squares
(last column 0). Stats add up, so speaker or global stats are sums over utterances.

Files:
- global stats: ``cmvn.ark`` holding one binary Kaldi matrix (what ``compute-cmvn-stats
  scp:feats.scp cmvn.ark`` writes; read by Kaldi's ``apply-cmvn cmvn.ark ...`` and ESPnet1's
  ``apply-cmvn.py`` / ``CMVN`` class);
- per-speaker stats: a table ``cmvn.ark`` + ``cmvn.scp`` keyed by speaker id (what Kaldi's
  ``steps/compute_cmvn_stats.sh`` leaves in a data dir as ``cmvn.scp``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import kaldiio
import numpy as np

from pase.io.atomic import atomic_open

VAR_FLOOR = 1.0e-20  # Kaldi's ApplyCmvn floor on the variance


class CmvnError(ValueError):
    """Bad statistics (wrong shape, zero count, dimension mismatch, missing speaker)."""


def compute_cmvn_stats(feats: np.ndarray) -> np.ndarray:
    """Stats of one ``(T, D)`` feature matrix: ``(2, D + 1)`` float64."""
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2:
        raise CmvnError(f"expected (T, D) features, got shape {x.shape}")
    stats = np.zeros((2, x.shape[1] + 1), dtype=np.float64)
    stats[0, :-1] = x.sum(axis=0)
    stats[1, :-1] = np.square(x).sum(axis=0)
    stats[0, -1] = x.shape[0]
    return stats


def _check(stats: np.ndarray, dim: int | None = None, where: str = "stats") -> np.ndarray:
    s = np.asarray(stats, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] not in (1, 2) or s.shape[1] < 2:
        raise CmvnError(f"{where}: expected (2, D+1) cmvn stats, got shape {s.shape}")
    if dim is not None and s.shape[1] - 1 != dim:
        raise CmvnError(f"{where}: stats are for dimension {s.shape[1] - 1}, features have {dim}")
    if s[0, -1] < 1.0:
        raise CmvnError(f"{where}: frame count {s[0, -1]} < 1")
    return s


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Kaldi ``apply-cmvn``: subtract the mean (and divide by the standard deviation when
    ``norm_vars``; variances are floored at 1e-20). ``(T, D)`` -> ``(T, D)`` float32."""
    x = np.asarray(feats, dtype=np.float64)
    s = _check(stats, x.shape[1] if x.ndim == 2 else None)
    count = s[0, -1]
    mean = s[0, :-1] / count
    out = x - mean
    if norm_vars:
        if s.shape[0] < 2:
            raise CmvnError("norm_vars needs 2-row stats (sums of squares)")
        var = np.maximum(s[1, :-1] / count - mean**2, VAR_FLOOR)
        out = out / np.sqrt(var)
    return out.astype(np.float32)


def global_stats(feats: Iterable[np.ndarray]) -> np.ndarray:
    """Sum of the stats of every ``(T, D)`` matrix."""
    total: np.ndarray | None = None
    for f in feats:
        s = compute_cmvn_stats(f)
        if total is not None and total.shape != s.shape:
            raise CmvnError(f"feature dimension changed: {total.shape[1] - 1} -> {s.shape[1] - 1}")
        total = s if total is None else total + s
    if total is None:
        raise CmvnError("no features to compute cmvn stats from")
    return total


def speaker_stats(
    feats: Iterable[tuple[str, np.ndarray]], utt2spk: Mapping[str, str]
) -> dict[str, np.ndarray]:
    """Per-speaker stats from ``(utt, (T, D))`` pairs; an utterance without speaker is an
    error naming it."""
    out: dict[str, np.ndarray] = {}
    for utt, f in feats:
        spk = utt2spk.get(utt)
        if spk is None:
            raise CmvnError(f"utterance {utt!r} has no speaker in utt2spk")
        s = compute_cmvn_stats(f)
        out[spk] = s if spk not in out else out[spk] + s
    return out


def write_global_stats(path: str | os.PathLike, stats: np.ndarray) -> None:
    """Write one stats matrix as a binary Kaldi matrix file (atomically)."""
    s = _check(stats, where=str(path))
    with atomic_open(path, "wb") as f:
        kaldiio.save_mat(f, s)


def write_speaker_stats(
    ark: str | os.PathLike, scp: str | os.PathLike, stats: Mapping[str, np.ndarray]
) -> None:
    """Write per-speaker stats as a Kaldi table ``ark`` + ``scp`` (speakers sorted; both files
    replaced atomically; the scp refers to ``ark`` as given)."""
    ark, scp = Path(ark), Path(scp)
    entries = []
    with atomic_open(ark, "wb") as f:
        for spk in sorted(stats):
            s = _check(stats[spk], where=f"speaker {spk!r}")
            offset = f.tell() + len(spk.encode()) + 1
            kaldiio.save_ark(f, {spk: s})
            entries.append(f"{spk} {ark}:{offset}\n")
    with atomic_open(scp, "w", encoding="utf-8") as g:
        g.writelines(entries)


def read_stats(path: str | os.PathLike) -> np.ndarray | dict[str, np.ndarray]:
    """Read global stats (a matrix file) or a per-speaker table (``.scp``, or an ark with
    keys) -> one matrix or ``{speaker: matrix}``."""
    p = Path(path)
    if not p.is_file():
        raise CmvnError(f"{p}: no such cmvn stats file")
    if p.suffix == ".scp":
        return {k: _check(v, where=f"{p}: {k}") for k, v in kaldiio.load_scp(str(p)).items()}
    with open(p, "rb") as f:
        head = f.read(2)
    if head == b"\0B":  # a bare binary matrix
        return _check(kaldiio.load_mat(str(p)), where=str(p))
    return {k: _check(v, where=f"{p}: {k}") for k, v in kaldiio.load_ark(str(p))}


def stats_for(
    stats: np.ndarray | Mapping[str, np.ndarray], utt: str, utt2spk: Mapping[str, str] | None
) -> np.ndarray:
    """The stats that normalise ``utt``: the global matrix, or its speaker's."""
    if isinstance(stats, np.ndarray):
        return stats
    if utt2spk is None or utt not in utt2spk:
        raise CmvnError(f"utterance {utt!r}: per-speaker cmvn needs its speaker (utt2spk)")
    spk = utt2spk[utt]
    if spk not in stats:
        raise CmvnError(f"utterance {utt!r}: no cmvn stats for speaker {spk!r}")
    return stats[spk]
