"""Alignment sources: phone boundaries (.PHN/CTM) and Kaldi alignment dirs."""

from __future__ import annotations

import numpy as np
import pytest

from pase.asr.alignments import (
    AlignmentError,
    kaldi_alignments,
    kaldi_num_frames,
    kaldi_pdf_alignments,
    phn_alignments,
)
from pase.asr.hmm import HmmModel
from pase.asr.kaldi_format import write_alignments, write_model
from pase.asr.lang import Lang
from pase.asr.mono import MonoConfig, train_mono
from tests.asr.toy import PHONES, make_corpus


def test_kaldi_frame_count() -> None:
    assert kaldi_num_frames(16000) == 98
    assert kaldi_num_frames(399) == 0 and kaldi_num_frames(400) == 1


def test_phn_alignments_follow_boundaries() -> None:
    hmm = HmmModel(Lang(PHONES))
    # sil 0-0.1 s, aa 0.1-0.35 s, b 0.35-0.37 s (too short: borrows frames), sil to 0.6 s
    ctm = {"u1": [(0.0, 0.1, "sil"), (0.1, 0.35, "aa"), (0.35, 0.37, "b"), (0.37, 0.6, "sil")]}
    T = kaldi_num_frames(int(0.6 * 16000))
    ali, skipped = phn_alignments(ctm, {"u1": T}, hmm)
    assert not skipped
    segs = hmm.tids_to_phones(ali["u1"])
    assert [hmm.lang.id_to_phone[p] for p, _ in segs] == ["sil", "aa", "b", "sil"]
    n = [k for _, k in segs]
    assert sum(n) == T and n[2] == 3  # the 2-frame "b" got its 3 states
    assert abs(n[0] - 9) <= 1 and abs(n[1] - 25) <= 2
    # states run 0,1,2 within each phone
    pdfs = hmm.tids_to_pdfs(ali["u1"])
    assert pdfs[0] == hmm.pdf_of(1, 0) and pdfs[T - 1] == hmm.pdf_of(1, 2)
    # too short an utterance is skipped, an unknown phone is an error
    ali, skipped = phn_alignments(ctm, {"u1": 5}, hmm)
    assert skipped == ["u1"] and not ali
    with pytest.raises(ValueError, match="u2"):
        phn_alignments({"u2": [(0.0, 0.5, "zz")]}, {"u2": 48}, hmm)
    with pytest.raises(AlignmentError, match="u3"):
        phn_alignments(ctm, {"u3": 10}, hmm)


@pytest.fixture(scope="module")
def kaldi_dir(tmp_path_factory):
    """An alignment dir in Kaldi's formats, made by our trainer (5-state silence)."""
    lang = Lang(PHONES, num_sil_states=5)
    feats, texts, _ = make_corpus(30, seed=2)
    res = train_mono(feats, texts, lang, MonoConfig(num_iters=4, realign_iters=(1, 2, 3)))
    d = tmp_path_factory.mktemp("kaldi_ali")
    write_model(d / "final.mdl", res.hmm, res.gmm)
    utts = sorted(res.alignments)
    write_alignments(d / "ali.1.gz", {u: res.alignments[u] for u in utts[:15]})
    write_alignments(d / "ali.2.gz", {u: res.alignments[u] for u in utts[15:]})
    # Kaldi phones.txt with word-position suffixes, as prepare_lang.sh writes by default
    rows = ["<eps> 0"] + [f"{p}_S {i}" for i, p in enumerate(PHONES, 1)] + ["#0 6"]
    (d / "phones.txt").write_text("\n".join(rows) + "\n")
    return d, res, texts


def test_kaldi_dir_same_topology_is_identity(kaldi_dir) -> None:
    d, res, _ = kaldi_dir
    ali = kaldi_alignments(d, res.hmm)
    assert sorted(ali) == sorted(res.alignments)
    for u, tids in ali.items():
        np.testing.assert_array_equal(tids, res.alignments[u])
    pdfs, num_pdfs = kaldi_pdf_alignments(d)
    assert num_pdfs == res.hmm.num_pdfs
    for u in pdfs:
        np.testing.assert_array_equal(pdfs[u], res.hmm.tids_to_pdfs(res.alignments[u]))


def test_kaldi_dir_into_other_topology(kaldi_dir) -> None:
    d, res, texts = kaldi_dir
    ours = HmmModel(Lang(PHONES, num_sil_states=3))  # Kaldi's has 5-state silence
    ali = kaldi_alignments(d, ours)
    for u, tids in ali.items():
        assert len(tids) == len(res.alignments[u])
        kphones = [p for p, _ in res.hmm.tids_to_phones(res.alignments[u])]
        assert [p for p, _ in ours.tids_to_phones(tids)] == kphones
        assert ours.lang.decode(kphones) == texts[u]


def test_kaldi_dir_errors(kaldi_dir, tmp_path) -> None:
    d, res, _ = kaldi_dir
    with pytest.raises(AlignmentError, match="not in our phone set"):
        kaldi_alignments(d, HmmModel(Lang(["sil", "x", "y"])))
    with pytest.raises(AlignmentError, match=r"phones\.txt"):
        kaldi_alignments(d, res.hmm, phones_txt=tmp_path / "none.txt")
