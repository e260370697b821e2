"""Experiment directories of the hybrid recipe, laid out like Kaldi's.

An *alignment dir* (``exp/mono``, ``exp/mono/ali_dev``, ``exp/phn_ali``) holds:

- ``lang.json``, ``phones.txt``, ``words.txt``, ``topo``: the lang it was made with;
- ``hmm.npz``: the monophone tree (Kaldi binary bytes) and transition log-probs;
- ``final.mdl``: the same transition model (+ GMMs if any) in Kaldi's binary format, readable by
  Kaldi tools (``latgen-faster-mapped``, ``show-alignments``);
- ``gmm.npz``: the GMMs when the alignments come from HMM-GMM training;
- ``ali.1.gz`` + ``num_jobs``: transition-id alignments, a Kaldi archive.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from pase.asr.gmm import GmmParams
from pase.asr.hmm import HmmModel
from pase.asr.kaldi_format import iter_ali_dir, read_alignments, write_alignments, write_model
from pase.asr.lang import Lang
from pase.io.atomic import write_json_atomic, write_text_atomic


class ExpDirError(ValueError):
    """A missing or inconsistent experiment directory (names the path)."""


def save_ali_dir(
    out: str | os.PathLike,
    hmm: HmmModel,
    alignments: dict[str, np.ndarray],
    gmm: GmmParams | None = None,
    info: dict | None = None,
) -> Path:
    """Write an alignment dir (see the module docstring); returns its path."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    hmm.lang.save(d)
    hmm.save(d / "hmm.npz")
    write_model(d / "final.mdl", hmm, gmm)
    if gmm is not None:
        gmm.save(d / "gmm.npz")
    elif (d / "gmm.npz").exists():
        (d / "gmm.npz").unlink()
    for old in d.glob("ali.*.gz"):
        old.unlink()
    write_alignments(d / "ali.1.gz", alignments)
    write_text_atomic(d / "num_jobs", "1\n")
    if info is not None:
        write_json_atomic(d / "info.json", info)
    return d


def load_lang_and_hmm(d: str | os.PathLike) -> tuple[Lang, HmmModel]:
    """Lang and HMM of an alignment (or model) dir."""
    d = Path(d)
    if not (d / "hmm.npz").is_file():
        raise ExpDirError(f"{d}: no hmm.npz (not an alignment dir made by pase-asr-align)")
    lang = Lang.load(d)
    return lang, HmmModel.load(lang, d / "hmm.npz")


def load_ali_dir(d: str | os.PathLike) -> tuple[HmmModel, dict[str, np.ndarray], GmmParams | None]:
    """``(hmm, utt -> tids, gmm or None)`` of an alignment dir."""
    d = Path(d)
    _lang, hmm = load_lang_and_hmm(d)
    ali: dict[str, np.ndarray] = {}
    for f in iter_ali_dir(d):
        for utt, tids in read_alignments(f).items():
            if utt in ali:
                raise ExpDirError(f"{f}: utterance {utt!r} aligned twice")
            ali[utt] = tids
    gmm = GmmParams.load(d / "gmm.npz") if (d / "gmm.npz").is_file() else None
    return hmm, ali, gmm


def copy_model(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy the model part (lang files, hmm.npz, final.mdl, gmm.npz) of an alignment dir."""
    s, t = Path(src), Path(dst)
    t.mkdir(parents=True, exist_ok=True)
    for name in ("lang.json", "phones.txt", "words.txt", "topo", "hmm.npz", "final.mdl", "gmm.npz"):
        if (s / name).is_file():
            shutil.copyfile(s / name, t / name)
