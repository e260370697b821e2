"""``pase-timit-synth``: write a small synthetic TIMIT-layout corpus (eSpeak NG voices).

Example::

    pase-timit-synth --train-speakers 8 --utts-per-speaker 6 /tmp/timit_synth

For tests and demos of ``egs/timit/asr1`` without the LDC corpus; see
:mod:`pase.corpus.synth_timit`.
"""

from __future__ import annotations

import argparse

from pase.bin.asr_common import run
from pase.corpus.synth_timit import make_synthetic_timit


def _main(a: argparse.Namespace) -> int:
    out = make_synthetic_timit(
        a.out,
        train_speakers=a.train_speakers,
        dev_speakers=a.dev_speakers,
        test_speakers=a.test_speakers,
        utts_per_speaker=a.utts_per_speaker,
        seed=a.seed,
        upper_case=not a.lower_case,
        jobs=a.jobs,
    )
    print(f"{out['speakers']} speakers, {out['utterances']} utterances in {a.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-timit-synth", description=__doc__.split("\n")[0])
    p.add_argument("out", help="corpus root to create")
    p.add_argument("--train-speakers", type=int, default=8)
    p.add_argument("--dev-speakers", type=int, default=2, help="taken from Kaldi's dev list")
    p.add_argument("--test-speakers", type=int, default=2, help="taken from the core test list")
    p.add_argument("--utts-per-speaker", type=int, default=6, help="SI/SX sentences (+2 SA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lower-case", action="store_true", help="lower-case file and folder names")
    p.add_argument("--jobs", type=int, default=None, help="parallel syntheses (default: CPUs)")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
