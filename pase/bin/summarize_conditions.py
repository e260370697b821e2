"""``pase-summarize-conditions``: one PER row per test condition in a model dir's results.

Added to its ``RESULTS.md`` (section "Test conditions") and ``results.json`` ("conditions").

Example::

    pase-summarize-conditions exp/mlp_pase clean=exp/mlp_pase \\
        noise=exp/mlp_pase/conditions/noise reverb=exp/mlp_pase/conditions/reverb

Each ``NAME=DIR`` is a folder with the ``results.json`` of ``pase-asr-results`` for that
condition (dev and test decodes of the contaminated sets) and, for a contaminated condition, the
``condition.json`` of ``pase-make-condition`` (it names the noises and impulse responses used).
A rerun replaces the section.
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli

PROG = "pase-summarize-conditions"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("model_dir", help="model dir holding RESULTS.md and results.json")
    p.add_argument("conditions", nargs="+", help="NAME=DIR, one per condition, in table order")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr.condition_results import write_condition_results

    conditions: dict[str, str] = {}
    for arg in a.conditions:
        name, eq, folder = arg.partition("=")
        if not eq or not name or not folder:
            raise ValueError(f"expected NAME=DIR, got {arg!r}")
        if name in conditions:
            raise ValueError(f"condition {name!r} given twice")
        conditions[name] = folder
    sys.stdout.write(write_condition_results(a.model_dir, conditions))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pase-summarize-conditions``."""
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
