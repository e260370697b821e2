"""``pase-prepare-timit``: Kaldi data dirs train/dev/test from an LDC TIMIT tree.

Example::

    pase-prepare-timit /data/TIMIT data     # -> data/{train,dev,test}

See :func:`pase.corpus.timit.prepare_timit` for what is written and checked. The old name
``pase-timit-prepare`` is the same command.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-prepare-timit"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("timit", help="TIMIT root (holds TRAIN/ and TEST/, any letter case)")
    p.add_argument("data_dir", help="output folder for train/, dev/, test/")
    p.add_argument("--phone-map", help="60-48-39 phone map (default: the packaged Kaldi one)")
    cli.add(p, "--dev-spk-list", help="dev speaker list (default: Kaldi's 50 speakers)")
    cli.add(p, "--test-spk-list", help="test speaker list (default: the 24-speaker core test)")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.timit import prepare_timit

    counts = prepare_timit(
        a.timit,
        a.data_dir,
        phone_map=a.phone_map,
        dev_speakers=a.dev_spk_list,
        test_speakers=a.test_spk_list,
    )
    print(" ".join(f"{k}={v}" for k, v in counts.items()), "utterances")


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
