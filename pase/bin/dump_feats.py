"""``pase-dump-feats``: dump PASE/PASE+ (or Kaldi MFCC/fbank) features of a data dir to Kaldi
ark/scp with parallel jobs, resumably (recipe stage 4; ``pase.features.dump`` has the details).

Examples::

    pase-dump-feats --ckpt exp/pase+/FE_e199.ckpt --nj 8 --cmd "utils/run.pl" \\
        data/dev_clean dump/pase+/dev_clean
    pase-dump-feats --feat-type mfcc --deltas 2 --cmvn speaker data/test dump/mfcc/test
    pase-dump-feats --ckpt FE_e199.ckpt --cmvn global --apply-cmvn --norm-vars \\
        data/train dump/pase+/train
    pase-dump-feats --ckpt FE_e199.ckpt --cmvn-stats dump/pase+/train/applied_cmvn.ark \\
        --apply-cmvn --norm-vars data/test dump/pase+/test      # train's stats on test

Result: ``<dump-dir>/feats.scp`` (sorted), ``utt2num_frames``, ``feat_dim``, the data dir's
files, ``cmvn.ark`` (+ ``cmvn.scp`` per speaker) when stats were computed but not applied.
Rerunning after a failure or kill redoes only the unfinished jobs; rerunning after the audio,
the data dir, the checkpoint, the frontend config or the options changed redoes the dump (the
log says what changed; ``--verify`` compares the audio by content instead of size and mtime).
The dump dir must be new, empty or an earlier dump: any other folder is refused.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING

from pase.bin import cli, compute_feats

if TYPE_CHECKING:
    from pase.features.dump import DumpOptions

PROG = "pase-dump-feats"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument("data_dir", help="Kaldi data dir (wav.scp, utt2spk, optional segments)")
    p.add_argument("dump_dir", help="output dir (e.g. dump/pase+/train)")
    g = p.add_argument_group("jobs")
    cli.add_nj(g)
    g.add_argument(
        "--cmd",
        default="utils/run.pl",
        help='job launcher, e.g. "utils/run.pl" or "utils/slurm.pl --mem 4G"',
    )
    cli.add_rerun_options(g, "redo everything")
    cli.add_channel(g)
    cli.add_skip_short(g)
    g = p.add_argument_group("features")
    g.add_argument("--feat-type", choices=("pase", "mfcc", "fbank"), default="pase")
    cli.add_fe_cfg(g, help="PASE, PASE+ or a frontend .cfg (pase)")
    cli.add_ckpt(
        g,
        help="encoder checkpoint, e.g. FE_e199.ckpt (pase; random weights if absent)",
    )
    cli.add_device(g, help="cpu, cuda, cuda:N, auto (pase)")
    g.add_argument("--mode", help="original post-processing mode (pase)")
    g.add_argument("--chunk-seconds", type=float, default=20.0, help="long-audio pieces (pase)")
    g.add_argument("--peak-norm", action="store_true", help="peak-normalise waveforms (pase)")
    cli.add_num_threads(g, default=1, help="torch threads per job (pase)")
    g.add_argument("--num-ceps", type=int, help="MFCC cepstra (13)")
    g.add_argument("--deltas", type=int, help="MFCC delta order (e.g. 2)")
    g.add_argument("--num-bins", type=int, help="mel bins (MFCC 23, fbank 40)")
    g.add_argument(
        "--kaldi-args",
        default="",
        help='more pase-compute-feats options, e.g. "--dither 1 --low-freq 40"',
    )
    g = p.add_argument_group("normalisation and storage")
    g.add_argument(
        "--cmvn",
        choices=("none", "global", "speaker"),
        default="none",
        help="compute Kaldi cmvn stats of these features",
    )
    g.add_argument(
        "--apply-cmvn",
        action="store_true",
        help="write normalised features (stats kept as applied_cmvn.ark)",
    )
    g.add_argument("--norm-vars", action="store_true", help="also normalise variances")
    g.add_argument("--cmvn-stats", help="use these stats (e.g. train's) instead of computing")
    g.add_argument(
        "--dtype",
        choices=("float32", "float16"),
        default="float32",
        help="float16: half the size, readable by kaldiio/ESPnet but not Kaldi",
    )
    cli.add_compress(g)
    return p


def kaldi_options(args: argparse.Namespace) -> dict:
    """The mfcc/fbank pipeline of ``--num-ceps``, ``--deltas``, ``--num-bins`` and
    ``--kaldi-args`` (parsed as ``pase-compute-feats`` options), as plain values."""
    if args.feat_type == "pase":
        return {}
    words = []
    for flag, value in (
        ("--num-ceps", args.num_ceps),
        ("--deltas", args.deltas),
        ("--num-bins", args.num_bins),
    ):
        if value is not None:
            words += [flag, str(value)]
    words += shlex.split(args.kaldi_args)
    parsed = compute_feats.build_parser().parse_args(
        ["--feat-type", args.feat_type, *words, "-", "-"]
    )
    spec = compute_feats.features_from_args(parsed).to_dict()
    spec.pop("feat_type")
    return spec


def options_from_args(args: argparse.Namespace) -> DumpOptions:
    from pase.features.dump import DumpOptions

    return DumpOptions(
        feat_type=args.feat_type,
        nj=args.nj,
        cmd=args.cmd,
        pase_cfg=args.fe_cfg,
        pase_ckpt=args.ckpt,
        device=args.device,
        mode=args.mode,
        chunk_seconds=args.chunk_seconds,
        peak_norm=args.peak_norm,
        num_threads=args.num_threads,
        kaldi=kaldi_options(args),
        cmvn=args.cmvn,
        apply_cmvn=args.apply_cmvn,
        norm_vars=args.norm_vars,
        cmvn_stats=args.cmvn_stats,
        dtype=args.dtype,
        compress=args.compress,
        skip_short=args.skip_short,
        channel=args.channel,
    )


def _main(args: argparse.Namespace) -> None:
    from pase.features.dump import dump_features

    dump_features(
        args.data_dir,
        args.dump_dir,
        options_from_args(args),
        force=args.force,
        verify=args.verify,
        log=lambda m: print(f"{PROG}: {m}", file=sys.stderr, flush=True),
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, jemalloc=True)


if __name__ == "__main__":
    sys.exit(main())
