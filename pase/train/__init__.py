"""Self-supervised training of PASE / PASE+ encoders with workers (see docs/training.md).

- :mod:`pase.train.schedules`: learning-rate schedules (pure functions of the step);
- :mod:`pase.train.options`: the ``pase-train`` options (original flags + ours, YAML config);
- :mod:`pase.train.state`: full training-state checkpoints, atomic, rotated, resumable;
- :mod:`pase.train.monitor`: train.log, TensorBoard, loss history and curves;
- :mod:`pase.train.trainer`: the training loop (single process or DDP via torchrun).
"""
