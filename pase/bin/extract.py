"""``pase-extract``: encode audio with a PASE/PASE+ encoder into a Kaldi ark/scp pair.

Examples::

    pase-extract --fe-cfg PASE+ --ckpt FE_e199.ckpt data/test ark,scp:feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt wav.scp ark,scp:/abs/feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt files.lst ark,scp:feats.ark,feats.scp   # one path per line

``<input>`` is a Kaldi data dir (``wav.scp``, optional ``segments``), a ``wav.scp`` file
(``<utt> <path or cmd |>``) or a list of audio files (one path per line; the utterance id is
the file name without extension). Features are ``(T, C)`` float32 matrices at 100 frames/s.
The ark and scp are written under temporary names and renamed when every utterance is done,
so a crash never leaves a partial scp.
"""

from __future__ import annotations

import argparse
import sys

import torch

from pase.bin import cli
from pase.extract import encoder_function, load_encoder
from pase.io.tables import parse_wspecifier, read_input

MODES = ("avg_norm", "avg_concat", "avg_norm_concat")
PROG = "pase-extract"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument("input", help="Kaldi data dir, wav.scp, or list of audio files")
    p.add_argument("wspecifier", help="ark,scp:feats.ark,feats.scp, ark:feats.ark, ark,t:-, ...")
    cli.add_fe_cfg(p)
    cli.add_ckpt(p)
    cli.add_seed(p, help="seed of the random weights without --ckpt")
    cli.add_device(p)
    p.add_argument("--mode", choices=MODES, help="original post-processing mode")
    p.add_argument("--chunk-seconds", type=float, default=20.0, help="long-audio piece length")
    p.add_argument("--peak-norm", action="store_true", help="divide each waveform by max |x|")
    cli.add_num_threads(p)
    cli.add_table_options(p)
    return p


def _main(args: argparse.Namespace) -> None:
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    wspec = parse_wspecifier(args.wspecifier)
    utts = read_input(args.input)
    if args.ckpt is None:
        print(
            f"{PROG}: WARNING: no --ckpt: random encoder weights (seed {args.seed})",
            file=sys.stderr,
        )
    model = load_encoder(args.fe_cfg, args.ckpt, args.device, seed=args.seed)
    encode = encoder_function(
        model, mode=args.mode, chunk_seconds=args.chunk_seconds, peak_normalize=args.peak_norm
    )
    cli.write_table(PROG, args, utts, wspec, encode, model.min_input_samples)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
