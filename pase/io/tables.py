"""Kaldi tables for feature extraction (no torch): the inputs (data dir, ``wav.scp``, file
list) and writing ``(T, C)`` float matrices to an ark/scp pair atomically with kaldiio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import kaldiio
import numpy as np

from pase.io.atomic import atomic_open
from pase.io.audio import read_audio
from pase.io.datadir import DataDir, Utterance, read_kv

__all__ = ["parse_wspecifier", "read_input", "write_features"]


def read_input(spec: str) -> list[Utterance]:
    """Utterances of a data dir, a ``wav.scp`` or a file list (see module docstring)."""
    path = Path(spec)
    if path.is_dir():
        return DataDir(path).utterances()
    if not path.is_file():
        raise ValueError(f"{spec}: no such data dir or file")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{spec}: empty")
    if len(lines[0].split()) == 1:  # a list of audio files
        utts: dict[str, Utterance] = {}
        for n, line in enumerate(lines, 1):
            uid = Path(line).stem
            if uid in utts:
                raise ValueError(f"{spec}:{n}: utterance id {uid!r} (from {line}) is repeated")
            utts[uid] = Utterance(uid, line)
        return list(utts.values())
    return [Utterance(k, v) for k, v in read_kv(path).items()]


def parse_wspecifier(spec: str) -> tuple[Path, Path | None]:
    """``ark,scp:A,S`` -> (A, S); ``ark:A`` -> (A, None)."""
    try:
        kinds, paths = spec.split(":", 1)
    except ValueError:
        raise ValueError(f"bad wspecifier {spec!r}; use ark,scp:feats.ark,feats.scp") from None
    kinds_l = [k for k in kinds.split(",") if k not in ("t", "b", "f", "nf", "p", "o")]
    files = paths.split(",")
    if kinds_l == ["ark", "scp"] and len(files) == 2:
        return Path(files[0]), Path(files[1])
    if kinds_l == ["ark"] and len(files) == 1:
        return Path(files[0]), None
    raise ValueError(f"bad wspecifier {spec!r}; use ark,scp:feats.ark,feats.scp or ark:feats.ark")


def write_features(
    utterances: list[Utterance],
    ark: Path,
    scp: Path | None,
    encode: Callable[[np.ndarray], np.ndarray],
    compression_method: int | None = None,
    utt2num_frames: Path | None = None,
    log=print,
) -> dict[str, int]:
    """Encode every utterance (``encode(wav) -> (T, C)``) into ``ark`` (+ ``scp``) atomically.

    Returns utterance id -> frames. The ark is written to a temporary file and renamed at the
    end; the scp (and utt2num_frames) likewise, pointing at the final ark name.
    """
    seen: set[str] = set()
    frames: dict[str, int] = {}
    ark.parent.mkdir(parents=True, exist_ok=True)
    ark_ref = str(ark)
    start = time.time()
    audio_s = 0.0
    with atomic_open(ark, "wb") as f:
        entries = []
        for i, utt in enumerate(utterances, 1):
            if utt.utt_id in seen:
                raise ValueError(f"utterance {utt.utt_id!r} appears twice in the input")
            seen.add(utt.utt_id)
            wav = read_audio(utt.source, utt=utt.utt_id, start=utt.start, end=utt.end)
            feats = encode(wav)
            if not np.isfinite(feats).all():
                raise ValueError(f"utterance {utt.utt_id!r}: encoder produced NaN/Inf")
            offset = f.tell() + len(utt.utt_id.encode()) + 1
            kaldiio.save_ark(f, {utt.utt_id: feats}, compression_method=compression_method)
            entries.append(f"{utt.utt_id} {ark_ref}:{offset}\n")
            frames[utt.utt_id] = int(feats.shape[0])
            audio_s += wav.shape[0] / 16000
            if i % 100 == 0:
                log(f"{i}/{len(utterances)} utterances, RTF {(time.time() - start) / audio_s:.3f}")
        if scp is not None:
            with atomic_open(scp, "w", encoding="utf-8") as s:
                s.writelines(entries)
    if utt2num_frames is not None:
        with atomic_open(utt2num_frames, "w", encoding="utf-8") as u:
            u.writelines(f"{k} {v}\n" for k, v in frames.items())
    return frames
