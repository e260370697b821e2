"""``pase-prepare-iemocap``: IEMOCAP sessions -> one Kaldi data dir each, 4 emotion classes
(recipe stage 0).

Examples::

    pase-prepare-iemocap /data/IEMOCAP_full_release data          # data/Session1..5
    pase-prepare-iemocap --sessions 1,2 --skip-bad-audio /data/IEMOCAP_full_release data

Writes ``<out-dir>/Session<N>/{wav.scp,utt2spk,spk2utt,utt2emo,utt2num_samples,utt2dur,
spk2gender}`` and ``<out-dir>/emotion_counts.tsv``. Classes: neu, hap (hap + exc), ang, sad;
turns with other codes (fru, sur, fea, dis, oth, xxx) are dropped and counted. Speakers are
session + speaking actor (``Ses01F``, ``Ses01M``); utterance ids ``<speaker>-<turn>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pase.bin import cli
from pase.bin.parser_values import IEMOCAP_MIN_SECONDS as MIN_SECONDS
from pase.bin.parser_values import IEMOCAP_SESSIONS as SESSIONS

PROG = "pase-prepare-iemocap"


def _sessions(text: str) -> list[int]:
    try:
        out = [int(w) for w in text.replace(",", " ").split()]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"expected session numbers like '1 2 3', got {text!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("corpus_dir", help="the IEMOCAP release folder holding Session1..5")
    p.add_argument("out_dir", help="folder for the session data dirs (e.g. data)")
    p.add_argument(
        "--sessions",
        type=_sessions,
        default=list(SESSIONS),
        help="session numbers, e.g. '1 2 3' or 1,2,3 (default: 1-5)",
    )
    p.add_argument(
        "--min-seconds",
        type=float,
        default=MIN_SECONDS,
        help=f"shortest usable turn in seconds (default {MIN_SECONDS})",
    )
    cli.add_skip_bad_audio(p)
    cli.add_nj(p, help="threads checking audio files (default 4)")
    cli.add_full_check(p, help="decode every wav entirely (default: headers only)")
    return p


def _main(args: argparse.Namespace) -> None:
    from pase.corpus.iemocap import IemocapError, prepare_iemocap
    from pase.io.audio import audio_instead_of

    for path, expected in (
        (args.corpus_dir, "the IEMOCAP folder holding Session1..5"),
        (args.out_dir, "a folder for the session data dirs"),
    ):
        msg = audio_instead_of(path, expected)
        if msg is not None:
            raise IemocapError(msg)
    rep = prepare_iemocap(
        args.corpus_dir,
        args.out_dir,
        sessions=args.sessions,
        min_seconds=args.min_seconds,
        skip_bad=args.skip_bad_audio,
        jobs=args.nj,
        full_check=args.full_check,
    )
    out = Path(args.out_dir)
    print(f"{PROG}: {rep}", file=sys.stderr)
    print(
        f"{PROG}: made {', '.join(str(out / s) for s in rep.kept)}; counts in "
        f"{out / 'emotion_counts.tsv'}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
