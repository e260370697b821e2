"""``pase-asr-results``: LM weight chosen on dev; dev/test PER in RESULTS.md and results.json.

Example::

    pase-asr-results --dev exp/mlp/decode_dev --test exp/mlp/decode_test --feats pase exp/mlp

``results.json``: ``{"dev": {"per", "lmwt", ...}, "test": {"per", "per_best_lmwt", ...},
"feats": ..., "environment": {...}}``; ``RESULTS.md`` says the same for people, with the
versions of the toolkit and its Kaldi wheels and the git commit.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

from pase.bin.asr_common import run


def environment() -> dict:
    """Versions, machine and git commit for the results file."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    import pase

    env = {
        "pase": pase.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.platform(),
        "cuda": torch.cuda.is_available(),
    }
    for dist in (
        "kaldi-hmm-gmm",
        "kaldifst",
        "kaldi-decoder",
        "kaldilm",
        "kaldialign",
        "kaldi-native-fbank",
    ):
        try:
            env[dist] = version(dist)
        except PackageNotFoundError:
            env[dist] = None
    try:
        root = Path(pase.__file__).resolve().parents[1]
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env["git"] = rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        env["git"] = None
    return env


def _load(decode_dir: str) -> dict:
    p = Path(decode_dir) / "scoring" / "scores.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{p}: run pase-asr-score first ({e})") from e


def _main(a: argparse.Namespace) -> int:
    from pase.asr.scoring import choose
    from pase.io.atomic import write_json_atomic, write_text_atomic

    dev, test = _load(a.dev), _load(a.test)
    res = choose(dev["scores"], test["scores"])
    res["feats"] = a.feats
    res["decode_dirs"] = {"dev": str(a.dev), "test": str(a.test)}
    res["rtf"] = {"dev": dev.get("rtf"), "test": test.get("rtf")}
    res["environment"] = environment()
    res["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    out = Path(a.out)
    write_json_atomic(out / "results.json", res)
    d, t = res["dev"], res["test"]
    env = res["environment"]
    lines = [
        f"# TIMIT phone recognition: {a.feats} features, hybrid MLP + HMM",
        "",
        "| set | PER (%) | LM weight | ins. penalty | errors / ref phones | ins | del | sub |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in (("dev", d), ("test (weight chosen on dev)", t)):
        c = r["counts"]
        lines.append(
            f"| {name} | {r['per']:.2f} | {r['lmwt']} | {r['wip']:g} | "
            f"{c['errors']} / {c['ref']} | {c['ins']} | {c['del']} | {c['sub']} |"
        )
    lines += [
        "",
        f"Best test PER over LM weights (Kaldi best_wer.sh style): {t['per_best_lmwt']:.2f}% "
        f"at LM weight {t['best_lmwt']} (ins. penalty {t['best_wip']:g}).",
        "",
        "39-phone scoring (48 -> 39 folding of reference and hypothesis), PER = (S + D + I) / N.",
        f"Decoding real-time factor (MLP + decoder, this machine): dev {res['rtf']['dev']:.3f}, "
        f"test {res['rtf']['test']:.3f}.",
        "",
        "## Environment",
        "",
        *[f"- {k}: {v}" for k, v in env.items()],
        f"- date: {res['date']}",
        "",
    ]
    write_text_atomic(out / "RESULTS.md", "\n".join(lines))
    print(
        f"dev PER {d['per']:.2f}% (lmwt {d['lmwt']}), test PER {t['per']:.2f}% "
        f"(best lmwt {t['best_lmwt']}: {t['per_best_lmwt']:.2f}%)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-asr-results", description=__doc__.split("\n")[0])
    p.add_argument("out", help="folder for RESULTS.md and results.json (the model dir)")
    p.add_argument("--dev", required=True, help="scored dev decode dir")
    p.add_argument("--test", required=True, help="scored test decode dir")
    p.add_argument("--feats", required=True, help="feature name for the report (pase, mfcc, ...)")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
