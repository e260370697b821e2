"""The fingerprint of a training run: what a resumed run must share with the run that saved
the training state it continues.

:func:`fingerprint` maps each item to a plain value (options) or to ``"sha256:<hex>"`` (the
contents of the files the run reads), and is stored in every training state (key
``"fingerprint"``). On resume, :func:`differences` lists the items whose values differ and
:func:`refusal` / :func:`change_lines` word them (``item: old -> new``, hashes shortened).

Items in the fingerprint:

- options, by value (:data:`VALUE_OPTIONS`): learning rates and optimisers (``fe_lr``,
  ``min_lr``, ``fe_opt``, ``min_opt``), the schedule (``lr_mode``, ``lrdec_step``, ``lrdecay``,
  ``lr_warmup_steps``; ``epoch`` too when the schedule depends on the run's total length,
  i.e. ``lr_mode`` ``poly`` or ``cos``), ``batch_size``, ``chunk_size``, ``context``,
  ``random_scale``, ``valid_batches``, ``backprop_mode``, ``grad_clip``, ``amp``, ``seed``,
  ``data_root``;
- file contents (sha256): ``--data-cfg``; ``wav.scp``, ``utt2spk`` and ``segments`` of
  ``--data-dir`` and ``--valid-data-dir`` (``None`` when absent); ``--stats``;
  ``--dtrans-cfg`` (the config file's bytes only: impulse responses, noises and lists it
  names are identified by those names); ``--fe-cfg`` and ``--net-cfg`` (a built-in name such
  as ``PASE+`` / ``workers+`` is kept as the name, a path by its contents);
- ``train_files`` / ``valid_files``: how many files remain after the audio check (a file
  that went bad and is now dropped by ``--skip-bad-audio`` changes the data).

Not in the fingerprint (:data:`NOT_FINGERPRINTED`), because they may legitimately change
between a stop and a resume without changing what is trained: ``max_steps`` (train longer or
shorter), ``epoch`` with ``step``/``constant`` schedules (train more epochs), ``log_freq``,
``progress_file``, ``ckpt_interval``, ``max_ckpts``, ``num_workers``, ``tensorboard``,
``device`` / ``no_cuda``
(move to another machine), ``validate_audio`` / ``skip_bad_audio`` (how faults are handled;
their effect on the data is caught by ``train_files``), ``skip_nonfinite`` (the advice after
a non-finite loss is to rerun with it), ``legacy_stats_pickle`` (a permission; the stats'
contents are fingerprinted), ``dataset`` (only sets ``context``, which is fingerprinted),
``warmup`` (no effect) and ``hop`` (always 160), ``save_path`` (the folder may be moved),
``config`` (the YAML path: the options it sets are compared one by one), ``no_continue``,
``allow_config_change``, ``pretrained_ckpt`` and ``net_ckpt`` (warm-start weights of a fresh
run: a resume continues from its own state). The number of processes is checked separately
(the state layout depends on it).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pase.io.provenance import sha256_file
from pase.models.frontend import resolve_frontend_cfg
from pase.workers.config import resolve_workers_cfg

#: options compared by value
VALUE_OPTIONS = (
    "fe_lr", "min_lr", "fe_opt", "min_opt", "lr_mode", "lrdec_step", "lrdecay",
    "lr_warmup_steps", "batch_size", "chunk_size", "context", "random_scale", "valid_batches",
    "backprop_mode", "grad_clip", "amp", "seed", "data_root",
)  # fmt: skip
#: options whose files are compared by contents
FILE_OPTIONS = ("data_cfg", "data_dir", "valid_data_dir", "stats", "dtrans_cfg", "fe_cfg",
                "net_cfg")  # fmt: skip
#: options deliberately left out (see the module docstring for why)
NOT_FINGERPRINTED = (
    "max_steps", "log_freq", "ckpt_interval", "max_ckpts", "num_workers", "tensorboard",
    "device", "no_cuda", "validate_audio", "skip_bad_audio", "skip_nonfinite",
    "legacy_stats_pickle", "dataset", "warmup", "hop", "save_path", "config", "no_continue",
    "allow_config_change", "pretrained_ckpt", "net_ckpt", "progress_file",
)  # fmt: skip
#: schedules that depend on the total number of steps (so on ``epoch``)
LENGTH_DEPENDENT_LR_MODES = ("poly", "cos")
DATA_DIR_FILES = ("wav.scp", "utt2spk", "segments")
_SHOWN_HEX = 12


def file_digest(path: str | os.PathLike) -> str:
    """``"sha256:<hex>"`` of a file's bytes."""
    return f"sha256:{sha256_file(path)}"


def _digest_or_none(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    try:
        return file_digest(path)
    except OSError as e:
        return f"unreadable ({e.strerror or e})"


def _named_or_digest(value: str, resolve: Callable[[str], tuple[Path, str | None]]) -> str:
    """A built-in config name in its own spelling ("pase+" -> "PASE+"), a config file by its
    contents (``resolve``: the config kind's resolver)."""
    try:
        path, name = resolve(value)
    except ValueError:  # not found (WorkersConfigError too): the build reports it
        return str(_digest_or_none(value))
    return name if name is not None else str(_digest_or_none(path))


def fingerprint(
    args: argparse.Namespace,
    *,
    train_files: int | None = None,
    valid_files: int | None = None,
) -> dict[str, Any]:
    """The run's fingerprint (see the module docstring): item -> option value, file digest
    or ``None``; ``train_files`` / ``valid_files`` are the file counts after the audio check."""
    fp: dict[str, Any] = {}
    for name in VALUE_OPTIONS:
        value = getattr(args, name, None)
        fp[name] = value.lower() if name in ("fe_opt", "min_opt") and value else value
    if args.lr_mode in LENGTH_DEPENDENT_LR_MODES:
        fp["epoch"] = args.epoch
    fp["data_cfg"] = _digest_or_none(args.data_cfg)
    for opt in ("data_dir", "valid_data_dir"):
        folder = getattr(args, opt, None)
        for name in DATA_DIR_FILES:
            path = None if folder is None else Path(folder) / name
            fp[f"{opt}/{name}"] = (
                None if path is None or not path.exists() else _digest_or_none(path)
            )
    fp["stats"] = _digest_or_none(args.stats)
    fp["dtrans_cfg"] = _digest_or_none(args.dtrans_cfg)
    fp["fe_cfg"] = _named_or_digest(str(args.fe_cfg), resolve_frontend_cfg)
    fp["net_cfg"] = _named_or_digest(str(args.net_cfg), resolve_workers_cfg)
    fp["train_files"] = train_files
    fp["valid_files"] = valid_files
    return fp


_ABSENT = object()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(item, old, new)`` for every item whose value differs (an item only one side has
    is compared with "absent"), in the order of ``new`` then ``old``'s extra items."""
    keys = list(new) + [k for k in old if k not in new]
    out = []
    for k in keys:
        a, b = old.get(k, _ABSENT), new.get(k, _ABSENT)
        if a != b and not (_is_num(a) and _is_num(b) and float(a) == float(b)):
            out.append((k, a, b))
    return out


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _show(v: Any) -> str:
    if v is _ABSENT:
        return "(not recorded)"
    if v is None:
        return "(none)"
    if isinstance(v, str) and v.startswith("sha256:"):
        return f"sha256:{v[7 : 7 + _SHOWN_HEX]}"
    return repr(v) if isinstance(v, str) else str(v)


def change_lines(diffs: list[tuple[str, Any, Any]]) -> list[str]:
    """``item: old -> new`` per difference (file digests shortened)."""
    return [f"{k}: {_show(a)} -> {_show(b)}" for k, a, b in diffs]


def refusal(state_path: str, diffs: list[tuple[str, Any, Any]]) -> str:
    """The error message for resuming ``state_path`` with other options or inputs."""
    lines = "\n".join(f"  {line}" for line in change_lines(diffs))
    return (
        f"{state_path} was saved by a run with other options or inputs; these differ "
        f"(saved -> now):\n{lines}\n"
        "Rerun with the original options and files to resume, pass --allow-config-change true "
        "to resume anyway (the changes are logged), or start afresh with another --save-path "
        "or --no-continue true."
    )
