"""``pase-asr-score``: phone error rates of a decode dir for every LM weight (TIMIT 39 phones).

Example::

    pase-asr-score --data data/test exp/mlp/decode_test

Writes ``<decode_dir>/scoring/per_<lmwt>.txt`` (``%PER 18.52 [ 1336 / 7215, 161 ins, 425 del,
750 sub ]``), ``hyp_<lmwt>.txt``, ``best_per`` and ``scores.json``; prints the best line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pase.bin.asr_common import run


def _main(a: argparse.Namespace) -> int:
    from pase.asr.recognize import collect
    from pase.asr.scoring import PhoneMap, read_text, score_sweep, summary
    from pase.io.atomic import write_json_atomic

    d = Path(a.decode_dir)
    refs = read_text(Path(a.data) / "text")
    hyps, stats = collect(d)
    pm = None if a.no_fold else PhoneMap.load(a.phone_map)
    counts = score_sweep(refs, hyps, d / "scoring", pm)
    rtf = (stats["am_seconds"] + stats["decode_seconds"]) / max(stats["audio_seconds"], 1e-9)
    write_json_atomic(
        d / "scoring" / "scores.json",
        {
            "scores": summary(counts),
            "stats": stats,
            "rtf": rtf,
            "data": str(a.data),
            "folding": "48->39" if pm else "none",
        },
    )
    print((d / "scoring" / "best_per").read_text().strip())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-asr-score", description=__doc__.split("\n")[0])
    p.add_argument("decode_dir")
    p.add_argument("--data", required=True, help="data dir with the reference text (48 phones)")
    p.add_argument("--phone-map", help="60-48-39 map (default: the packaged Kaldi TIMIT one)")
    p.add_argument("--no-fold", action="store_true", help="score without the 48->39 folding")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
