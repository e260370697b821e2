"""Lang (symbol tables, topology, L) and the Witten-Bell phone bigram / G.fst."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pase.asr.kaldi_wheels import kaldifst
from pase.asr.lang import Lang, LangError, read_symbol_table
from pase.asr.lm import LMError, arpa_to_g, bigram_arpa, witten_bell_bigram

SENTS = [["sil", "a", "b", "sil"], ["sil", "b", "b", "a", "sil"], ["sil", "a", "sil"]]
VOCAB = ["sil", "a", "b", "c"]  # "c" never occurs


def test_symbol_tables_and_topology(tmp_path) -> None:
    lang = Lang(["sil", "a", "b"], num_sil_states=5)
    assert lang.phones_txt().split("\n")[:2] == ["<eps> 0", "sil 1"]
    words = lang.words_txt().split()
    assert words[-6:] == ["#0", "4", "<s>", "5", "</s>", "6"]
    topo = lang.topology()
    assert topo.get_phone_to_num_pdf_classes() == [-1, 5, 3, 3]
    lang.save(tmp_path)
    assert Lang.load(tmp_path) == lang
    assert read_symbol_table(tmp_path / "phones.txt")["#0"] == 4
    assert lang.encode(["a", "sil"]) == [2, 1]
    with pytest.raises(LangError, match=r"utt1.*'zz'"):
        lang.encode(["a", "zz"], where="utt1")
    with pytest.raises(LangError, match="duplicate"):
        Lang(["a", "a"], silence=[])
    with pytest.raises(LangError, match="not in the phone list"):
        Lang(["a"], silence=["sil"])
    with pytest.raises(LangError, match=r"lang\.json"):
        Lang.load(tmp_path / "nowhere")


def test_witten_bell_distributions_sum_to_one() -> None:
    uni, backoff, big = witten_bell_bigram(SENTS, VOCAB)
    assert math.isclose(sum(uni.values()), 1.0, rel_tol=1e-12)
    assert uni["c"] > 0  # unseen phone keeps probability mass
    for v in ["<s>", "sil", "a", "b"]:
        total = sum(big.get((v, w), backoff[v] * uni[w]) for w in [*VOCAB, "</s>"])
        assert math.isclose(total, 1.0, rel_tol=1e-12), v
    with pytest.raises(LMError, match="'zz'"):
        witten_bell_bigram([["a", "zz"]], VOCAB)


def _sentence_cost(g, lang: Lang, sent: list[str]) -> float:
    """-ln p(sentence) under G: shortest path of (linear acceptor o G), backoff eps allowed."""
    ids = lang.encode(sent)
    acc = kaldifst.StdVectorFst()
    s = acc.add_state()
    acc.start = s
    for i in ids:
        n = acc.add_state()
        acc.add_arc(s, kaldifst.StdArc(i, i, 0.0, n))
        s = n
    acc.set_final(s, 0.0)
    # G has #0 on backoff arcs: let the acceptor skip them with a #0 self-loop everywhere
    for st in range(acc.num_states):
        acc.add_arc(st, kaldifst.StdArc(lang.disambig_id, lang.disambig_id, 0.0, st))
    kaldifst.arcsort(acc, sort_type="olabel")
    best = kaldifst.shortest_path(kaldifst.compose(acc, g))
    ok, _i, _o, w = kaldifst.get_linear_symbol_sequence(best)
    assert ok
    return float(w.value)


def test_g_fst_scores_sentences_with_the_bigram(tmp_path) -> None:
    lang = Lang(VOCAB)
    arpa = tmp_path / "G.arpa"
    arpa.write_text(bigram_arpa(SENTS, VOCAB))
    g = arpa_to_g(arpa, lang, tmp_path)
    uni, backoff, big = witten_bell_bigram(SENTS, VOCAB)

    def p(v: str, w: str) -> float:
        return big.get((v, w), backoff.get(v, 1.0) * uni[w])

    for sent in (["sil", "a", "b", "sil"], ["sil", "c", "a", "sil"], ["b", "c"]):
        toks = ["<s>", *sent, "</s>"]
        want = -sum(math.log(p(v, w)) for v, w in itertools.pairwise(toks))
        assert _sentence_cost(g, lang, sent) == pytest.approx(want, abs=1e-3)


def test_lexicon_fst_maps_phones_to_words() -> None:
    lang = Lang(["sil", "a"])
    L = lang.lexicon_fst(disambig=True)
    arcs = sorted((a.ilabel, a.olabel) for a in kaldifst.ArcIterator(L, L.start))
    assert arcs == [(1, 1), (2, 2), (3, 3)]
    assert np.isclose(float(L.final(L.start).value), 0.0)
