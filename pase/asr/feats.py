"""Acoustic-model inputs: dumped features (Kaldi ``feats.scp``) with speaker normalisation.

Normalisations (``norm``):

- ``"cmvn"``: Kaldi per-speaker CMVN, means only (``apply-cmvn --utt2spk``, ``norm_vars`` off as
  Kaldi's default), from ``cmvn.scp`` beside ``feats.scp`` when it exists, else computed here
  (:mod:`pase.features.cmvn` statistics, frames pooled over the speaker);
- ``"cmvn-vars"``: the same with variance normalisation;
- ``"avg_spk"``: the original TIMIT recipe's PASE normalisation: subtract the average of the
  speaker's per-utterance means (every utterance weighs the same, std untouched);
- ``"none"``.

``deltas`` appends Kaldi ``add-deltas`` dynamic features (order 2 -> 39-dim MFCC for the GMM).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

NORMS = ("none", "cmvn", "cmvn-vars", "avg_spk")


class FeatsError(ValueError):
    """Missing/inconsistent features (names the file and utterance)."""


def read_feats(scp: str | os.PathLike, utts: set[str] | None = None) -> dict[str, np.ndarray]:
    """utt -> (T, D) float32 from a Kaldi ``feats.scp`` (all, or only ``utts``)."""
    import kaldiio

    scp = Path(scp)
    if not scp.is_file():
        raise FeatsError(f"{scp}: feature scp does not exist (run the features stage first)")
    out: dict[str, np.ndarray] = {}
    table = kaldiio.load_scp(str(scp))
    dim = None
    for utt in table:
        if utts is not None and utt not in utts:
            continue
        try:
            x = np.asarray(table[utt], dtype=np.float32)
        except Exception as e:  # kaldiio raises several kinds
            raise FeatsError(f"{scp}: utterance {utt!r} unreadable ({e})") from e
        if x.ndim != 2 or x.shape[0] == 0:
            raise FeatsError(f"{scp}: utterance {utt!r} is not a (T, D) matrix: {x.shape}")
        if dim is not None and x.shape[1] != dim:
            raise FeatsError(f"{scp}: utterance {utt!r} has dim {x.shape[1]}, others {dim}")
        if not np.isfinite(x).all():
            raise FeatsError(f"{scp}: utterance {utt!r} contains NaN/Inf")
        dim = x.shape[1]
        out[utt] = x
    return out


def _by_speaker(feats: dict[str, np.ndarray], utt2spk: dict[str, str]) -> dict[str, list[str]]:
    spk: dict[str, list[str]] = defaultdict(list)
    for u in feats:
        if u not in utt2spk:
            raise FeatsError(f"utterance {u!r} has no speaker in utt2spk")
        spk[utt2spk[u]].append(u)
    return spk


def normalize(
    feats: dict[str, np.ndarray],
    utt2spk: dict[str, str],
    norm: str,
    cmvn_scp: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    """Apply one of :data:`NORMS` per speaker (see the module docstring)."""
    if norm not in NORMS:
        raise FeatsError(f"unknown normalisation {norm!r}; choose from {NORMS}")
    if norm == "none":
        return feats
    out: dict[str, np.ndarray] = {}
    if norm == "avg_spk":
        groups = _by_speaker(feats, utt2spk)
        for utts in groups.values():
            mean = np.mean([feats[u].astype(np.float64).mean(0) for u in utts], axis=0)
            for u in utts:
                out[u] = (feats[u] - mean).astype(np.float32)
        return out
    from pase.features import cmvn

    if cmvn_scp is not None and Path(cmvn_scp).is_file():
        stats = cmvn.read_stats(cmvn_scp)
    else:
        stats = cmvn.speaker_stats(feats.items(), utt2spk)
    for u, x in feats.items():
        st = cmvn.stats_for(stats, u, utt2spk)
        out[u] = cmvn.apply_cmvn(x, st, norm_vars=norm == "cmvn-vars")
    return out


def add_deltas(feats: dict[str, np.ndarray], order: int, window: int = 2) -> dict[str, np.ndarray]:
    """Kaldi ``add-deltas``: (T, D) -> (T, D * (order + 1)) for every utterance."""
    if order <= 0:
        return feats
    from pase.features.kaldi import add_deltas as deltas

    return {u: deltas(x, order, window) for u, x in feats.items()}


def load_features(
    feats_scp: str | os.PathLike,
    utt2spk: dict[str, str],
    *,
    norm: str = "cmvn",
    deltas: int = 0,
    utts: set[str] | None = None,
) -> dict[str, np.ndarray]:
    """Read ``feats_scp``, normalise per speaker (``cmvn.scp`` beside it is used if present)
    and add deltas: utt -> (T, D') float32."""
    feats = read_feats(feats_scp, utts)
    if not feats:
        raise FeatsError(f"{feats_scp}: no (selected) utterances")
    cmvn_scp = Path(feats_scp).with_name("cmvn.scp")
    feats = normalize(feats, utt2spk, norm, cmvn_scp if cmvn_scp.is_file() else None)
    return add_deltas(feats, deltas)
