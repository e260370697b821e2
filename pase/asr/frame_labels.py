"""Per-frame phone labels from an alignment dir (Kaldi ``ali-to-phones --per-frame``), for the
frame phone-classification probe (``pase-probe --task frame``).

The frames are those of the alignments: Kaldi MFCC frames (25 ms window, 10 ms shift,
``snip_edges``), ``1 + (N - 400) // 160`` for ``N`` samples; feature dumps with a frame or two
more (PASE: one frame per 160 samples) are trimmed at the end by the probe (``--max-trim``), as
the acoustic model's training does. Labels are the 48 training phones of the recipe's lang, or
their 39-phone folding (the scoring set, ``timit_phones.60-48-39.map``: e.g. ``cl``, ``vcl``,
``epi`` -> ``sil``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from pase.asr.expdir import load_ali_dir
from pase.asr.scoring import PhoneMap
from pase.io.atomic import write_text_atomic

#: the phone sets labels can be given in
PHONE_SETS = ("48", "39")


class FrameLabelError(ValueError):
    """Alignments that cannot be turned into labels (names the dir and the phone)."""


def frame_phone_labels(
    ali_dir: str | os.PathLike,
    phone_set: str = "39",
    phone_map: str | os.PathLike | None = None,
) -> dict[str, list[str]]:
    """utt -> one phone per frame (``phone_set`` 48: the lang's phones; 39: folded with
    ``phone_map``, default the packaged Kaldi map), utterances sorted."""
    if phone_set not in PHONE_SETS:
        raise FrameLabelError(f"phone set must be one of {', '.join(PHONE_SETS)}, not {phone_set}")
    hmm, ali, _gmm = load_ali_dir(ali_dir)
    names = hmm.lang.id_to_phone
    fold: dict[str, str] | None = None
    if phone_set == "39":
        fold = PhoneMap.load(phone_map).to39
        unknown = sorted(set(names.values()) - set(fold))
        if unknown:
            more = ", ..." if len(unknown) > 8 else ""
            raise FrameLabelError(
                f"{ali_dir}: the phone map has no 39-phone folding of {len(unknown)} phone(s): "
                f"{', '.join(unknown[:8])}{more} (use the 48-phone set or another --phone-map)"
            )
    out: dict[str, list[str]] = {}
    for utt in sorted(ali):
        phones = [names[int(p)] for p in hmm.tid2phone[ali[utt]]]
        out[utt] = [fold[p] for p in phones] if fold is not None else phones
    return out


def write_frame_labels(path: str | os.PathLike, labels: dict[str, list[str]]) -> None:
    """``<utt> <label> <label> ...`` lines (sorted utterances), written atomically."""
    write_text_atomic(path, "".join(f"{u} {' '.join(labels[u])}\n" for u in sorted(labels)))


def ali_to_phones(
    ali_dir: str | os.PathLike,
    out: str | os.PathLike,
    phone_set: str = "39",
    phone_map: str | os.PathLike | None = None,
) -> str:
    """Write the labels of :func:`frame_phone_labels` to ``out``; a one-line summary."""
    labels = frame_phone_labels(ali_dir, phone_set, phone_map)
    if not labels:
        raise FrameLabelError(f"{ali_dir}: no aligned utterances")
    write_frame_labels(out, labels)
    counts = Counter(p for seq in labels.values() for p in seq)
    return (
        f"{Path(out)}: {len(labels)} utterances, {sum(counts.values())} frames, "
        f"{len(counts)} of the {phone_set} phones"
    )
