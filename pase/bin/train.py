"""``pase-train``: self-supervised PASE / PASE+ training (the original ``train.py`` flags).

    pase-train --config conf/train_pase+.yaml --data-cfg data/pase_data.json \\
        --stats data/stats_pase+.json --save-path exp/pase+ [--max-steps N]

Every flag also takes the original's snake_case spelling (``--data_cfg``, ``--save_path``).
Rerunning the same command resumes from the newest training state in ``--save-path`` (refused
when options or input files differ, unless ``--allow-config-change true``). One run per
``--save-path`` at a time. SIGTERM / SIGINT save a training state after the current step and
exit with 143 / 130; other errors print one message and exit with 1.
Multi-GPU / multi-node: ``torchrun --nproc_per_node N -m pase.bin.train ...``.
"""

from __future__ import annotations

import sys

import configargparse

from pase.allocator import use_fast_allocator
from pase.bin import cli

# light (configargparse and the standard library): the parser; the trainer (torch) is imported
# after parsing, so that --help is fast
from pase.train.options import build_parser as build_train_parser
from pase.train.options import parse_options

PROG = "pase-train"


def errors() -> tuple[type[BaseException], ...]:
    """The errors ``pase-train`` reports in one line (status 1), imported when called."""
    from pase.data import AudioValidationError, DataConfigError
    from pase.distortions import DistortionConfigError
    from pase.io.audio import AudioError
    from pase.io.datadir import DataDirError
    from pase.io.lock import LockedError
    from pase.models.checkpoint import CheckpointError
    from pase.targets.stats import StatsError
    from pase.train.trainer import TrainingError
    from pase.workers.config import WorkersConfigError

    return (
        TrainingError,
        AudioError,
        AudioValidationError,
        CheckpointError,
        DataConfigError,
        DataDirError,
        DistortionConfigError,
        LockedError,
        StatsError,
        WorkersConfigError,
        ValueError,
        OSError,
    )


def build_parser() -> configargparse.ArgumentParser:
    """``pase.train.options``' parser with the vocabulary's help and abbreviations."""
    return build_train_parser(
        cli.with_vocabulary(configargparse.ArgumentParser), cli.DefaultsHelpFormatter
    )


def _train(args) -> int:
    from pase.train.signals import Interrupted
    from pase.train.trainer import train

    try:
        train(args)
    except Interrupted as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return e.exit_code
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when done, 1 on an error, 143 / 130 when stopped by SIGTERM / SIGINT."""
    args = parse_options(argv, build_parser())

    def go() -> int:
        if argv is None:  # the command line: restart with jemalloc when installed
            use_fast_allocator()
        return _train(args)

    return cli.call(PROG, go, errors)


if __name__ == "__main__":
    sys.exit(main())
