#!/usr/bin/env python3
"""The original one-command TIMIT experiment, on top of this recipe's ``run.sh``.

    python run_TIMIT_full_decoding.py <pase_cfg> <pase_model> <timit_folder> <out_folder> \\
        <mlp_cfg> <decoder_cfg> [run.sh options, e.g. --nj 8 --ngpu 1]

e.g. ``python run_TIMIT_full_decoding.py PASE+ FE_e199.ckpt /data/TIMIT out conf/MLP_PASE.cfg
conf/decoder.cfg``. Runs every stage of ``run.sh`` (data prep, features, alignments, graph,
MLP, decoding, scoring) with data/, dump/ and exp/ under ``<out_folder>``, and prints the dev
and test PER; the result files are ``<out_folder>/exp/mlp_pase/RESULTS.md`` and
``results.json``. ``<pase_model>`` may be ``none`` for an untrained encoder (smoke tests).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

USAGE = __doc__.split("\n\n")[1]


def build_command(argv: list[str], here: Path) -> list[str]:
    """The ``run.sh`` command line for the six positional arguments (+ extra options)."""
    if len(argv) < 6 or argv[0] in ("-h", "--help"):
        raise SystemExit(f"usage:\n{USAGE}")
    pase_cfg, pase_model, timit, out, mlp_cfg, decoder_cfg = argv[:6]
    extra = argv[6:]

    def absolute(p: str) -> str:
        return str(Path(p).resolve())

    cfg = pase_cfg if pase_cfg in ("PASE", "PASE+") else absolute(pase_cfg)
    out_dir = Path(out).resolve()
    cmd = [str(here / "run.sh"), "--timit", absolute(timit), "--feats", "pase",
           "--pase_cfg", cfg, "--mlp_cfg", absolute(mlp_cfg),
           "--decoder_cfg", absolute(decoder_cfg), "--data", str(out_dir / "data"),
           "--dump", str(out_dir / "dump"), "--exp", str(out_dir / "exp")]  # fmt: skip
    if pase_model.lower() != "none":
        cmd += ["--pase_ckpt", absolute(pase_model)]
    return cmd + extra


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    cmd = build_command(sys.argv[1:] if argv is None else argv, here)
    os.chdir(here)  # run.sh uses its utils/, conf/, path.sh
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    raise SystemExit(main())
