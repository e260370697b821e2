"""``pase-train``: self-supervised PASE / PASE+ training (the original ``train.py`` flags).

    pase-train --config conf/train_pase+.yaml --data_cfg data/pase_data.json \\
        --stats data/stats_pase+.json --save_path exp/pase+ [--max_steps N]

Rerunning the same command resumes from the newest training state in ``--save_path``.
Multi-GPU / multi-node: ``torchrun --nproc_per_node N -m pase.bin.train ...``.
"""

from __future__ import annotations

import sys

from pase.data import AudioValidationError, DataConfigError
from pase.distortions import DistortionConfigError
from pase.io.audio import AudioError
from pase.io.datadir import DataDirError
from pase.models.checkpoint import CheckpointError
from pase.targets import WorkersConfigError
from pase.targets.stats import StatsError
from pase.train.options import parse_options
from pase.train.trainer import Trainer, TrainingError

ERRORS = (
    TrainingError,
    AudioError,
    AudioValidationError,
    CheckpointError,
    DataConfigError,
    DataDirError,
    DistortionConfigError,
    StatsError,
    WorkersConfigError,
    ValueError,
    OSError,
)


def main(argv: list[str] | None = None) -> int:
    args = parse_options(argv)
    try:
        Trainer(args).fit()
    except ERRORS as e:
        print(f"pase-train: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
