"""``pase-asr-mkgraph``: HCLG for a lang's grammar and an alignment dir's HMM (Kaldi mkgraph.sh).

Example::

    pase-asr-mkgraph --lang data/lang --model exp/mono exp/mono/graph

Writes ``HCLG.fst`` (OpenFst binary, readable by Kaldi), ``words.txt``, ``phones.txt`` and
``num_pdfs``.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-mkgraph"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="output graph dir")
    p.add_argument("--lang", required=True, help="lang dir with G.fst (pase-asr-lang)")
    p.add_argument("--model", required=True, help="alignment dir with hmm.npz")
    p.add_argument("--transition-scale", type=float, default=1.0)
    p.add_argument("--self-loop-scale", type=float, default=0.1)
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr import steps

    print(
        steps.make_graph(
            a.out,
            a.lang,
            a.model,
            transition_scale=a.transition_scale,
            self_loop_scale=a.self_loop_scale,
        )
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
