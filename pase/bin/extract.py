"""``pase-extract``: encode audio with a PASE/PASE+ encoder into a Kaldi ark/scp pair.

Examples::

    pase-extract --cfg PASE+ --ckpt FE_e199.ckpt data/test ark,scp:feats.ark,feats.scp
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
from pathlib import Path

import torch

from pase.bin.cli import add_channel, add_skip_short, write_table
from pase.extract import encoder_function, load_encoder
from pase.io.tables import parse_wspecifier, read_input

MODES = ("avg_norm", "avg_concat", "avg_norm_concat")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pase-extract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="Kaldi data dir, wav.scp, or list of audio files")
    p.add_argument("wspecifier", help="ark,scp:feats.ark,feats.scp, ark:feats.ark, ark,t:-, ...")
    p.add_argument("--cfg", default="PASE+", help="frontend config: PASE, PASE+ or a .cfg path")
    p.add_argument(
        "--ckpt", help="encoder checkpoint (e.g. FE_e199.ckpt); seeded random weights if absent"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights without --ckpt")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--mode", choices=MODES, help="original post-processing mode")
    p.add_argument("--chunk-seconds", type=float, default=20.0, help="long-audio piece length")
    p.add_argument("--peak-norm", action="store_true", help="divide each waveform by max |x|")
    p.add_argument("--compression-method", type=int, help="Kaldi compression (e.g. 2)")
    p.add_argument("--utt2num-frames", type=Path, help="also write utt2num_frames here")
    p.add_argument("--num-threads", type=int, help="torch CPU threads")
    add_channel(p)
    add_skip_short(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    try:
        wspec = parse_wspecifier(args.wspecifier)
        utts = read_input(args.input)
        if args.ckpt is None:
            print(
                f"pase-extract: WARNING: no --ckpt: random encoder weights (seed {args.seed})",
                file=sys.stderr,
            )
        model = load_encoder(args.cfg, args.ckpt, args.device, seed=args.seed)
        encode = encoder_function(
            model, mode=args.mode, chunk_seconds=args.chunk_seconds, peak_normalize=args.peak_norm
        )
        write_table("pase-extract", args, utts, wspec, encode, model.min_input_samples)
    except (ValueError, OSError) as e:
        print(f"pase-extract: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
