"""``pase-extract``: encode audio with a PASE/PASE+ encoder into a Kaldi ark/scp pair.

Examples::

    pase-extract --fe-cfg PASE+ --ckpt FE_e199.ckpt data/test ark,scp:feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt wav.scp ark,scp:/abs/feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt files.lst ark,scp:feats.ark,feats.scp   # one path per line
    arecord -q -r 16000 -c 1 -f S16_LE -t raw | pase-extract --stream --utt-id mic - ark:-
    sox in.wav -t raw -r 16000 -c 1 -e signed -b 16 - | \
        pase-extract --stream --segment-frames 100 - ark,scp:feats.ark,feats.scp

``<input>`` is a Kaldi data dir (``wav.scp``, optional ``segments``), a ``wav.scp`` file
(``<utt> <path or cmd |>``) or a list of audio files (one path per line; the utterance id is
the file name without extension). Features are ``(T, C)`` float32 matrices at 100 frames/s.
The ark and scp are written under temporary names and renamed when every utterance is done,
so a crash never leaves a partial scp.

``--stream`` encodes one signal of headerless PCM (16 kHz, mono, ``--stream-format`` s16le
by default, or f32le) read from standard input (``-``) or a file/FIFO as it arrives, with
the streaming encoder (same features as the offline extraction, 73.5 ms of look-ahead; see
docs/encoder.md, Streaming): one matrix ``--utt-id`` written at the end of the stream, or
with ``--segment-frames N`` a matrix every N frames as soon as they are ready, keyed
``<utt-id>-<first frame, 7 digits>``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pase.bin import cli
from pase.bin.parser_values import STREAM_FORMATS

if TYPE_CHECKING:
    from pase.io.tables import WSpecifier
    from pase.models.frontend import WaveFe

MODES = ("avg_norm", "avg_concat", "avg_norm_concat")
PROG = "pase-extract"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument(
        "input", help="Kaldi data dir, wav.scp, or list of audio files (--stream: raw PCM, - stdin)"
    )
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
    g = p.add_argument_group("streaming")
    g.add_argument(
        "--stream",
        action="store_true",
        help="encode raw 16 kHz mono PCM from <input> (- for stdin) as it arrives",
    )
    g.add_argument(
        "--stream-format",
        choices=STREAM_FORMATS,
        default="s16le",
        help="--stream sample format: 16-bit signed or 32-bit float, little-endian",
    )
    g.add_argument(
        "--utt-id", default="stream", metavar="ID", help="--stream: the utterance id written"
    )
    g.add_argument(
        "--segment-frames",
        type=int,
        metavar="N",
        help="--stream: write a matrix every N frames (keys <utt-id>-<first frame>)",
    )
    return p


def _main(args: argparse.Namespace) -> None:
    import torch

    from pase.extract import encoder_function, load_encoder
    from pase.io.tables import parse_wspecifier, read_input

    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    wspec = parse_wspecifier(args.wspecifier)
    if args.stream:
        _check_stream_options(args)
    else:
        for opt in ("utt_id", "segment_frames", "stream_format"):
            if getattr(args, opt) != build_parser().get_default(opt):
                raise ValueError(f"--{opt.replace('_', '-')} needs --stream")
        utts = read_input(args.input)
    if args.ckpt is None:
        print(
            f"{PROG}: WARNING: no --ckpt: random encoder weights (seed {args.seed})",
            file=sys.stderr,
        )
    model = load_encoder(args.fe_cfg, args.ckpt, args.device, seed=args.seed)
    if args.stream:
        _stream(args, model, wspec)
        return
    encode = encoder_function(
        model, mode=args.mode, chunk_seconds=args.chunk_seconds, peak_normalize=args.peak_norm
    )
    cli.write_table(PROG, args, utts, wspec, encode, model.min_input_samples)


def _check_stream_options(args: argparse.Namespace) -> None:
    """Refuse the options that need the whole signal (or many of them) with --stream."""
    whole = {
        "mode": "--mode (a mean over the whole utterance)",
        "peak_norm": "--peak-norm (the peak of the whole utterance)",
        "channel": "--channel (--stream reads mono PCM)",
        "skip_short": "--skip-short (one utterance: too short is an error)",
    }
    for opt, what in whole.items():
        if getattr(args, opt):
            raise ValueError(f"{what} cannot be used with --stream")
    if args.chunk_seconds != build_parser().get_default("chunk_seconds"):
        raise ValueError("--chunk-seconds does not apply to --stream (pieces as they arrive)")


def _stream(args: argparse.Namespace, model: WaveFe, wspec: WSpecifier) -> None:
    """--stream: the library's streaming writer on stdin or the named file."""
    from pase.extract import write_stream_features
    from pase.io.tables import input_files

    if args.input == "-":
        source, protect = sys.stdin.buffer, []
    else:
        source, protect = open(args.input, "rb"), input_files(args.input)
    with source:
        written = write_stream_features(
            model,
            source,
            wspec,
            args.utt_id,
            fmt=args.stream_format,
            segment_frames=args.segment_frames,
            compression_method=args.compress,
            utt2num_frames=args.utt2num_frames,
            protect=protect,
        )
    print(
        f"{PROG}: wrote {len(written)} {'matrix' if len(written) == 1 else 'matrices'}, "
        f"{sum(written.values())} frames "
        f"to {wspec.ark or 'standard output'}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, jemalloc=True)


if __name__ == "__main__":
    sys.exit(main())
