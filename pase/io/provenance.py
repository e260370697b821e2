"""What an output was computed from, so that a rerun with the same inputs can be skipped.

A *stamp* is a JSON sidecar ``<output>.stamp.json`` written next to an output (the data cfg of
``pase-make-data-cfg``, the statistics of ``pase-make-stats``) right after it. The output
itself keeps its original format. A stamp records:

- ``tool``: the program and the pase version that wrote it;
- ``options``: the options that change the result (JSON values);
- ``inputs``: label -> ``{"path", "sha256"}`` of each input text file (``wav.scp``,
  ``utt2spk``, ``segments``, file lists, speaker maps, data cfg, workers cfg; ``sha256`` None
  for an absent optional file, so that its appearance is a change too);
- ``audio``: absolute path -> ``{"size", "mtime_ns"}`` (plus ``"sha256"`` with ``verify``) of
  every audio file the inputs name (a ``cmd |`` source contributes each word of the command
  that names an existing file);
- ``output_sha256``: the output's content hash when the stamp was written.

:func:`stale_reasons` compares a stamp with the current state and says what changed (empty:
up to date). An output that is missing or differs from ``output_sha256`` (edited, replaced,
or written by a run that died before its stamp) is stale, as is one without a stamp.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pase.io.audio import is_pipe

FORMAT = "pase-stamp"
VERSION = 1
_EXAMPLES = 3


def stamp_path(output: str | os.PathLike) -> Path:
    """The sidecar of ``output``: ``<output>.stamp.json``."""
    return Path(os.fspath(output) + ".stamp.json")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def input_entry(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path": absolute path, "sha256": hash or None when absent}`` of one input file."""
    p = Path(path)
    return {"path": str(p.absolute()), "sha256": sha256_file(p) if p.is_file() else None}


def audio_files(sources: Iterable[str]) -> list[str]:
    """The audio files behind ``wav.scp`` sources, absolute and sorted: a path is itself; a
    ``cmd |`` gives each word of the command that names an existing file."""
    out: set[str] = set()
    for src in sources:
        if is_pipe(src):
            try:
                words = shlex.split(src.rstrip()[:-1])
            except ValueError:
                continue  # the command string itself is tracked through wav.scp
            out.update(os.path.abspath(w) for w in words if os.path.isfile(w))
        else:
            out.add(os.path.abspath(src))
    return sorted(out)


def _audio_entry(path: str, verify: bool) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"missing": True}
    entry: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if verify:
        entry["sha256"] = sha256_file(path)
    return entry


def audio_table(
    files: Iterable[str], *, verify: bool = False, num_workers: int = 4
) -> dict[str, dict[str, Any]]:
    """path -> ``{"size" (bytes), "mtime_ns"}`` (``os.stat``), plus ``"sha256"`` with
    ``verify``; ``{"missing": True}`` for a file that is not there."""
    files = list(files)
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        entries = list(pool.map(lambda p: _audio_entry(p, verify), files))
    return dict(zip(files, entries, strict=True))


def make_stamp(
    tool: str,
    *,
    options: Mapping[str, Any],
    inputs: Mapping[str, Mapping[str, Any]],
    audio: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """A stamp (without ``output_sha256``, added by :func:`write_stamp`)."""
    from pase.version import __version__

    return {
        "format": FORMAT,
        "version": VERSION,
        "tool": {"name": tool, "pase_version": __version__},
        "options": json.loads(json.dumps(dict(options), sort_keys=True)),
        "inputs": {k: dict(v) for k, v in sorted(inputs.items())},
        "audio": {k: dict(v) for k, v in sorted(audio.items())},
    }


def read_stamp(output: str | os.PathLike) -> dict[str, Any] | None:
    """The stamp of ``output``, or None when there is none or it cannot be read."""
    p = stamp_path(output)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def write_stamp(output: str | os.PathLike, stamp: Mapping[str, Any]) -> Path:
    """Write ``stamp`` (with the current ``output_sha256``) next to ``output``; returns its
    path. Call it after the output is complete."""
    from pase.io.atomic import write_json_atomic

    data = dict(stamp)
    data["output_sha256"] = sha256_file(output)
    p = stamp_path(output)
    write_json_atomic(p, data)
    return p


def _some(items: list[str]) -> str:
    more = f", ... ({len(items)} in all)" if len(items) > _EXAMPLES else ""
    return ", ".join(items[:_EXAMPLES]) + more


def audio_changes(old: Mapping[str, Any], new: Mapping[str, Any], verify: bool) -> list[str]:
    """What changed between two :func:`audio_table` results, in words (empty: nothing);
    ``verify`` compares content hashes, else size and modification time."""
    out = []
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    if removed:
        out.append(f"audio files no longer used: {_some(removed)}")
    if added:
        out.append(f"new audio files: {_some(added)}")
    changed, unhashed = [], []
    for path in sorted(set(old) & set(new)):
        a, b = old[path], new[path]
        if a.get("missing") or b.get("missing"):
            if a.get("missing") != b.get("missing"):
                changed.append(f"{path} ({'now missing' if b.get('missing') else 'reappeared'})")
            continue
        if verify:
            if "sha256" not in a:
                unhashed.append(path)
            elif a["sha256"] != b.get("sha256"):
                changed.append(f"{path} (content)")
        elif a.get("size") != b.get("size"):
            changed.append(f"{path} (size {a.get('size')} -> {b.get('size')} bytes)")
        elif a.get("mtime_ns") != b.get("mtime_ns"):
            changed.append(f"{path} (modification time)")
    if changed:
        out.append(f"audio files changed: {_some(changed)}")
    if unhashed:
        out.append(
            f"no content hash recorded for {len(unhashed)} audio file(s) (the last run was "
            "without --verify)"
        )
    return out


def stale_reasons(
    output: str | os.PathLike, new: Mapping[str, Any], *, verify: bool = False
) -> list[str]:
    """What differs between the stamp of ``output`` and ``new`` (a :func:`make_stamp`); empty
    when the output is up to date. With ``verify`` audio files are compared by content hash
    (``new`` must hold them), else by size and modification time."""
    out = Path(output)
    if not out.is_file():
        return [f"{out} does not exist"]
    old = read_stamp(out)
    if old is None:
        return [f"{out} has no readable stamp {stamp_path(out).name} (made by another tool?)"]
    try:
        if sha256_file(out) != old.get("output_sha256"):
            return [f"{out} was modified or replaced after it was written"]
    except OSError as e:
        return [f"{out}: cannot read ({e})"]
    reasons = []
    if old.get("version") != VERSION or old.get("tool") != new["tool"]:
        reasons.append(f"written by {old.get('tool')}, now {new['tool']}")
    o_opts, n_opts = old.get("options", {}), new["options"]
    for k in sorted(set(o_opts) | set(n_opts)):
        if o_opts.get(k, "<unset>") != n_opts.get(k, "<unset>"):
            reasons.append(
                f"option {k}: {o_opts.get(k, '<unset>')!r} -> {n_opts.get(k, '<unset>')!r}"
            )
    o_in, n_in = old.get("inputs", {}), new["inputs"]
    for k in sorted(set(o_in) | set(n_in)):
        a, b = o_in.get(k), n_in.get(k)
        if a == b:
            continue
        if a is None or b is None:
            reasons.append(f"input {k}: {'added' if a is None else 'no longer used'}")
        elif a.get("path") != b.get("path"):
            reasons.append(f"input {k}: {a.get('path')} -> {b.get('path')}")
        elif b.get("sha256") is None:
            reasons.append(f"input {k} ({b.get('path')}): removed")
        elif a.get("sha256") is None:
            reasons.append(f"input {k} ({b.get('path')}): appeared")
        else:
            reasons.append(f"input {k} ({b.get('path')}): contents changed")
    reasons += audio_changes(old.get("audio", {}), new["audio"], verify)
    return reasons


def up_to_date(
    prog: str,
    output: str | os.PathLike,
    stamp: Mapping[str, Any],
    *,
    force: bool = False,
    verify: bool = False,
    log: Any = None,
) -> bool:
    """The rerun decision of a CLI: True (after printing ``<prog>: <output> is up to date``)
    when nothing changed and not ``force``; else False after logging why it recomputes.

    With ``verify``, an up-to-date stamp whose audio facts moved (a file touched but with the
    same content) is rewritten with the new facts, so that later runs without ``--verify``
    stay fast.
    """
    emit = log or (lambda msg: print(msg, flush=True))
    if force:
        emit(f"{prog}: {output}: recomputing (--force)")
        return False
    reasons = stale_reasons(output, stamp, verify=verify)
    if reasons:
        head = f"{prog}: {output}: recomputing, since"
        if len(reasons) == 1:
            emit(f"{head} {reasons[0]}")
        else:
            emit(f"{head}:\n  " + "\n  ".join(reasons))
        return False
    old = read_stamp(output) or {}
    if verify and old.get("audio") != stamp["audio"]:
        write_stamp(output, stamp)
    n_audio = len(stamp["audio"])
    emit(
        f"{prog}: {output} is up to date ({len(stamp['inputs'])} input file(s), {n_audio} "
        f"audio file(s) and the options unchanged{'; contents verified' if verify else ''}); "
        "--force recomputes"
    )
    return True
