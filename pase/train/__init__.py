"""Self-supervised training of PASE / PASE+ encoders with workers (see docs/training.md).

- :mod:`pase.train.schedules`: learning-rate schedules (pure functions of the step);
- :mod:`pase.train.options`: the ``pase-train`` options (original flags + ours, YAML config);
- :mod:`pase.train.state`: full training-state checkpoints, atomic, rotated, resumable;
- :mod:`pase.train.monitor`: train.log, TensorBoard, loss history and curves;
- :mod:`pase.train.fingerprint`: what a resumed run must share with the saved one;
- :mod:`pase.train.signals`: graceful stop on SIGTERM / SIGINT (state saved, exit 143 / 130);
- :mod:`pase.train.trainer`: the training loop (single process or DDP via torchrun) and
  :func:`~pase.train.trainer.train`, the guarded run of ``pase-train`` (output lock, stale
  temporary files, fingerprint check, signals).
"""
