"""``pase-synth-iemocap``: make a small synthetic corpus in the IEMOCAP release layout (eSpeak
NG voices, four emotions as prosody, evaluation files in the release's format) in
``<out_dir>/IEMOCAP_full_release``.

Examples::

    pase-synth-iemocap corpus          # 5 sessions x 2 actors x (4 classes x 3 + 1 other)
    pase-synth-iemocap --utts-per-emotion 10 --other-per-speaker 3 --seed 1 corpus
    pase-prepare-iemocap corpus/IEMOCAP_full_release data

A rerun with the same settings does nothing (``--force`` regenerates).
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli
from pase.bin.parser_values import SYNTH_IEMOCAP_SETTINGS

PROG = "pase-synth-iemocap"


def build_parser() -> argparse.ArgumentParser:
    d = argparse.Namespace(**SYNTH_IEMOCAP_SETTINGS)
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument(
        "out_dir", help="output folder (the tree goes to <out_dir>/IEMOCAP_full_release)"
    )
    p.add_argument("--num-sessions", type=int, default=d.num_sessions, help="sessions (5)")
    p.add_argument(
        "--utts-per-emotion",
        type=int,
        default=d.utts_per_emotion,
        help=f"turns per actor and class ({d.utts_per_emotion})",
    )
    p.add_argument(
        "--other-per-speaker",
        type=int,
        default=d.other_per_speaker,
        help=f"turns per actor with a code outside the 4 classes ({d.other_per_speaker})",
    )
    p.add_argument(
        "--dialogs-per-session",
        type=int,
        default=d.dialogs_per_session,
        help=f"dialogs per session ({d.dialogs_per_session})",
    )
    cli.add_seed(p)
    cli.add_nj(p, default=None, help="parallel eSpeak processes (default: CPU count)")
    cli.add_force(p, "regenerate")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.synth_iemocap import SynthIemocapSettings, make_synthetic_iemocap

    settings = SynthIemocapSettings(
        num_sessions=a.num_sessions,
        utts_per_emotion=a.utts_per_emotion,
        other_per_speaker=a.other_per_speaker,
        dialogs_per_session=a.dialogs_per_session,
        seed=a.seed,
    )
    make_synthetic_iemocap(
        a.out_dir,
        settings,
        jobs=a.nj,
        force=a.force,
        log=lambda m: print(f"{PROG}: {m}", file=sys.stderr),
    )


def _errors() -> tuple[type[BaseException], ...]:
    from pase.corpus.espeak import EspeakUnavailable

    return (EspeakUnavailable,)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, errors=_errors)


if __name__ == "__main__":
    sys.exit(main())
