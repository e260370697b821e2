"""The encoder checkpoints a training run leaves in its ``--save-path``: ``FE_e<epoch>.ckpt``
(the encoder's raw state_dict after epoch ``<epoch>``, like the published ``FE_e199.ckpt``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

_FRONTEND = re.compile(r"^FE_e(\d+)\.ckpt$")


def frontend_checkpoint_path(save_path: str | os.PathLike, epoch: int) -> Path:
    """``<save_path>/FE_e<epoch>.ckpt``."""
    return Path(save_path) / f"FE_e{epoch}.ckpt"


def frontend_checkpoints(save_path: str | os.PathLike) -> list[tuple[int, Path]]:
    """(epoch, path) of the ``FE_e<epoch>.ckpt`` files in ``save_path``, oldest first (other
    names, e.g. ``FE_e199.ckpt.tmp`` or ``FE_eX.ckpt``, are not checkpoints)."""
    folder = Path(save_path)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _FRONTEND.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_frontend_checkpoint(save_path: str | os.PathLike) -> Path | None:
    """The ``FE_e<epoch>.ckpt`` of the highest epoch in ``save_path`` (None: there is none)."""
    found = frontend_checkpoints(save_path)
    return found[-1][1] if found else None
