"""Monophone HMM structure, Kaldi model/alignment files, and flat-start HMM-GMM training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pase.asr import gmm
from pase.asr.hmm import HmmError, HmmModel
from pase.asr.kaldi_format import (
    KaldiFormatError,
    gconsts,
    read_alignments,
    read_transition_model,
    write_alignments,
    write_model,
)
from pase.asr.lang import Lang
from pase.asr.mono import MonoConfig, train_mono
from tests.asr.toy import PHONES, make_corpus


@pytest.fixture(scope="module")
def lang() -> Lang:
    return Lang(PHONES, num_sil_states=5)


def test_tid_maps_agree_with_kaldi_numbering(lang: Lang, tmp_path) -> None:
    hmm = HmmModel(lang)
    assert hmm.num_pdfs == 5 + 3 * 4
    # our final.mdl, re-read by the independent Kaldi-format parser: same tid numbering
    write_model(tmp_path / "final.mdl", hmm)
    ktm = read_transition_model(tmp_path / "final.mdl")
    table = ktm.tid_table()
    assert table.shape[0] == hmm.num_tids + 1
    np.testing.assert_array_equal(table[1:, 0], hmm.tid2phone[1:])
    np.testing.assert_array_equal(table[1:, 1], hmm.tid2state[1:])
    np.testing.assert_array_equal(table[1:, 2], hmm.tid2pdf[1:])
    np.testing.assert_array_equal(table[1:, 4].astype(bool), hmm.tid_is_self_loop[1:])
    np.testing.assert_allclose(ktm.log_probs, hmm.log_probs, atol=1e-6)
    assert ktm.num_pdfs == hmm.num_pdfs


def test_text_format_transition_model(tmp_path) -> None:
    # As printed by Kaldi's `copy-transition-model --binary=false` (2 phones, 1-state HMMs).
    (tmp_path / "final.mdl").write_text(
        "<TransitionModel>\n<Topology>\n<TopologyEntry>\n<ForPhones>\n1 2\n</ForPhones>\n"
        "<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>\n"
        "<State> 1 </State>\n</TopologyEntry>\n</Topology>\n"
        "<Triples> 2\n1 0 0\n2 0 1\n</Triples>\n"
        "<LogProbs>\n [ 0 -0.1 -2.3 -0.2 -1.7 ]\n</LogProbs>\n</TransitionModel>\n"
    )
    ktm = read_transition_model(tmp_path / "final.mdl")
    t = ktm.tid_table()
    assert t[1:, 0].tolist() == [1, 1, 2, 2]
    assert t[1:, 2].tolist() == [0, 0, 1, 1]
    assert t[1:, 4].tolist() == [1, 0, 1, 0]
    (tmp_path / "bad.mdl").write_text("<TransitionModel>\n<Topo>\n")
    with pytest.raises(KaldiFormatError, match=r"bad\.mdl"):
        read_transition_model(tmp_path / "bad.mdl")
    (tmp_path / "short.mdl").write_bytes(b"\0B<TransitionModel> <Topology> \x04")
    with pytest.raises(KaldiFormatError, match=r"short\.mdl"):
        read_transition_model(tmp_path / "short.mdl")


def test_states_tids_and_phone_segments_round_trip(lang: Lang) -> None:
    hmm = HmmModel(lang)
    phones = lang.encode(["sil", "aa", "aa", "s", "sil"])
    states, inst = [], 0
    durs = {0: [2, 1, 1, 1, 3], 1: [2, 2, 1], 2: [1, 1, 1], 3: [3, 1, 2], 4: [1, 1, 1, 1, 1]}
    for inst, _p in enumerate(phones):
        for s, d in enumerate(durs[inst]):
            states += [(inst, s)] * d
    tids = hmm.states_to_tids(phones, np.array(states))
    segs = hmm.tids_to_phones(tids)
    assert [p for p, _ in segs] == phones  # the repeated "aa aa" stays two instances
    assert [n for _, n in segs] == [sum(durs[i]) for i in range(len(phones))]
    pdfs = hmm.tids_to_pdfs(tids)
    assert pdfs[0] == hmm.pdf_of(phones[0], 0)
    with pytest.raises(HmmError, match="utt7"):
        hmm.tids_to_pdfs(np.array([0, 1]), "utt7")


def test_alignment_archives_round_trip(tmp_path) -> None:
    ali = {"u2": np.array([3, 3, 4], dtype=np.int32), "u1": np.array([1], dtype=np.int32)}
    write_alignments(tmp_path / "ali.1.gz", ali)
    back = read_alignments(tmp_path / "ali.1.gz")
    assert sorted(back) == ["u1", "u2"]
    np.testing.assert_array_equal(back["u2"], ali["u2"])
    # Kaldi's Int32VectorWriter bytes for the same entry (size byte 4 before every int)
    raw = b"u1 \0B\x04\x01\x00\x00\x00\x04\x01\x00\x00\x00"
    (tmp_path / "k.ark").write_bytes(raw)
    assert read_alignments(tmp_path / "k.ark")["u1"].tolist() == [1]
    (tmp_path / "junk.gz").write_bytes(b"not gzip")
    with pytest.raises(KaldiFormatError, match=r"junk\.gz"):
        read_alignments(tmp_path / "junk.gz")


def test_gmm_params_save_load_and_deterministic_mixup(tmp_path) -> None:
    rng = np.random.default_rng(0)
    p = gmm.GmmParams.init_global(3, rng.normal(size=4), rng.uniform(0.5, 2, size=4))
    occ = np.array([100.0, 30.0, 5.0])
    a, b = gmm.GmmParams.init_global(3, p.means[0][0], p.vars[0][0]), p
    a.mixup(occ, 6, rng=np.random.default_rng(1))
    b.mixup(occ, 6, rng=np.random.default_rng(1))
    assert [w.shape[0] for w in a.weights] == [4, 1, 1]  # min_count 20 frames per Gaussian
    for x, y in zip(a.means, b.means):
        np.testing.assert_array_equal(x, y)
    assert all(np.isclose(w.sum(), 1.0) for w in a.weights)
    # the gconsts we write into final.mdl are Kaldi's own
    am = a.to_kaldi()
    for k in range(3):
        want = np.asarray(am.get_pdf(k).gconsts, dtype=np.float64)
        np.testing.assert_allclose(gconsts(a.weights[k], a.means[k], a.vars[k]), want, rtol=1e-5)
    a.save(tmp_path / "gmm.npz")
    c = gmm.GmmParams.load(tmp_path / "gmm.npz")
    assert c.num_gauss == a.num_gauss
    np.testing.assert_array_equal(c.means[0], a.means[0])
    with pytest.raises(gmm.GmmError, match=r"nothing\.npz"):
        gmm.GmmParams.load(tmp_path / "nothing.npz")


def test_flat_start_training_improves_likelihood_and_alignments(lang: Lang, tmp_path) -> None:
    feats, texts, _ = make_corpus(60, seed=1)
    cfg = MonoConfig(num_iters=8, realign_iters=(1, 2, 3, 5, 7), tot_gauss=40, max_iter_inc=6)
    res = train_mono(feats, texts, lang, cfg)
    like = [h["like_per_frame"] for h in res.history]
    assert like[-1] > like[0] + 2.0  # nats per frame
    assert all(b >= a - 0.05 for a, b in itertools.pairwise(like[2:]))  # EM: no regression
    assert res.gmm.num_gauss > res.hmm.num_pdfs  # mixed up
    # Viterbi alignments follow the transcripts
    for utt, tids in res.alignments.items():
        assert len(tids) == feats[utt].shape[0]
        assert [p for p, _ in res.hmm.tids_to_phones(tids)] == lang.encode(texts[utt])
    # the trained transition model survives save/load exactly
    res.hmm.save(tmp_path / "hmm.npz")
    back = HmmModel.load(lang, tmp_path / "hmm.npz")
    np.testing.assert_allclose(back.log_probs, res.hmm.log_probs)
    assert back.tm.__getstate__()[7] == pytest.approx(res.hmm.tm.__getstate__()[7], abs=1e-6)
    with pytest.raises(HmmError, match="tree does not match"):
        HmmModel.load(Lang(PHONES[:-1]), tmp_path / "hmm.npz")


def test_training_is_reproducible(lang: Lang) -> None:
    feats, texts, _ = make_corpus(20, seed=5)
    cfg = MonoConfig(num_iters=4, realign_iters=(1, 2, 3), tot_gauss=30, max_iter_inc=3)
    a = train_mono(feats, texts, lang, cfg)
    b = train_mono(feats, texts, lang, cfg)
    assert [h["like_per_frame"] for h in a.history] == [h["like_per_frame"] for h in b.history]
    for u in a.alignments:
        np.testing.assert_array_equal(a.alignments[u], b.alignments[u])
