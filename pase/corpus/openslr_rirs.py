"""The OpenSLR-26 simulated room impulse responses in a distortions config (the library of
``pase-prepare-openslr-rirs``).

Reads ``{smallroom,mediumroom,largeroom}/rir_list`` of ``simulated_rirs_16k`` (each line:
``--rir-id ID --room-id ROOM PATH``; the 5th field is the wav path, which in the distributed
lists starts with the archive's top folder) and sets ``reverb_data_root`` (= ``--data-root``),
``reverb_fmt`` ``"wav"`` and ``reverb_irfiles`` (sorted, relative to the data root) in a new or
existing distortions JSON, written atomically. Other keys of ``existing_cfg`` are kept.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path, PurePosixPath

from pase.distortions.config import DistortionConfigError, check_keys
from pase.io.atomic import write_json_atomic
from pase.io.audio import audio_instead_of

ROOMS = ("smallroom", "mediumroom", "largeroom")


class RirListError(ValueError):
    """A malformed or missing ``rir_list`` / impulse-response file."""


def read_rir_list(data_root: str | os.PathLike, room: str) -> list[str]:
    """Impulse-response paths of one room type, relative to ``data_root`` (posix, as listed).

    The 5th whitespace-separated field of each line is the wav path; everything before the
    ``room`` folder in it (``simulated_rirs_16k/`` or ``RIRS_NOISES/simulated_rirs/``) is
    dropped so the path is relative to ``data_root``.

    Raises:
        RirListError: missing list, a line without a 5th field, a path outside the room folder.
    """
    list_path = Path(data_root) / room / "rir_list"
    if not list_path.is_file():
        raise RirListError(
            f"{str(list_path)!r} does not exist (is --data-root the "
            "simulated_rirs_16k folder of OpenSLR 26?)"
        )
    out = []
    for lineno, line in enumerate(list_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 5:
            raise RirListError(
                f"{str(list_path)!r} line {lineno}: expected '--rir-id ID --room-id ROOM PATH', "
                f"got {line.strip()!r}"
            )
        parts = PurePosixPath(fields[4].replace("\\", "/")).parts
        if room not in parts:
            raise RirListError(
                f"{str(list_path)!r} line {lineno}: path {fields[4]!r} is not inside a "
                f"{room!r} folder"
            )
        out.append(str(PurePosixPath(*parts[parts.index(room) :])))
    if not out:
        raise RirListError(f"{str(list_path)!r} lists no impulse responses")
    return out


def select_rirs(
    data_root: str | os.PathLike,
    ratios: dict[str, float],
    *,
    seed: int = 0,
    check_files: bool = True,
) -> list[str]:
    """Sorted impulse-response paths (relative to ``data_root``) of the rooms with ratio > 0.

    A ratio below 1 keeps a random ``int(n * ratio)`` subset of that room's list (seeded).

    Raises:
        RirListError: see :func:`read_rir_list`; a listed wav that does not exist
            (``check_files``).
    """
    rng = random.Random(seed)
    chosen: list[str] = []
    for room in ROOMS:
        ratio = ratios.get(room, 1.0)
        if not 0.0 <= ratio <= 1.0:
            raise RirListError(f"the {room} ratio must lie in [0, 1], got {ratio}")
        if ratio == 0.0:
            continue
        rirs = read_rir_list(data_root, room)
        if ratio < 1.0:
            keep = int(len(rirs) * ratio)
            print(
                f"{room}: {len(rirs)} impulse responses, keeping a random {keep}", file=sys.stderr
            )
            rirs = rng.sample(rirs, keep)
        chosen.extend(rirs)
    if check_files:
        missing = [p for p in chosen if not (Path(data_root) / p).is_file()]
        if missing:
            raise RirListError(
                f"{len(missing)} listed impulse response(s) do not exist under "
                f"{os.fspath(data_root)!r}, e.g. {missing[0]!r}"
            )
    return sorted(chosen)


def prepare_cfg(
    data_root: str,
    out_file: str | os.PathLike,
    existing_cfg: str | os.PathLike | None = None,
    ratios: dict[str, float] | None = None,
    *,
    seed: int = 0,
    check_files: bool = True,
) -> dict:
    """Write (atomically) and return the distortions config with the OpenSLR impulse responses.

    Raises:
        RirListError: bad rir lists or files; DistortionConfigError: an existing config that is
        not a JSON object of distortions keys.
    """
    for path, expected in (
        (data_root, "the simulated_rirs_16k folder (--data-root)"),
        (out_file, "the distortions JSON to write (--out-file; not overwritten)"),
        (existing_cfg, "a distortions JSON (--existing-cfg)"),
    ):
        msg = None if path is None else audio_instead_of(path, expected)
        if msg is not None:
            raise RirListError(msg)
    cfg: dict = {}
    if existing_cfg is not None:
        try:
            cfg = json.loads(Path(existing_cfg).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DistortionConfigError(
                f"--existing-cfg {os.fspath(existing_cfg)!r}: cannot read it as JSON ({e})"
            ) from e
        if not isinstance(cfg, dict):
            raise DistortionConfigError(
                f"--existing-cfg {os.fspath(existing_cfg)!r}: expected a JSON object"
            )
        check_keys(cfg, os.fspath(existing_cfg))
    rirs = select_rirs(data_root, ratios or {}, seed=seed, check_files=check_files)
    cfg["reverb_data_root"] = data_root
    cfg["reverb_fmt"] = "wav"
    cfg["reverb_irfiles"] = rirs
    write_json_atomic(out_file, cfg)
    return cfg
