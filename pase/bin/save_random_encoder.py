"""``pase-save-random-encoder``: save a seeded, untrained encoder as a checkpoint.

Example::

    pase-save-random-encoder --fe-cfg PASE+ --seed 0 exp/pase_random/FE_random.ckpt

The weights are those ``pase-extract`` / ``pase-dump-feats`` use without ``--ckpt`` for the same
``--seed``; saved once, every job and data set of a recipe reads the same network. The file is
a raw state_dict like ``FE_e199.ckpt`` (readable by the original PASE too), written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pase.bin import cli

PROG = "pase-save-random-encoder"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="checkpoint to write (e.g. exp/pase_random/FE_random.ckpt)")
    cli.add_fe_cfg(p)
    cli.add_seed(p, help="seed of the random weights (default 0)")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.extract import load_encoder
    from pase.io.atomic import torch_save_atomic

    model = load_encoder(a.fe_cfg, None, "cpu", seed=a.seed)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    torch_save_atomic(model.state_dict(), a.out)
    print(f"{PROG}: random {a.fe_cfg} encoder (seed {a.seed}) in {a.out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
