"""``pase-asr-results``: LM weight chosen on dev; dev/test PER in RESULTS.md and results.json.

Example::

    pase-asr-results --dev exp/mlp/decode_dev --test exp/mlp/decode_test --feat-type pase exp/mlp

``results.json``: ``{"dev": {"per", "lmwt", ...}, "test": {"per", "per_best_lmwt", ...},
"feats": ..., "environment": {...}}``; ``RESULTS.md`` says the same for people, with the
versions of the toolkit and its Kaldi wheels and the git commit.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-results"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="folder for RESULTS.md and results.json (the model dir)")
    p.add_argument("--dev", required=True, help="scored dev decode dir")
    p.add_argument("--test", required=True, help="scored test decode dir")
    cli.add(
        p,
        "--feat-type",
        old=["--feats"],
        required=True,
        help="feature type for the report (pase, mfcc, fbank, ...)",
    )
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr import steps

    print(steps.write_results(a.out, a.dev, a.test, a.feat_type))


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
