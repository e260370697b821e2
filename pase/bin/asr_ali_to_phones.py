"""``pase-asr-ali-to-phones``: per-frame phone labels of an alignment dir.

Kaldi's ``ali-to-phones --per-frame``; the labels of ``pase-probe --task frame``.

Example::

    pase-asr-ali-to-phones --phone-set 39 exp/mono/ali_test data/test/phones39.ali

Writes ``<utt> <phone per 10 ms frame> ...`` lines (the alignment's frames: Kaldi MFCC frames,
25 ms window, 10 ms shift), in the lang's 48 phones or folded to the 39 scoring phones.
"""

from __future__ import annotations

import argparse

from pase.bin import cli
from pase.bin.parser_values import PHONE_SETS

PROG = "pase-asr-ali-to-phones"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("ali_dir", help="alignment dir (pase-asr-align)")
    p.add_argument("out", help="label file to write")
    p.add_argument(
        "--phone-set", choices=PHONE_SETS, default="39", help="48 (the lang's) or 39 (folded)"
    )
    p.add_argument("--phone-map", help="60-48-39 map (default: the packaged Kaldi TIMIT one)")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr.frame_labels import ali_to_phones

    print(ali_to_phones(a.ali_dir, a.out, a.phone_set, a.phone_map))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pase-asr-ali-to-phones``."""
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
