"""``pase-compute-feats``: Kaldi MFCC / filterbank features into a Kaldi ark/scp pair (the
baseline counterpart of ``pase-extract``, with the same inputs and outputs).

Examples::

    pase-compute-feats --feat-type mfcc --deltas 2 data/test ark,scp:mfcc.ark,mfcc.scp
    pase-compute-feats --feat-type fbank --num-bins 40 wav.scp ark,scp:fb.ark,fb.scp

``<input>``: a Kaldi data dir (``wav.scp``, optional ``segments``), a ``wav.scp`` file or a
list of audio files. Definitions and options: ``pase.features.kaldi`` (Kaldi's, dither 0 by
default). The ark and scp appear atomically when every utterance is done.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pase.bin import cli

if TYPE_CHECKING:
    from pase.features.kaldi import KaldiFeatures

PROG = "pase-compute-feats"


def _bool(text: str) -> bool:
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text == "true"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument("input", help="Kaldi data dir, wav.scp, or list of audio files")
    p.add_argument("wspecifier", help="ark,scp:feats.ark,feats.scp, ark:feats.ark, ark,t:-, ...")
    p.add_argument("--feat-type", choices=("mfcc", "fbank"), required=True)
    p.add_argument("--num-ceps", type=int, default=13, help="MFCC: cepstra (13)")
    p.add_argument("--deltas", type=int, default=0, help="MFCC: delta order (2 -> 39 dims)")
    p.add_argument("--num-bins", type=int, help="mel bins (MFCC 23, fbank 40)")
    p.add_argument("--use-energy", type=_bool, help="true/false (MFCC true, fbank false)")
    p.add_argument("--dither", type=float, default=0.0, help="Kaldi dither (0: deterministic)")
    p.add_argument("--low-freq", type=float, default=20.0)
    p.add_argument("--high-freq", type=float, default=0.0, help="0: Nyquist; <0: offset")
    p.add_argument("--frame-length-ms", type=float, default=25.0)
    p.add_argument("--frame-shift-ms", type=float, default=10.0)
    cli.add_table_options(p)
    return p


def features_from_args(args: argparse.Namespace) -> KaldiFeatures:
    """The feature pipeline of the parsed command line."""
    from pase.features.kaldi import FrameOptions, KaldiFeatures

    frame = FrameOptions(
        dither=args.dither,
        low_freq=args.low_freq,
        high_freq=args.high_freq,
        frame_length_ms=args.frame_length_ms,
        frame_shift_ms=args.frame_shift_ms,
    )
    return KaldiFeatures(
        args.feat_type,
        num_ceps=args.num_ceps,
        deltas=args.deltas,
        num_bins=args.num_bins,
        use_energy=args.use_energy,
        frame=frame,
    )


def _main(args: argparse.Namespace) -> None:
    from pase.io.tables import parse_wspecifier, read_input

    wspec = parse_wspecifier(args.wspecifier)
    utts = read_input(args.input)
    feats = features_from_args(args)
    cli.write_table(PROG, args, utts, wspec, feats, feats.min_samples, what=f" ({args.feat_type})")


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, errors=(ImportError,))


if __name__ == "__main__":
    sys.exit(main())
