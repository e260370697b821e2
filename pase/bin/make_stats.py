"""pase-make-stats: target normalisation statistics for self-supervised training.

The original's ``make_trainset_statistics.py`` (its snake_case flags work as they are:
``--data_root``, ``--out_file``, ...)::

    pase-make-stats --data-root data/LibriSpeech/wavs --data-cfg data/librispeech_data.cfg \\
        --net-cfg cfg/workers/workers+.cfg --out-file data/librispeech_stats_pase+.json

Reads ``--max-batches`` batches of ``--batch-size`` random ``--chunk-size``-sample windows of
the training split (clean: no random scaling, no distortions), computes the targets of the
workers cfg's regression workers batched on ``--device`` and accumulates per-channel mean /
std (``--std-mode pooled``: exact frame statistics; ``per_example``: the original's std of
per-chunk stds). At most one pass over the files, as the original (``ceil(files / batch)``
batches when that is fewer than ``--max-batches``). The output is JSON or ``.npz``, never a
pickle. A Kaldi data dir (``--data-dir``) can replace the JSON data cfg.

Reruns: ``<out-file>.stamp.json`` records what the statistics were computed from (the data
cfg's contents hash, or the data dir's ``wav.scp`` / ``utt2spk`` / ``segments``; the workers
cfg, a built-in name or a file, by contents hash; each audio file's size and modification
time, or with ``--verify`` its SHA-256; the options that change the result, i.e. all but
``--device`` and ``--num-workers``). A rerun with nothing changed prints "up to date" and
does nothing; otherwise it says what changed and recomputes. ``--force`` always recomputes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pase.bin import cli
from pase.bin.parser_values import STD_MODES
from pase.constants import HOP
from pase.train.options import str2bool

log = logging.getLogger("pase-make-stats")


PROG = "pase-make-stats"


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface (the original flags plus a few of ours)."""
    p = cli.parser(PROG, __doc__)
    o = {"original": True}
    cli.add(p, "--data-cfg", **o, default=None, help="JSON data cfg (pase-make-data-cfg)")
    cli.add(p, "--data-root", **o, default=None, help="folder the data cfg's filenames are in")
    cli.add(p, "--data-dir", **o, default=None, help="a Kaldi data dir instead of --data-cfg")
    cli.add(p, "--split", **o, default="train", help="data cfg split to read (default train)")
    cli.add(p, "--net-cfg", **o, required=True, help="workers cfg: workers, workers+ or a path")
    cli.add(p, "--out-file", **o, required=True, help="output statistics (.json or .npz)")
    cli.add(p, "--max-batches", **o, type=int, default=20)
    cli.add(p, "--chunk-size", **o, type=int, default=16000, help="samples per chunk")
    cli.add(p, "--batch-size", **o, type=int, default=100)
    cli.add_seed(p, **o, default=2)
    cli.add(p, "--std-mode", **o, choices=STD_MODES, default="pooled")
    cli.add(p, "--num-workers", **o, type=int, default=1, help="DataLoader worker processes")
    cli.add_device(p, **o)
    cli.add(
        p,
        "--hop-size",
        **o,
        type=int,
        default=HOP,
        help="must be 160 (accepted for the original's command lines)",
    )
    cli.add(
        p,
        "--exclude-keys",
        **o,
        nargs="*",
        default=None,
        help="original flag: targets to leave out (chunk keys are never included)",
    )
    cli.add(
        p,
        "--validate-audio",
        **o,
        nargs="?",
        const=True,
        default=False,
        type=str2bool,
        help="check every file first (missing, empty, truncated, not 16 kHz, NaN/Inf in float "
        "files, several channels without a channel choice); also --validate-audio true/false",
    )
    cli.add_channel(
        p,
        help="with --data-dir: multi-channel audio keeps channel N (0-based) or 'mix' "
        "(average); a data cfg records its own (default: every file must be mono)",
    )
    cli.add_rerun_options(p)
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(args: argparse.Namespace) -> None:
    from pase.targets.compute import StatsOptions, make_stats

    options = StatsOptions(
        split=args.split,
        data_root=args.data_root,
        max_batches=args.max_batches,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        seed=args.seed,
        std_mode=args.std_mode,
        hop_size=args.hop_size,
        validate_audio=args.validate_audio,
        channel=args.channel,
        exclude_keys=tuple(args.exclude_keys or ()),
    )
    make_stats(
        args.out_file,
        args.net_cfg,
        data_cfg=args.data_cfg,
        data_dir=args.data_dir,
        options=options,
        device=args.device,
        num_workers=args.num_workers,
        force=args.force,
        verify=args.verify,
        progress=sys.stderr.isatty(),
        log=log,
        say=_say,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-make-stats``."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
