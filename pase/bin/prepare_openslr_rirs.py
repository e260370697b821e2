"""Write the OpenSLR-26 simulated room impulse responses into a distortions config.

Reads ``{smallroom,mediumroom,largeroom}/rir_list`` of ``simulated_rirs_16k`` (each line:
``--rir-id ID --room-id ROOM PATH``; the 5th field is the wav path, which in the distributed
lists starts with the archive's top folder) and sets ``reverb_data_root`` (= ``--data_root``),
``reverb_fmt`` ``"wav"`` and ``reverb_irfiles`` (sorted, relative to the data root) in a new or
existing distortions JSON, written atomically. Other keys of ``--existing_cfg`` are kept.

Example::

    pase-prepare-openslr-rirs --data_root data/simulated_rirs_16k \\
        --existing_cfg conf/distortions/pase+.cfg --out_file data/distortions_openslr.cfg
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Sequence
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
            f"{str(list_path)!r} does not exist (is --data_root the "
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
        (data_root, "the simulated_rirs_16k folder (--data_root)"),
        (out_file, "the distortions JSON to write (--out_file; not overwritten)"),
        (existing_cfg, "a distortions JSON (--existing_cfg)"),
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
                f"--existing_cfg {os.fspath(existing_cfg)!r}: cannot read it as JSON ({e})"
            ) from e
        if not isinstance(cfg, dict):
            raise DistortionConfigError(
                f"--existing_cfg {os.fspath(existing_cfg)!r}: expected a JSON object"
            )
        check_keys(cfg, os.fspath(existing_cfg))
    rirs = select_rirs(data_root, ratios or {}, seed=seed, check_files=check_files)
    cfg["reverb_data_root"] = data_root
    cfg["reverb_fmt"] = "wav"
    cfg["reverb_irfiles"] = rirs
    write_json_atomic(out_file, cfg)
    return cfg


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pase-prepare-openslr-rirs",
        description="Put the OpenSLR-26 simulated_rirs_16k impulse responses into a "
        "distortions config (reverb_data_root, reverb_fmt, reverb_irfiles).",
    )
    p.add_argument("--data_root", required=True, help="the simulated_rirs_16k folder")
    p.add_argument("--out_file", required=True, help="distortions JSON to write")
    p.add_argument(
        "--existing_cfg",
        default=None,
        help="distortions JSON whose other keys are kept (may equal --out_file)",
    )
    for room in ROOMS:
        p.add_argument(
            f"--{room.replace('room', '')}_room_ratio",
            type=float,
            default=1.0,
            help=f"fraction of the {room} impulse responses to keep (default 1)",
        )
    p.add_argument("--seed", type=int, default=0, help="seed of the ratio subsampling")
    p.add_argument(
        "--no_check", action="store_true", help="do not check that every listed wav exists"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ratios = {room: getattr(args, f"{room.replace('room', '')}_room_ratio") for room in ROOMS}
    try:
        cfg = prepare_cfg(
            args.data_root,
            args.out_file,
            args.existing_cfg,
            ratios,
            seed=args.seed,
            check_files=not args.no_check,
        )
    except (RirListError, DistortionConfigError) as e:
        print(f"pase-prepare-openslr-rirs: error: {e}", file=sys.stderr)
        return 1
    print(
        f"wrote {len(cfg['reverb_irfiles'])} impulse responses to {args.out_file}", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
