"""``pase-prepare-librispeech``: LibriSpeech subsets -> one Kaldi data dir (recipe stage 0).

Example::

    pase-prepare-librispeech /data/LibriSpeech data/train train-clean-100 train-clean-360
    pase-prepare-librispeech --skip-bad-audio /data/LibriSpeech data/dev_clean dev-clean
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli

PROG = "pase-prepare-librispeech"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument("corpus_dir", help="folder holding the subset folders and SPEAKERS.TXT")
    p.add_argument("data_dir", help="Kaldi data dir to write")
    p.add_argument("subsets", nargs="+", help="subset folder names, merged into one data dir")
    p.add_argument(
        "--speaker",
        choices=("reader", "chapter"),
        default="reader",
        help="speaker id: the reader (default) or <reader>-<chapter> (Kaldi's)",
    )
    p.add_argument(
        "--wav-format",
        choices=("path", "pipe"),
        default="path",
        help="wav.scp entries: absolute paths (default) or 'flac -c -d -s -- <quoted path> |'",
    )
    cli.add_skip_bad_audio(p)
    cli.add_nj(p, help="threads checking audio files (default 4)")
    cli.add_full_check(
        p,
        help="decode every flac entirely (default: header and last frames, which finds "
        "truncated files)",
    )
    return p


def _main(args: argparse.Namespace) -> None:
    from pase.corpus.librispeech import LibriSpeechError, prepare_librispeech
    from pase.io.audio import audio_instead_of
    from pase.io.datadir import validate_data_dir

    for path, expected in (
        (args.corpus_dir, "the LibriSpeech folder holding the subset folders"),
        (args.data_dir, "a Kaldi data dir to write"),
    ):
        msg = audio_instead_of(path, expected)
        if msg is not None:
            raise LibriSpeechError(msg)
    rep = prepare_librispeech(
        args.corpus_dir,
        args.subsets,
        args.data_dir,
        speaker=args.speaker,
        wav_format=args.wav_format,
        skip_bad=args.skip_bad_audio,
        jobs=args.nj,
        full_check=args.full_check,
    )
    validate_data_dir(args.data_dir)
    print(f"{PROG}: {args.data_dir}: {rep}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
