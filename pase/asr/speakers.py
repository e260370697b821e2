"""Speakers of a Kaldi data dir for the hybrid recipe: ``utt2spk`` and the split of a data set
into ``JOB=1:nj`` jobs of whole speakers."""

from __future__ import annotations

import os
from pathlib import Path

from pase.io.datadir import read_kv, split_utterances


def read_utt2spk(data_dir: str | os.PathLike) -> dict[str, str]:
    """``utt2spk`` of a data dir (every utterance its own speaker when the file is absent)."""
    p = Path(data_dir) / "utt2spk"
    if p.is_file():
        return read_kv(p)
    wav = Path(data_dir) / "wav.scp"
    if not wav.is_file():
        raise ValueError(f"{data_dir}: not a Kaldi data dir (no utt2spk or wav.scp)")
    return {u: u for u in read_kv(wav)}


def split_by_speaker(utt2spk: dict[str, str], nj: int, job: int) -> set[str]:
    """Utterances of job ``job`` (1-based) of ``nj``: whole speakers, contiguous in sorted
    order, about equal utterance counts (Kaldi's ``split_data.sh``; jobs beyond the number of
    speakers are empty)."""
    if not 1 <= job <= nj:
        raise ValueError(f"job {job} outside 1..{nj}")
    return set(split_utterances(utt2spk, nj, allow_empty=True)[job - 1])
