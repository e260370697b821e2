"""Phone error rate per test condition (clean, noise, reverb, noise+reverb): one row each in a
model dir's ``RESULTS.md`` and a ``"conditions"`` entry in its ``results.json``.

Each condition is a folder holding the ``results.json`` of ``pase-asr-results`` for that
condition's dev and test decodes (the LM weight is chosen on the condition's own dev set) and,
for a contaminated condition, the ``condition.json`` of ``pase-make-condition`` (copied from
its test data dir), which says which noises and impulse responses were used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pase.io.atomic import write_json_atomic, write_text_atomic

#: the heading of the section this module writes into RESULTS.md
HEADING = "## Test conditions"


class ConditionResultsError(ValueError):
    """A missing or malformed results file (names it)."""


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConditionResultsError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConditionResultsError(f"{path}: unreadable ({e})") from e
    if not isinstance(data, dict):
        raise ConditionResultsError(f"{path}: not a JSON object ({what})")
    return data


def _files_note(info: Mapping[str, Any] | None, kind: str) -> str:
    """``6 files of <list> (simulated white, pink, brown noise, seed 0)``: one list of
    ``kind`` ``"noises"`` or ``"rirs"``; ``-`` when there is none."""
    if not info:
        return "-"
    n = len(info.get("files", []))
    note = f"{n} file{'s' if n != 1 else ''} of {info.get('list')}"
    sim = (info.get("simulated") or {}).get(kind)
    if sim and kind == "noises":
        kinds = ", ".join(dict.fromkeys(sim.get("kinds", [])))
        note += f" (simulated {kinds} noise, seed {info['simulated'].get('seed')})"
    elif sim:
        rt = sim.get("rt60_s") or [0.0]
        note += (
            f" (simulated rooms, RT60 {min(rt):g}-{max(rt):g} s, "
            f"seed {info['simulated'].get('seed')})"
        )
    return note


def condition_entry(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``results.json`` summary of one condition folder (see the module docstring)."""
    d = Path(folder)
    res = _read_json(d / "results.json", "pase-asr-results of this condition")
    try:
        dev, test = res["dev"], res["test"]
        entry: dict[str, Any] = {
            "dev": {"per": dev["per"], "lmwt": dev["lmwt"], "wip": dev["wip"]},
            "test": {
                "per": test["per"],
                "lmwt": test["lmwt"],
                "per_best_lmwt": test["per_best_lmwt"],
                "best_lmwt": test["best_lmwt"],
                "counts": test.get("counts"),
            },
            "decode_dirs": res.get("decode_dirs"),
        }
    except (KeyError, TypeError) as e:
        raise ConditionResultsError(
            f"{d / 'results.json'}: not a pase-asr-results file (no {e})"
        ) from None
    cond = d / "condition.json"
    if cond.is_file():
        c = _read_json(cond, "pase-make-condition")
        entry["contamination"] = {
            k: c.get(k) for k in ("condition", "seed", "snr_db", "noises", "rirs", "method")
        }
        for k in ("noises", "rirs"):  # the lists, not every file's hash
            v = entry["contamination"][k]
            if v:
                entry["contamination"][k] = {
                    "list": v.get("list"),
                    "num_files": len(v.get("files", [])),
                    "simulated": v.get("simulated"),
                }
        entry["contamination"]["notes"] = {
            "noises": _files_note(c.get("noises"), "noises"),
            "rirs": _files_note(c.get("rirs"), "rirs"),
        }
    return entry


def conditions_table(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown section: one PER row per condition, then the noises and RIRs used."""
    lines = [
        HEADING,
        "",
        "Acoustic model trained on clean data; each condition's dev and test sets contaminated "
        "by `pase-make-condition` (LM weight chosen on that condition's dev set).",
        "",
        "| condition | test PER (%) | dev PER (%) | LM weight | test PER, best LM weight | "
        "SNR (dB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, e in entries.items():
        c = e.get("contamination") or {}
        snr = c.get("snr_db")
        snr_txt = f"{snr[0]:g}-{snr[1]:g}" if snr else "-"
        t, d = e["test"], e["dev"]
        lines.append(
            f"| {name} | {t['per']:.2f} | {d['per']:.2f} | {d['lmwt']} | "
            f"{t['per_best_lmwt']:.2f} (LM weight {t['best_lmwt']}) | {snr_txt} |"
        )
    notes = []
    for name, e in entries.items():
        c = e.get("contamination")
        if not c:
            notes.append(f"- {name}: the original audio")
            continue
        n = c["notes"]
        notes.append(
            f"- {name}: noises: {n['noises']}; RIRs: {n['rirs']}; per-utterance seed "
            f"{c.get('seed')} (every draw in the data dir's condition.json)"
        )
    return "\n".join([*lines, "", *notes, ""]) + "\n"


def _replace_section(text: str, section: str) -> str:
    """``text`` with its :data:`HEADING` section replaced by ``section`` (placed before
    ``## Environment`` when there is one, else at the end)."""
    lines = text.splitlines(keepends=True)
    out, skip = [], False
    for line in lines:
        if line.rstrip("\n") == HEADING:
            skip = True
            continue
        if skip and line.startswith("## "):
            skip = False
        if not skip:
            out.append(line)
    body = "".join(out)
    env = body.find("\n## Environment")
    if env < 0:
        return body.rstrip("\n") + "\n\n" + section
    return body[: env + 1] + section + "\n" + body[env + 1 :]


def write_condition_results(
    out: str | os.PathLike, conditions: Mapping[str, str | os.PathLike]
) -> str:
    """Add the rows of ``conditions`` (name -> condition folder) to ``out``'s ``results.json``
    (``"conditions": {name: {dev, test, contamination}}``) and ``RESULTS.md`` (a
    :data:`HEADING` section, replaced on a rerun); returns the table."""
    if not conditions:
        raise ConditionResultsError("no conditions given")
    d = Path(out)
    entries = {name: condition_entry(folder) for name, folder in conditions.items()}
    res = _read_json(d / "results.json", "pase-asr-results of the model dir")
    res["conditions"] = entries
    write_json_atomic(d / "results.json", res)
    section = conditions_table(entries)
    md = d / "RESULTS.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else ""
    write_text_atomic(md, _replace_section(text, section))
    return section
