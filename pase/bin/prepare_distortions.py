"""``pase-prepare-distortions``: the data of the PASE+ distortions and the config that points at
it, in one folder.

Examples::

    # simulated impulse responses and noises (nothing to download)
    pase-prepare-distortions --train-dir data/train data/distortions
    # OpenSLR 28 (and MUSAN's noises), downloaded and unpacked beforehand
    pase-prepare-distortions --train-dir data/train --rirs-noises downloads/RIRS_NOISES \\
        --musan downloads/musan data/distortions
    pase-check-distortions data/distortions/distortions.json

Writes <out_dir>/distortions.json (original keys, PASE+ probabilities, absolute paths) and
prints its path: band-drop filters and the 16 -> 8 kHz low-pass filter designed here
(filters/*.npy), overlapping speech from the training set (overlap.lst; --train-dir), and
either OpenSLR 28's simulated room impulse responses and point-source noises (--rirs-noises,
plus MUSAN's noise folders with --musan) or seeded simulated ones (simulated/, and rooms/ for
image-method impulse responses when pyroomacoustics is installed; --rir-method). A rerun with the
same options, inputs and untouched files does nothing (--force remakes it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pase.bin import cli
from pase.bin.parser_values import ASSET_SETTINGS, RIR_METHODS

PROG = "pase-prepare-distortions"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out_dir", help="folder to write (distortions.json and its data)")
    p.add_argument(
        "--train-dir",
        help="training data dir: its audio is the overlapping speech (default: none)",
    )
    p.add_argument(
        "--rirs-noises",
        help="OpenSLR 28 RIRS_NOISES folder (or the folder holding it); default: simulated",
    )
    p.add_argument("--musan", help="MUSAN folder (or the folder holding it): add its noises")
    cli.add_seed(p)
    d = argparse.Namespace(**ASSET_SETTINGS)
    p.add_argument(
        "--num-bandrop", type=int, default=d.num_bandrop, help="band-stop filters (default 8)"
    )
    p.add_argument(
        "--num-noises", type=int, default=d.num_noises, help="simulated noises (default 6)"
    )
    p.add_argument(
        "--num-rirs", type=int, default=d.num_rirs, help="simulated impulse responses (default 12)"
    )
    p.add_argument(
        "--noise-seconds",
        type=float,
        default=d.noise_seconds,
        help="length of each simulated noise in s (default 10)",
    )
    p.add_argument(
        "--overlap-max-files",
        type=int,
        default=d.overlap_max_files,
        help="at most this many training files (a seeded subset) as overlapping speech; "
        "0: all (default 2000)",
    )
    p.add_argument(
        "--rir-method",
        choices=RIR_METHODS,
        default="auto",
        help="simulated impulse responses: image (image method, needs pyroomacoustics), "
        "simple (direct path + decaying noise), auto (image when pyroomacoustics is installed; "
        "default)",
    )
    cli.add_force(p, "remake the config and filters")
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(a: argparse.Namespace) -> None:
    from pase.distortions.assets import AssetSettings, prepare_distortions

    settings = AssetSettings(
        seed=a.seed,
        num_bandrop=a.num_bandrop,
        num_noises=a.num_noises,
        num_rirs=a.num_rirs,
        noise_seconds=a.noise_seconds,
        overlap_max_files=a.overlap_max_files,
        rirs_noises=a.rirs_noises,
        musan=a.musan,
        rir_method=a.rir_method,
    )
    res = prepare_distortions(a.out_dir, settings, train_dir=a.train_dir, force=a.force, say=_say)
    print(res.config)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pase-prepare-distortions``."""
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
