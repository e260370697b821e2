"""``pase-synth-voxceleb``: make a small synthetic VoxCeleb1-layout corpus (eSpeak NG voices,
a recording channel per video) in ``<out-dir>``: ``wav/<speaker>/<video>/<nnnnn>.wav`` and
``iden_split.txt``, for ``egs/voxceleb/sid1`` without VoxCeleb.

Examples::

    pase-synth-voxceleb corpus                     # 12 speakers x 3 videos x 4 utterances
    pase-synth-voxceleb --num-speakers 40 --videos 4 --utterances 5 --seed 3 corpus40

Each speaker has 2 dev and 2 test utterances (``--dev-per-speaker``, ``--test-per-speaker``),
the rest is training. The same settings give the same files; a rerun with the same settings
does nothing (``--force`` regenerates). See ``pase.corpus.synth_voxceleb``.
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli
from pase.bin.parser_values import SYNTH_VOXCELEB_SETTINGS

PROG = "pase-synth-voxceleb"


def build_parser() -> argparse.ArgumentParser:
    d = argparse.Namespace(**SYNTH_VOXCELEB_SETTINGS)
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out_dir", help="corpus root to create")
    p.add_argument("--num-speakers", type=int, default=d.num_speakers, help="(default 12)")
    p.add_argument("--videos", type=int, default=d.videos, help="per speaker (default 3)")
    p.add_argument("--utterances", type=int, default=d.utterances, help="per video (default 4)")
    p.add_argument("--dev-per-speaker", type=int, default=d.dev_per_speaker, help="(default 2)")
    p.add_argument("--test-per-speaker", type=int, default=d.test_per_speaker, help="(default 2)")
    p.add_argument(
        "--sentences", type=int, default=d.sentences, help="sentences per utterance (default 1)"
    )
    cli.add_seed(p)
    cli.add_nj(p, default=None, help="parallel eSpeak processes (default: CPU count)")
    cli.add_force(p, "regenerate")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.synth_voxceleb import VoxSynthSettings, make_synthetic_voxceleb

    settings = VoxSynthSettings(
        num_speakers=a.num_speakers, videos=a.videos, utterances=a.utterances,
        dev_per_speaker=a.dev_per_speaker, test_per_speaker=a.test_per_speaker,
        sentences=a.sentences, seed=a.seed,
    )  # fmt: skip
    make_synthetic_voxceleb(
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
