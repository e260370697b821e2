"""``pase-prepare-openslr-rirs``: put the OpenSLR-26 simulated_rirs_16k impulse responses into
a distortions config (reverb_data_root, reverb_fmt, reverb_irfiles).

Example (the original's ``data/prep/prepare_openslr_rirs_cfg.py`` flags work as they are)::

    pase-prepare-openslr-rirs --data-root data/simulated_rirs_16k \\
        --existing-cfg conf/distortions/pase+.cfg --out-file data/distortions_openslr.cfg

Other keys of ``--existing-cfg`` are kept (it may be the ``--out-file`` itself); see
:mod:`pase.corpus.openslr_rirs`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pase.bin import cli
from pase.bin.parser_values import OPENSLR_ROOMS as ROOMS

if TYPE_CHECKING:
    from pase.corpus.openslr_rirs import RirListError, prepare_cfg, read_rir_list, select_rirs

__all__ = ["RirListError", "build_parser", "main", "prepare_cfg", "read_rir_list", "select_rirs"]
PROG = "pase-prepare-openslr-rirs"
#: the names of :mod:`pase.corpus.openslr_rirs` this module gives too, imported on first use
#: (that module imports torch: ``--help`` does not need it)
_LIBRARY = ("RirListError", "prepare_cfg", "read_rir_list", "select_rirs")


def __getattr__(name: str) -> Any:
    if name in _LIBRARY:
        from pase.corpus import openslr_rirs

        return getattr(openslr_rirs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    cli.add(p, "--data-root", original=True, required=True, help="the simulated_rirs_16k folder")
    cli.add(p, "--out-file", original=True, required=True, help="distortions JSON to write")
    cli.add(
        p,
        "--existing-cfg",
        original=True,
        default=None,
        help="distortions JSON whose other keys are kept (may equal --out-file)",
    )
    for room in ROOMS:
        cli.add(
            p,
            f"--{room.replace('room', '')}-room-ratio",
            original=True,
            type=float,
            default=1.0,
            help=f"fraction of the {room} impulse responses to keep (default 1)",
        )
    cli.add_seed(p, original=True, help="seed of the ratio subsampling (default 0)")
    cli.add(
        p,
        "--no-check",
        original=True,
        action="store_true",
        help="do not check that every listed wav exists",
    )
    return p


def _main(args: argparse.Namespace) -> None:
    from pase.corpus.openslr_rirs import prepare_cfg

    ratios = {room: getattr(args, f"{room.replace('room', '')}_room_ratio") for room in ROOMS}
    cfg = prepare_cfg(
        args.data_root,
        args.out_file,
        args.existing_cfg,
        ratios,
        seed=args.seed,
        check_files=not args.no_check,
    )
    print(
        f"wrote {len(cfg['reverb_irfiles'])} impulse responses to {args.out_file}", file=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
