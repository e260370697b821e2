"""How a config name or path given by a user finds a file: the packaged configs
(``pase/conf/<kind>/``, ``conf/<kind>/`` in a checkout) by built-in name in any case
(``"pase+"`` = ``"PASE+"``), any existing file as it is, and a path of the original PASE
repository's layout (``cfg/frontend/PASE+.cfg``, ``cfg/workers/workers+.cfg``) or of ours run
from another folder (``conf/frontend/PASE+.cfg``) that does not exist here as the packaged
file of that name. No torch: the commands' parsers import this.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: the packaged configs (``conf/`` of a checkout links here)
PACKAGE_CONF = Path(__file__).resolve().parent / "conf"


def builtin_name(name: str, builtins: Mapping[str, Path]) -> str | None:
    """The built-in name ``name`` stands for, compared without case (``"pase+"`` ->
    ``"PASE+"``); None when it is none of them."""
    folded = name.casefold()
    return next((key for key in builtins if key.casefold() == folded), None)


def packaged_name_of_path(name: str, builtins: Mapping[str, Path]) -> str | None:
    """The built-in name whose packaged file ``name`` points at by its last two parts
    (``cfg/frontend/PASE+.cfg``, ``/old/checkout/conf/workers/workers+.cfg``: the folder and
    the file name, the file name without case); None otherwise."""
    parts = Path(name).parts
    if len(parts) < 2:
        return None
    for key, path in builtins.items():
        if parts[-2] == path.parent.name and parts[-1].casefold() == path.name.casefold():
            return key
    return None


def resolve_config(
    cfg: str | os.PathLike, builtins: Mapping[str, Path]
) -> tuple[Path, str | None] | None:
    """``(file, built-in name or None)`` of ``cfg``: a built-in name (any case), else an
    existing file, else a missing path naming a packaged file (:func:`packaged_name_of_path`);
    None when it is none of these."""
    name = os.fspath(cfg)
    key = builtin_name(name, builtins)
    if key is None and Path(name).is_file():
        return Path(name), None
    if key is None:
        key = packaged_name_of_path(name, builtins)
    return None if key is None else (builtins[key], key)


def not_found_hint(builtins: Mapping[str, Path]) -> str:
    """The end of a "config not found" message: the built-in names and where their files
    are."""
    folder = next(iter(builtins.values())).parent
    return (
        f"built-in names (any case): {', '.join(builtins)}; their files are in "
        f"conf/{folder.name}/ of a checkout ({folder})"
    )
