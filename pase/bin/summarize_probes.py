"""``pase-summarize-probes``: a Markdown table of ``pase-probe`` results, one row per system.

Examples::

    pase-summarize-probes mfcc=exp/probe_mfcc pase+=exp/probe_pase+ --out RESULTS.md
    # leave-one-session-out: the folds of one system pooled into one row
    pase-summarize-probes "pase+=exp/pase+/fold1,exp/pase+/fold2,exp/pase+/fold3"

Each argument is ``NAME=RESULTS`` (or just ``RESULTS``, named after its folder), where
``RESULTS`` is a ``results.json`` or the folder holding it; several comma-separated results
of one name are pooled (decisions summed for accuracy and its 95 % interval, unweighted
accuracy averaged over the runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pase.bin import cli

PROG = "pase-summarize-probes"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("results", nargs="+", help="NAME=RESULTS[,RESULTS...] or RESULTS")
    p.add_argument("--out", type=Path, help="write the table here (default: standard output)")
    return p


def _load(path: str) -> dict:
    p = Path(path)
    f = p / "results.json" if p.is_dir() else p
    if not f.is_file():
        raise ValueError(f"{path}: no results.json (has pase-probe run there?)")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{f}: not a pase-probe results.json ({e})") from e


def _main(a: argparse.Namespace) -> None:
    from pase.downstream.metrics import pool_results, summary_table
    from pase.io.atomic import write_text_atomic

    table: dict[str, dict] = {}
    for arg in a.results:
        name, eq, paths = arg.partition("=")
        if not eq:
            name, paths = Path(arg).name if Path(arg).is_dir() else Path(arg).parent.name, arg
        if name in table:
            raise ValueError(f"system {name!r} given twice")
        table[name] = pool_results([_load(p) for p in paths.split(",") if p])
    text = summary_table(table)
    if a.out:
        write_text_atomic(a.out, text)
        print(f"{PROG}: {len(table)} systems in {a.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
