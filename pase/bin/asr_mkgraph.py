"""``pase-asr-mkgraph``: HCLG for a lang's grammar and an alignment dir's HMM (Kaldi mkgraph.sh).

Example::

    pase-asr-mkgraph --lang data/lang --model exp/mono exp/mono/graph

Writes ``HCLG.fst`` (OpenFst binary, readable by Kaldi), ``words.txt``, ``phones.txt`` and
``num_pdfs``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from pase.bin.asr_common import run


def _main(a: argparse.Namespace) -> int:
    from pase.asr.expdir import load_lang_and_hmm
    from pase.asr.graph import make_hclg, read_fst, write_fst
    from pase.asr.lang import Lang
    from pase.io.atomic import write_text_atomic

    lang_dir = Path(a.lang)
    lang = Lang.load(lang_dir)
    model_lang, hmm = load_lang_and_hmm(a.model)
    if model_lang != lang:
        raise ValueError(f"{a.model} was made with another lang than {lang_dir}")
    t0 = time.time()
    g = read_fst(lang_dir / "G.fst")
    hclg = make_hclg(hmm, g, transition_scale=a.transition_scale, self_loop_scale=a.self_loop_scale)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    write_fst(hclg, out / "HCLG.fst")
    for name in ("words.txt", "phones.txt"):
        shutil.copyfile(lang_dir / name, out / name)
    write_text_atomic(out / "num_pdfs", f"{hmm.num_pdfs}\n")
    print(f"{out}/HCLG.fst: {hclg.num_states} states ({time.time() - t0:.2f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-asr-mkgraph", description=__doc__.split("\n")[0])
    p.add_argument("out", help="output graph dir")
    p.add_argument("--lang", required=True, help="lang dir with G.fst (pase-asr-lang)")
    p.add_argument("--model", required=True, help="alignment dir with hmm.npz")
    p.add_argument("--transition-scale", type=float, default=1.0)
    p.add_argument("--self-loop-scale", type=float, default=0.1)
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
