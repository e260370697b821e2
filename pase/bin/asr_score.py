"""``pase-asr-score``: phone error rates of a decode dir for every LM weight (TIMIT 39 phones).

Example::

    pase-asr-score --data-dir data/test exp/mlp/decode_test

Writes ``<decode_dir>/scoring/per_<lmwt>.txt`` (``%PER 18.52 [ 1336 / 7215, 161 ins, 425 del,
750 sub ]``), ``hyp_<lmwt>.txt``, ``best_per`` and ``scores.json``; prints the best line.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-score"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("decode_dir")
    cli.add(p, "--data-dir", required=True, help="data dir with the reference text (48 phones)")
    p.add_argument("--phone-map", help="60-48-39 map (default: the packaged Kaldi TIMIT one)")
    p.add_argument("--no-fold", action="store_true", help="score without the 48->39 folding")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr import steps

    print(steps.score(a.decode_dir, a.data_dir, phone_map=a.phone_map, fold=not a.no_fold))


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
