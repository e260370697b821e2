"""``pase-train``: self-supervised PASE / PASE+ training (the original ``train.py`` flags).

    pase-train --config conf/train_pase+.yaml --data_cfg data/pase_data.json \\
        --stats data/stats_pase+.json --save_path exp/pase+ [--max_steps N]

Rerunning the same command resumes from the newest training state in ``--save_path`` (refused
when options or input files differ, unless ``--allow_config_change true``). One run per
``--save_path`` at a time. SIGTERM / SIGINT save a training state after the current step and
exit with 143 / 130; other errors print one message and exit with 1.
Multi-GPU / multi-node: ``torchrun --nproc_per_node N -m pase.bin.train ...``.
"""

from __future__ import annotations

import sys

from pase.data import AudioValidationError, DataConfigError
from pase.distortions import DistortionConfigError
from pase.io.audio import AudioError
from pase.io.datadir import DataDirError
from pase.io.lock import LockedError
from pase.models.checkpoint import CheckpointError
from pase.targets.stats import StatsError
from pase.train.options import parse_options
from pase.train.signals import Interrupted
from pase.train.trainer import TrainingError, train
from pase.workers.config import WorkersConfigError

ERRORS = (
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when done, 1 on an error, 143 / 130 when stopped by SIGTERM / SIGINT."""
    args = parse_options(argv)
    try:
        train(args)
    except Interrupted as e:
        print(f"pase-train: {e}", file=sys.stderr)
        return e.exit_code
    except ERRORS as e:
        print(f"pase-train: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
