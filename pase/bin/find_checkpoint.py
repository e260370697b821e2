"""``pase-find-checkpoint``: print the path of the newest encoder checkpoint of a training run.

Example::

    ckpt=$(pase-find-checkpoint exp/train_pase+)     # -> exp/train_pase+/FE_e199.ckpt

The newest is the ``FE_e<epoch>.ckpt`` of the highest epoch in the ``--save-path`` folder of
``pase-train``; a folder without one is an error (exit status 1).
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli
from pase.train.outputs import latest_frontend_checkpoint

PROG = "pase-find-checkpoint"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("exp_dir", help="the training run's folder (pase-train --save-path)")
    return p


def _main(a: argparse.Namespace) -> None:
    ckpt = latest_frontend_checkpoint(a.exp_dir)
    if ckpt is None:
        raise ValueError(f"{a.exp_dir}: no FE_e<epoch>.ckpt (has pase-train run there?)")
    print(ckpt)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
