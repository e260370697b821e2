"""Frame-level training targets from sources other than our own HMM-GMM aligner.

- :func:`phn_alignments`: from hand-labelled phone boundaries (TIMIT ``.PHN`` as written to
  ``phones.ctm`` by :mod:`pase.corpus.timit`): frames go to the phone under their centre, each
  phone's frames are spread evenly over its HMM states.
- :func:`kaldi_alignments`: from a Kaldi alignment dir (``final.mdl`` + ``ali.*.gz`` +
  ``phones.txt``): Kaldi's frames are split into phones and HMM states with Kaldi's own
  transition model, then re-expressed in our monophone HMM (phones matched by name).
- :func:`kaldi_pdf_alignments`: the Kaldi pdf ids themselves (e.g. the 1973 context-dependent
  states of the original recipe), for decoding with the same Kaldi model and graph.

All return transition-id alignments (Kaldi convention) except the last.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from pase.asr.hmm import HmmModel, split_to_phones
from pase.asr.kaldi_format import (
    KaldiFormatError,
    iter_ali_dir,
    read_alignments,
    read_transition_model,
)
from pase.asr.lang import read_symbol_table
from pase.constants import SAMPLE_RATE

log = logging.getLogger(__name__)

FRAME_SHIFT = 0.01
FRAME_LENGTH = 0.025


class AlignmentError(ValueError):
    """Alignment input that does not fit (names the utterance or file)."""


def kaldi_num_frames(num_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Frames of Kaldi MFCC/fbank with ``snip_edges=true`` (25 ms window, 10 ms shift)."""
    win, hop = round(FRAME_LENGTH * sample_rate), round(FRAME_SHIFT * sample_rate)
    return 0 if num_samples < win else 1 + (num_samples - win) // hop


def read_ctm(path: str | os.PathLike) -> dict[str, list[tuple[float, float, str]]]:
    """``<utt> <chan> <start-s> <dur-s> <phone>`` lines -> utt -> [(start, end, phone)]."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                continue
            try:
                utt, b, d, ph = cols[0], float(cols[2]), float(cols[3]), cols[4]
            except (IndexError, ValueError):
                raise AlignmentError(f"{path}:{n}: expected a CTM line, got {line!r}") from None
            out.setdefault(utt, []).append((b, b + d, ph))
    return out


def _balance(counts: list[int], need: list[int]) -> list[int] | None:
    """Move frames from neighbours so that ``counts[i] >= need[i]`` (None if impossible)."""
    counts = list(counts)
    if sum(counts) < sum(need):
        return None
    for i in range(len(counts)):
        while counts[i] < need[i]:
            # nearest neighbour with a surplus, left or right; frames shift across the gap
            best = None
            for dist in range(1, len(counts)):
                for j in (i - dist, i + dist):
                    if 0 <= j < len(counts) and counts[j] > need[j]:
                        best = j
                        break
                if best is not None:
                    break
            if best is None:
                return None
            counts[best] -= 1
            counts[i] += 1
    return counts


def phn_alignments(
    ctm: dict[str, list[tuple[float, float, str]]],
    num_frames: dict[str, int],
    hmm: HmmModel,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Alignments from phone boundaries.

    A frame t (window ``[t * 10 ms, t * 10 ms + 25 ms)``) belongs to the phone segment holding
    its centre. Phones shorter than their number of HMM states borrow frames from the nearest
    neighbour that has spare frames (boundaries move by a frame or two); each phone's frames are
    divided evenly over its states.

    Returns ``(utt -> (T,) int32 tids, utterances skipped because too short)``.
    """
    lang = hmm.lang
    out: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    for utt in sorted(num_frames):
        segs = ctm.get(utt)
        if not segs:
            raise AlignmentError(f"utterance {utt!r}: no phone segments in the CTM")
        T = num_frames[utt]
        ids = lang.encode([p for _, _, p in segs], where=f"utterance {utt!r}")
        centres = np.arange(T) * FRAME_SHIFT + FRAME_LENGTH / 2
        ends = np.array([e for _, e, _ in segs])
        inst = np.minimum(np.searchsorted(ends, centres, side="right"), len(segs) - 1)
        counts = np.bincount(inst, minlength=len(segs)).tolist()
        need = [hmm.num_emitting_states(p) for p in ids]
        counts = _balance(counts, need)
        if counts is None:
            skipped.append(utt)
            continue
        states = []
        for k, (p, n) in enumerate(zip(ids, counts)):
            S = hmm.num_emitting_states(p)
            states += [(k, (j * S) // n) for j in range(n)]
        out[utt] = hmm.states_to_tids(ids, np.array(states, dtype=np.int64))
    if skipped:
        log.warning(
            "%d utterance(s) too short for their phone sequence: %s",
            len(skipped),
            " ".join(skipped[:20]),
        )
    return out, skipped


def _base_phone(name: str) -> str:
    """Kaldi phone name without word-position suffix (``aa_B`` -> ``aa``)."""
    return re.sub(r"_[BEIS]$", "", name)


def kaldi_alignments(
    ali_dir: str | os.PathLike,
    hmm: HmmModel,
    phones_txt: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    """Re-express a Kaldi alignment dir in our monophone HMM.

    Kaldi's transition ids are split into phone instances and HMM states with the dir's
    ``final.mdl``; phones are matched by name through its ``phones.txt`` (position suffixes
    ``_B/_E/_I/_S`` dropped). When every phone has as many states in both models Kaldi's state
    sequence is kept; otherwise each phone's frames are spread evenly over our states.
    """
    d = Path(ali_dir)
    ktm = read_transition_model(d / "final.mdl")
    table = ktm.tid_table()
    ptxt = Path(phones_txt) if phones_txt is not None else d / "phones.txt"
    if not ptxt.is_file():
        raise AlignmentError(
            f"{ptxt}: missing; pass the phones.txt of the lang the alignments were made with"
        )
    kphones = {i: _base_phone(s) for s, i in read_symbol_table(ptxt).items()}
    ours = hmm.lang.phone_to_id
    pmap: dict[int, int] = {}
    unknown = sorted({kphones.get(p, str(p)) for p in ktm.phones} - set(ours))
    if unknown:
        raise AlignmentError(
            f"{d}: Kaldi phones {unknown} are not in our phone set {hmm.lang.phones}"
        )
    for p in ktm.phones:
        pmap[p] = ours[kphones[p]]
    tstate = np.zeros(table.shape[0], dtype=np.int64)
    k = 0
    for ts, (phone, state, _f, _s) in enumerate(ktm.tuples, 1):
        n = len(ktm.entry(phone)[state].transitions)
        tstate[k + 1 : k + 1 + n] = ts
        k += n
    nstates = {p: len(ktm.entry(p)) - 1 for p in ktm.phones}
    final = table[:, 3] == np.array([nstates.get(int(p), -1) for p in table[:, 0]])
    out: dict[str, np.ndarray] = {}
    for f in iter_ali_dir(d):
        for utt, tids in read_alignments(f).items():
            if tids.size and (tids.min() < 1 or tids.max() >= table.shape[0]):
                raise AlignmentError(f"{f}: utterance {utt!r} has transition ids not in final.mdl")
            segs = split_to_phones(table[tids, 0], tstate[tids], table[tids, 4], final[tids])
            ids = [pmap[kp] for kp, _ in segs]
            need = [hmm.num_emitting_states(p) for p in ids]
            counts = [n for _, n in segs]
            same = all(nstates[kp] == S for (kp, _), S in zip(segs, need))
            if not same:
                counts = _balance(counts, need)
                if counts is None:
                    raise AlignmentError(f"{f}: utterance {utt!r} too short for our HMM")
            states, pos = [], 0
            for inst, (n, S) in enumerate(zip(counts, need)):
                if same:  # identical state counts: keep Kaldi's own state sequence
                    states += [(inst, int(table[tids[t], 1])) for t in range(pos, pos + n)]
                else:  # spread evenly over our states
                    states += [(inst, (j * S) // n) for j in range(n)]
                pos += n
            try:
                out[utt] = hmm.states_to_tids(ids, np.array(states, dtype=np.int64))
            except ValueError as e:
                raise AlignmentError(f"{f}: utterance {utt!r}: {e}") from e
    return out


def kaldi_pdf_alignments(ali_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], int]:
    """Kaldi pdf ids of every frame (``ali-to-pdf``) and the model's number of pdfs."""
    d = Path(ali_dir)
    ktm = read_transition_model(d / "final.mdl")
    tid2pdf = ktm.tid_table()[:, 2]
    out: dict[str, np.ndarray] = {}
    for f in iter_ali_dir(d):
        for utt, tids in read_alignments(f).items():
            if tids.size and (tids.min() < 1 or tids.max() >= tid2pdf.shape[0]):
                raise KaldiFormatError(
                    f"{f}: utterance {utt!r} has transition ids not in final.mdl"
                )
            out[utt] = tid2pdf[tids].astype(np.int32)
    return out, ktm.num_pdfs
