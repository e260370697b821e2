"""``pase-synth-timit``: write a small synthetic TIMIT-layout corpus (eSpeak NG voices).

Example::

    pase-synth-timit --train-speakers 8 --utts-per-speaker 6 /tmp/timit_synth

For tests and demos of ``egs/timit/asr1`` without the LDC corpus; see
:mod:`pase.corpus.synth_timit`. The old name ``pase-timit-synth`` is the same command.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-synth-timit"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="corpus root to create")
    p.add_argument("--train-speakers", type=int, default=8)
    p.add_argument("--dev-speakers", type=int, default=2, help="taken from Kaldi's dev list")
    p.add_argument("--test-speakers", type=int, default=2, help="taken from the core test list")
    p.add_argument("--utts-per-speaker", type=int, default=6, help="SI/SX sentences (+2 SA)")
    cli.add_seed(p)
    p.add_argument("--lower-case", action="store_true", help="lower-case file and folder names")
    cli.add_nj(p, default=None, help="parallel syntheses (default: CPUs)")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.synth_timit import make_synthetic_timit

    out = make_synthetic_timit(
        a.out,
        train_speakers=a.train_speakers,
        dev_speakers=a.dev_speakers,
        test_speakers=a.test_speakers,
        utts_per_speaker=a.utts_per_speaker,
        seed=a.seed,
        upper_case=not a.lower_case,
        jobs=a.nj,
    )
    print(f"{out['speakers']} speakers, {out['utterances']} utterances in {a.out}")


def _errors() -> tuple[type[BaseException], ...]:
    from pase.corpus.espeak import EspeakUnavailable

    return (EspeakUnavailable,)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, errors=_errors, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
