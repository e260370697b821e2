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
import sys
from collections.abc import Sequence

from pase.bin import cli
from pase.bin.parser_values import DATA_CFG_SPLITS

log = logging.getLogger("pase-make-data-cfg")

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
    for split in DATA_CFG_SPLITS:
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


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(args: argparse.Namespace) -> None:
    from pase.data.data_cfg import DataCfgOptions, DataCfgSources, write_data_cfg

    sources = DataCfgSources(
        train_dir=args.train_dir,
        valid_dir=args.valid_dir,
        test_dir=args.test_dir,
        train_scp=args.train_scp,
        valid_scp=args.valid_scp,
        test_scp=args.test_scp,
        libri_dict=args.libri_dict,
        data_root=args.data_root,
    )
    options = DataCfgOptions(
        valid_ratio=args.valid_ratio,
        split_by=args.split_by,
        seed=args.seed,
        skip_bad_audio=args.skip_bad_audio,
        channel=args.channel,
        full_check=args.full_check,
    )
    write_data_cfg(
        args.cfg_file,
        sources,
        options,
        nj=args.nj,
        force=args.force,
        verify=args.verify,
        log=log,
        say=_say,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-data-cfg``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
