"""``pase-timit-prepare``: Kaldi data dirs train/dev/test from an LDC TIMIT tree.

Example::

    pase-timit-prepare /data/TIMIT data     # -> data/{train,dev,test}

See :func:`pase.corpus.timit.prepare_timit` for what is written and checked.
"""

from __future__ import annotations

import argparse

from pase.bin.asr_common import run
from pase.corpus.timit import prepare_timit


def _main(a: argparse.Namespace) -> int:
    counts = prepare_timit(
        a.timit, a.data_dir, phone_map=a.phone_map, dev_speakers=a.dev_spk, test_speakers=a.test_spk
    )
    print(" ".join(f"{k}={v}" for k, v in counts.items()), "utterances")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-timit-prepare", description=__doc__.split("\n")[0])
    p.add_argument("timit", help="TIMIT root (holds TRAIN/ and TEST/, any letter case)")
    p.add_argument("data_dir", help="output folder for train/, dev/, test/")
    p.add_argument("--phone-map", help="60-48-39 phone map (default: the packaged Kaldi one)")
    p.add_argument("--dev-spk", help="dev speaker list (default: Kaldi's 50 speakers)")
    p.add_argument("--test-spk", help="test speaker list (default: the 24-speaker core test)")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
