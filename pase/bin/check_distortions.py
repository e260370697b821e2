"""``pase-check-distortions``: check that a distortions config can be used for training.

Examples::

    pase-check-distortions conf/distortions/pase+.cfg
    pase-check-distortions --train-config conf/train_pase+.yaml   # its dtrans_cfg, if any

Builds the distortion chain as ``pase-train`` does (every key and value checked, the impulse
responses, noises and filters it names loaded, relative paths from the current folder) and
prints the distortions it applies. Exit status 1, with the reason, when the config cannot be
used (e.g. its data are missing); with ``--train-config`` and no ``dtrans_cfg`` in it there is
nothing to check (status 0).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from pase.bin import cli

PROG = "pase-check-distortions"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("dtrans_cfg", nargs="?", help="distortions config (JSON, original keys)")
    g.add_argument(
        "--train-config",
        help="pase-train YAML config: check its dtrans_cfg (nothing to check without one)",
    )
    return p


def train_config_dtrans(path: str) -> str | None:
    """The ``dtrans_cfg`` that ``pase-train --config <path>`` would use (None: none)."""
    from pase.train.options import build_parser as build_train_parser

    if not Path(path).is_file():
        raise ValueError(f"--train-config {path}: no such file")
    parser = build_train_parser()

    def fail(message: str) -> NoReturn:
        raise ValueError(f"--train-config {path}: {message}")

    parser.error = fail  # type: ignore[method-assign]  # one line, not pase-train's usage
    # the config may leave --net-cfg to the command line: give one so that parsing never
    # fails on it (it does not affect dtrans_cfg)
    args, _ = parser.parse_known_args(["--config", path, "--net-cfg", "workers"])
    return args.dtrans_cfg or None


def _main(a: argparse.Namespace) -> None:
    from pase.distortions import Distortions

    cfg = a.dtrans_cfg
    if a.train_config is not None:
        cfg = train_config_dtrans(a.train_config)
        if cfg is None:
            print(f"{PROG}: {a.train_config}: no dtrans_cfg, nothing to check", file=sys.stderr)
            return
    d = Distortions.from_config(cfg)
    names = ", ".join(d.names) or "none (every probability is 0)"
    print(f"{PROG}: {cfg}: usable; distortions: {names}", file=sys.stderr)


def _errors() -> tuple[type[BaseException], ...]:
    from pase.distortions import Codec2UnavailableError

    return (Codec2UnavailableError,)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, errors=_errors)


if __name__ == "__main__":
    sys.exit(main())
