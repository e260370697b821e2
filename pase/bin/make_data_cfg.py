"""pase-make-data-cfg: write the JSON data cfg (train/valid/test) for self-supervised training.

The original's command (``unsupervised_data_cfg_librispeech.py``; its snake_case flags work as
they are: ``--data_root``, ``--cfg_file``, ...)::

    pase-make-data-cfg --data-root data/LibriSpeech/wavs \\
        --train-scp data/LibriSpeech/libri_tr.scp --test-scp data/LibriSpeech/libri_te.scp \\
        --libri-dict data/LibriSpeech/libri_dict.npy --cfg-file data/librispeech_data.cfg

Kaldi data dirs::

    pase-make-data-cfg --train-dir data/train [--valid-dir D] [--test-dir D] \\
        [--valid-spk-ratio 0.1] --cfg-file data/pase_data.json

Without a validation set, ``--valid-spk-ratio`` (the original's ``--val_ratio``) of the
training speakers are held out (``--split-by utterance`` restores the original's utterance
split). Every file is checked (missing, empty, truncated, not 16 kHz, NaN/Inf in float files,
several channels without ``--channel``) and measured from its header.

Reruns: ``<cfg-file>.stamp.json`` records what the cfg was computed from (the data dirs'
``wav.scp`` / ``utt2spk`` / ``segments`` or the lists and speaker map, by content hash; each
audio file's size and modification time, or with ``--verify`` its SHA-256; the options). A
rerun with nothing changed prints "up to date" and does nothing; otherwise it says what
changed and recomputes. ``--force`` always recomputes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from pase.bin import cli
from pase.data.data_cfg import (
    SplitError,
    build_data_cfg,
    held_out_speakers,
    held_out_utterances,
    lookup_speaker,
    read_file_list,
    read_speaker_map,
)
from pase.data.items import AudioItem, from_datadir
from pase.data.validate import validate_items
from pase.io.atomic import write_json_atomic
from pase.io.audio import audio_instead_of
from pase.io.provenance import audio_files, audio_table, input_entry, make_stamp, up_to_date
from pase.io.provenance import write_stamp as write_provenance

log = logging.getLogger("pase-make-data-cfg")

Entry = tuple[AudioItem, str, Any]


PROG = "pase-make-data-cfg"


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface (original flags plus Kaldi data dirs)."""
    p = cli.parser(PROG, __doc__)
    g = p.add_argument_group("original flags (file lists relative to --data-root)")
    cli.add(g, "--data-root", original=True, help="folder the list entries are relative to")
    cli.add(g, "--train-scp", original=True, help="training file list, one name per line")
    cli.add(g, "--valid-scp", original=True, help="validation file list")
    cli.add(g, "--test-scp", original=True, help="test file list")
    cli.add(
        g,
        "--libri-dict",
        original=True,
        help="filename -> speaker map: JSON object, '<file> <spk>' text, or legacy .npy pickle",
    )
    k = p.add_argument_group("Kaldi data dirs (wav.scp, utt2spk, optional segments)")
    for split in SPLITS:
        cli.add(k, f"--{split}-dir", original=True, help=f"{split} data dir")
    cli.add(
        p,
        "--cfg-file",
        original=True,
        required=True,
        help="output JSON data cfg (written atomically)",
    )
    cli.add(
        p,
        "--valid-spk-ratio",
        old=["--val_ratio"],
        original=True,
        dest="valid_ratio",
        type=float,
        default=0.1,
        help="share of training speakers (or utterances with --split-by utterance) held out "
        "for validation when no validation set is given (default 0.1; 0 = none)",
    )
    cli.add(p, "--split-by", original=True, choices=("speaker", "utterance"), default="speaker")
    cli.add_seed(p, original=True, default=3)
    cli.add_skip_bad_audio(p, original=True)
    cli.add_nj(p, old=["--num_workers"], help="threads reading headers (default 4)")
    cli.add_channel(
        p,
        help="multi-channel audio: keep channel N (0-based) or 'mix' (average); recorded in "
        "each entry of the cfg (default: every file must be mono)",
    )
    cli.add_full_check(
        p,
        original=True,
        help="decode every file entirely (default: headers, the last frames of compressed "
        "files, and float files entirely for NaN/Inf)",
    )
    cli.add_rerun_options(p)
    return p


def _from_list(
    scp: str,
    root: str | None,
    spk_map: dict[str, Any] | None,
    where: str,
    channel: int | str | None = None,
) -> list[Entry]:
    out = []
    for fn in read_file_list(scp):
        spk = lookup_speaker(fn, spk_map, where=where) if spk_map is not None else None
        src = fn if root is None or os.path.isabs(fn) else os.path.join(root, fn)
        utt = os.path.splitext(fn)[0]
        item = AudioItem(utt, src, None if spk is None else str(spk), fn, channel=channel)
        out.append((item, fn, spk))
    return out


def _from_dir(path: str, channel: int | str | None = None) -> list[Entry]:
    return [(it, it.source, it.speaker) for it in from_datadir(path, channel=channel).items]


def _validate(entries: list[Entry], name: str, args: argparse.Namespace) -> list[Entry]:
    if not entries:
        return entries
    rep = validate_items(
        [e[0] for e in entries],
        skip_bad=args.skip_bad_audio,
        num_workers=args.nj,
        where=f"{name} split",
        full=getattr(args, "full_check", False),
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


SPLITS = ("train", "valid", "test")
#: options that change the cfg (recorded in the stamp); path options are made absolute
RESULT_OPTIONS = ("valid_ratio", "split_by", "seed", "skip_bad_audio", "channel", "full_check")
PATH_OPTIONS = (*(f"{s}_{k}" for s in SPLITS for k in ("dir", "scp")), "libri_dict")


def load_entries(args: argparse.Namespace) -> dict[str, list[Entry]]:
    """The items of each split from the data dirs or lists (nothing is read from audio)."""
    if (args.train_dir is None) == (args.train_scp is None):
        raise SplitError("give exactly one of --train_dir (Kaldi data dir) or --train_scp")
    spk_map = read_speaker_map(args.libri_dict) if args.libri_dict else None
    where = args.libri_dict or ""
    channel = getattr(args, "channel", None)

    def load(d: str | None, scp: str | None) -> list[Entry]:
        if d is not None and scp is not None:
            raise SplitError(f"give either a data dir ({d}) or a list ({scp}), not both")
        if d is not None:
            return _from_dir(d, channel)
        if scp is not None:
            return _from_list(scp, args.data_root, spk_map, where, channel)
        return []

    return {s: load(getattr(args, f"{s}_dir"), getattr(args, f"{s}_scp")) for s in SPLITS}


def input_files(args: argparse.Namespace) -> dict[str, str]:
    """label -> path of every text input the cfg is computed from."""
    out: dict[str, str] = {}
    for s in SPLITS:
        d = getattr(args, f"{s}_dir")
        if d is not None:
            for name in ("wav.scp", "utt2spk", "segments"):
                out[f"{s}_dir/{name}"] = os.path.join(d, name)
        scp = getattr(args, f"{s}_scp")
        if scp is not None:
            out[f"{s}_scp"] = scp
    if args.libri_dict:
        out["libri_dict"] = args.libri_dict
    return out


def build_stamp(
    args: argparse.Namespace, entries: dict[str, list[Entry]], *, verify: bool = False
) -> dict[str, Any]:
    """The provenance stamp (see :mod:`pase.io.provenance`) of the cfg these give."""
    opts: dict[str, Any] = {k: getattr(args, k, None) for k in RESULT_OPTIONS}
    opts["data_root"] = args.data_root
    for k in PATH_OPTIONS:
        v = getattr(args, k)
        opts[k] = None if v is None else os.path.abspath(v)
    sources = [it.source for part in entries.values() for it, _, _ in part]
    return make_stamp(
        PROG,
        options=opts,
        inputs={k: input_entry(p) for k, p in input_files(args).items()},
        audio=audio_table(audio_files(sources), verify=verify, num_workers=args.nj),
    )


def make_data_cfg(
    args: argparse.Namespace, entries: dict[str, list[Entry]] | None = None
) -> dict[str, Any]:
    """Build the cfg dict from parsed arguments (and the entries of :func:`load_entries`)."""
    if entries is None:
        entries = load_entries(args)
    train, valid, test = (entries[s] for s in SPLITS)
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


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(args: argparse.Namespace) -> None:
    msg = audio_instead_of(args.cfg_file, "the JSON data cfg to write (not overwritten)")
    if msg is not None:
        raise SplitError(msg)
    entries = load_entries(args)
    stamp = build_stamp(args, entries, verify=args.verify)
    if up_to_date(PROG, args.cfg_file, stamp, force=args.force, verify=args.verify, log=_say):
        return
    cfg = make_data_cfg(args, entries)
    write_json_atomic(args.cfg_file, cfg)
    write_provenance(args.cfg_file, stamp)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-data-cfg``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
