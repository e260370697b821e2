"""pase-make-data-cfg: write the JSON data cfg (train/valid/test) for self-supervised training.

Original flags (``unsupervised_data_cfg_librispeech.py``)::

    pase-make-data-cfg --data_root data/LibriSpeech/wavs \\
        --train_scp data/LibriSpeech/libri_tr.scp --test_scp data/LibriSpeech/libri_te.scp \\
        --libri_dict data/LibriSpeech/libri_dict.npy --cfg_file data/librispeech_data.cfg

Kaldi data dirs::

    pase-make-data-cfg --train_dir data/train [--valid_dir D] [--test_dir D] \\
        [--valid_spk_ratio 0.1] --cfg_file data/pase_data.json

Without a validation set, ``--valid_spk_ratio`` (alias ``--val_ratio``) of the training
speakers are held out (``--split_by utterance`` restores the original's utterance split).
Every file is checked (missing, empty, truncated, not 16 kHz) and measured from its header.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from pase.data.data_cfg import (
    SplitError,
    build_data_cfg,
    held_out_speakers,
    held_out_utterances,
    lookup_speaker,
    read_file_list,
    read_speaker_map,
)
from pase.data.items import AudioItem, DataConfigError, from_datadir
from pase.data.validate import AudioValidationError, validate_items
from pase.io.atomic import write_json_atomic
from pase.io.datadir import DataDirError

log = logging.getLogger("pase-make-data-cfg")

Entry = tuple[AudioItem, str, Any]


def get_parser() -> argparse.ArgumentParser:
    """Command-line interface (original flags plus Kaldi data dirs)."""
    p = argparse.ArgumentParser(
        prog="pase-make-data-cfg",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("original flags (file lists relative to --data_root)")
    g.add_argument("--data_root", default=None, help="folder the list entries are relative to")
    g.add_argument("--train_scp", default=None, help="training file list, one name per line")
    g.add_argument("--valid_scp", default=None, help="validation file list")
    g.add_argument("--test_scp", default=None, help="test file list")
    g.add_argument(
        "--libri_dict",
        default=None,
        help="filename -> speaker map: JSON object, '<file> <spk>' text, or legacy .npy pickle",
    )
    k = p.add_argument_group("Kaldi data dirs (wav.scp, utt2spk, optional segments)")
    k.add_argument("--train_dir", default=None)
    k.add_argument("--valid_dir", default=None)
    k.add_argument("--test_dir", default=None)
    p.add_argument("--cfg_file", required=True, help="output JSON data cfg (written atomically)")
    p.add_argument(
        "--valid_spk_ratio",
        "--val_ratio",
        dest="valid_ratio",
        type=float,
        default=0.1,
        help="share of training speakers (or utterances with --split_by utterance) held out "
        "for validation when no validation set is given (default 0.1; 0 = none)",
    )
    p.add_argument("--split_by", choices=("speaker", "utterance"), default="speaker")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument(
        "--skip_bad_audio",
        action="store_true",
        help="drop (and report) missing/empty/truncated/non-16 kHz files instead of failing",
    )
    p.add_argument("--num_workers", type=int, default=4, help="threads reading headers")
    return p


def _from_list(
    scp: str, root: str | None, spk_map: dict[str, Any] | None, where: str
) -> list[Entry]:
    out = []
    for fn in read_file_list(scp):
        spk = lookup_speaker(fn, spk_map, where=where) if spk_map is not None else None
        src = fn if root is None or os.path.isabs(fn) else os.path.join(root, fn)
        utt = os.path.splitext(fn)[0]
        out.append((AudioItem(utt, src, None if spk is None else str(spk), fn), fn, spk))
    return out


def _from_dir(path: str) -> list[Entry]:
    return [(it, it.source, it.speaker) for it in from_datadir(path).items]


def _validate(entries: list[Entry], name: str, args: argparse.Namespace) -> list[Entry]:
    if not entries:
        return entries
    rep = validate_items(
        [e[0] for e in entries],
        skip_bad=args.skip_bad_audio,
        num_workers=args.num_workers,
        where=f"{name} split",
    )
    good = {it.utt_id: it for it in rep.good}
    if rep.bad:
        log.warning("%s: skipped %d bad file(s)", name, len(rep.bad))
    return [(good[it.utt_id], fn, spk) for it, fn, spk in entries if it.utt_id in good]


def _split_valid(train: list[Entry], args: argparse.Namespace) -> tuple[list[Entry], list[Entry]]:
    if args.split_by == "utterance":
        held = held_out_utterances(len(train), args.valid_ratio, args.seed)
        return (
            [e for i, e in enumerate(train) if i not in held],
            [e for i, e in enumerate(train) if i in held],
        )
    missing = [e[0].utt_id for e in train if e[2] is None]
    if missing and args.valid_ratio > 0:
        raise SplitError(
            f"holding out speakers needs a speaker for every file; none for {missing[:5]} "
            "(give --libri_dict / utt2spk, a validation set, or --split_by utterance)"
        )
    spk = held_out_speakers([e[2] for e in train], args.valid_ratio, args.seed)
    return [e for e in train if str(e[2]) not in spk], [e for e in train if str(e[2]) in spk]


def make_data_cfg(args: argparse.Namespace) -> dict[str, Any]:
    """Build the cfg dict from parsed arguments."""
    if (args.train_dir is None) == (args.train_scp is None):
        raise SplitError("give exactly one of --train_dir (Kaldi data dir) or --train_scp")
    spk_map = read_speaker_map(args.libri_dict) if args.libri_dict else None
    where = args.libri_dict or ""

    def load(d: str | None, scp: str | None) -> list[Entry]:
        if d is not None and scp is not None:
            raise SplitError(f"give either a data dir ({d}) or a list ({scp}), not both")
        if d is not None:
            return _from_dir(d)
        if scp is not None:
            return _from_list(scp, args.data_root, spk_map, where)
        return []

    train = load(args.train_dir, args.train_scp)
    valid = load(args.valid_dir, args.valid_scp)
    test = load(args.test_dir, args.test_scp)
    train = _validate(train, "train", args)
    if not train:
        raise SplitError("no usable training files")
    if not valid:
        train, valid = _split_valid(train, args)
    else:
        valid = _validate(valid, "valid", args)
    test = _validate(test, "test", args)
    for name, part in (("valid", valid), ("test", test)):
        shared = {e[0].utt_id for e in train} & {e[0].utt_id for e in part}
        if shared:
            log.warning(
                "%d utterance(s) are in both train and %s, e.g. %s",
                len(shared),
                name,
                sorted(shared)[:3],
            )
    root = args.data_root if args.train_scp is not None else None
    return build_data_cfg({"train": train, "valid": valid, "test": test}, root)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-data-cfg``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    try:
        cfg = make_data_cfg(args)
    except (SplitError, DataConfigError, DataDirError, AudioValidationError, OSError) as e:
        print(f"pase-make-data-cfg: error: {e}", file=sys.stderr)
        return 1
    write_json_atomic(args.cfg_file, cfg)
    for name in ("train", "valid", "test"):
        part = cfg[name]
        log.info(
            "%s: %d files, %d speakers, %.2f h",
            name,
            len(part["data"]),
            len(part["speakers"]),
            part["total_wav_dur"] / 16000 / 3600,
        )
    log.info("wrote %s", args.cfg_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
