"""``pase-synth-librispeech``: make the small synthetic LibriSpeech-layout corpus (eSpeak NG
voices, noises, impulse responses, filters and a distortions config) in ``<out_dir>``.

Example::

    pase-synth-librispeech corpus                       # default: 16 voices, ~5 min, ~7 MB
    pase-synth-librispeech --subset train-clean-5:20:2:5 --subset dev-clean-2:4:1:5 corpus

``--subset NAME:SPEAKERS:CHAPTERS:UTTERANCES`` (repeatable) replaces the default subsets.
A rerun with the same settings does nothing (``--force`` regenerates).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pase.bin import cli

if TYPE_CHECKING:
    from pase.corpus.synth_librispeech import SubsetSpec


def _subset(text: str) -> tuple[str, SubsetSpec]:
    from pase.corpus.synth_librispeech import SubsetSpec

    try:
        name, spk, chap, utt = text.split(":")
        return name, SubsetSpec(int(spk), int(chap), int(utt))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME:SPEAKERS:CHAPTERS:UTTERANCES, got {text!r}"
        ) from None


PROG = "pase-synth-librispeech"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__)
    p.add_argument("out_dir")
    p.add_argument("--subset", type=_subset, action="append", help="NAME:SPK:CHAPTERS:UTTS")
    cli.add_seed(p)
    p.add_argument("--num-noises", type=int, default=5)
    p.add_argument("--num-rirs", type=int, default=6)
    p.add_argument(
        "--overlap-subset",
        help="subset used as interfering speech "
        "(default: test-clean-2 when present, else the last subset)",
    )
    cli.add_nj(p, default=None, help="parallel eSpeak processes (default: CPU count)")
    cli.add_force(p, "regenerate")
    return p


def _main(args: argparse.Namespace) -> None:
    from pase.corpus.synth_librispeech import SynthSettings, make_synthetic_librispeech

    kw: dict = {"seed": args.seed, "num_noises": args.num_noises, "num_rirs": args.num_rirs}
    if args.subset:
        kw["subsets"] = dict(args.subset)
        names = list(kw["subsets"])
        kw["overlap_subset"] = args.overlap_subset or (
            "test-clean-2" if "test-clean-2" in names else names[-1]
        )
    elif args.overlap_subset:
        kw["overlap_subset"] = args.overlap_subset
    make_synthetic_librispeech(
        args.out_dir,
        SynthSettings(**kw),
        jobs=args.nj,
        force=args.force,
        log=lambda m: print(f"{PROG}: {m}", file=sys.stderr),
    )


def _errors() -> tuple[type[BaseException], ...]:
    from pase.corpus.espeak import EspeakUnavailable

    return (EspeakUnavailable,)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, errors=_errors)


if __name__ == "__main__":
    sys.exit(main())
