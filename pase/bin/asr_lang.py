"""``pase-asr-lang``: the lang dir of a phone recogniser and its phone-bigram grammar.

Example::

    pase-asr-lang --text data/train/text data/lang

Writes ``phones.txt``, ``words.txt``, ``topo``, ``lang.json`` (Kaldi ``prepare_lang.sh`` for
words = phones), ``G.arpa`` (Witten-Bell bigram of the training transcripts) and ``G.fst``
(``arpa2fst`` with ``#0`` on backoff arcs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pase.bin.asr_common import run


def _main(a: argparse.Namespace) -> int:
    from pase.asr.graph import write_fst
    from pase.asr.lang import Lang
    from pase.asr.lm import arpa_to_g, write_bigram_arpa
    from pase.asr.scoring import PhoneMap, read_text

    if a.phones:
        phones = Path(a.phones).read_text(encoding="utf-8").split()
    else:
        phones = PhoneMap.load(a.phone_map).phones48
    lang = Lang(
        phones,
        silence=a.silence.split(","),
        num_states=a.num_states,
        num_sil_states=a.num_sil_states,
    )
    out = Path(a.lang_dir)
    lang.save(out)
    sents = list(read_text(a.text).values())
    for i, s in enumerate(sents):
        lang.encode(s, where=f"{a.text}: sentence {i + 1}")
    write_bigram_arpa(out / "G.arpa", sents, phones)
    g = arpa_to_g(out / "G.arpa", lang, out)
    write_fst(g, out / "G.fst")
    print(f"{out}: {lang.num_phones} phones, bigram of {len(sents)} sentences, G: {g.num_states}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="pase-asr-lang", description=__doc__.split("\n")[0])
    p.add_argument("lang_dir", help="output lang dir")
    p.add_argument("--text", required=True, help="Kaldi text of the LM training transcripts")
    p.add_argument("--phones", help="file of phone symbols (default: the 48 of the phone map)")
    p.add_argument("--phone-map", help="60-48-39 map (default: the packaged Kaldi TIMIT one)")
    p.add_argument("--silence", default="sil", help="comma-separated silence phones")
    p.add_argument("--num-states", type=int, default=3, help="HMM states per phone")
    p.add_argument("--num-sil-states", type=int, default=3, help="HMM states of silence")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
