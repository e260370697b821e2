"""PER scoring: 48->39 folding, edit counts, sweep files, LM-weight choice on dev."""

from __future__ import annotations

import pytest

from pase.asr.scoring import (
    ErrorCounts,
    PhoneMap,
    ScoringError,
    choose,
    count_errors,
    read_text,
    score_sweep,
    summary,
)


def test_folding_and_counts() -> None:
    pm = PhoneMap.load()
    assert pm.fold61(["h#", "q", "ix", "bcl", "b"]) == ["sil", "ix", "vcl", "b"]
    assert pm.fold48(["sil", "ix", "vcl", "cl", "zh", "ao"]) == [
        "sil",
        "ih",
        "sil",
        "sil",
        "sh",
        "aa",
    ]
    refs = {"u1": ["sil", "ix", "b", "sil"], "u2": ["aa", "zh"]}
    hyps = {"u1": ["sil", "ih", "p", "sil", "sil"]}  # ix~ih after folding; b->p; one insertion
    c = count_errors(refs, hyps, pm)
    assert (c.sub, c.ins, c.dels, c.ref, c.missing) == (1, 1, 2, 6, 1)  # u2 all deleted
    assert c.per == pytest.approx(100 * 4 / 6)
    assert c.kaldi_line() == "%PER 66.67 [ 4 / 6, 1 ins, 2 del, 1 sub ]"
    # without folding ix vs ih is an error
    assert count_errors(refs, hyps).sub == 2
    with pytest.raises(ScoringError, match="'zz'"):
        count_errors({"u": ["zz"]}, {"u": []}, pm)
    with pytest.raises(ScoringError, match="not in the reference"):
        count_errors(refs, {"u9": []})
    with pytest.raises(ScoringError, match="unknown TIMIT phone"):
        pm.fold61(["xx"], where="a.PHN")


def test_sweep_files_and_choice(tmp_path) -> None:
    refs = {"a": ["sil", "aa", "sil"], "b": ["sil", "iy", "sil"]}
    hyps = {
        (1, 0.0): {"a": ["sil", "aa", "sil"], "b": ["sil", "sil"]},
        (2, 0.0): {"a": ["sil", "aa", "sil"], "b": ["sil", "iy", "sil"]},
        (3, 0.0): {"a": ["sil"], "b": ["sil"]},
    }
    counts = score_sweep(refs, hyps, tmp_path / "scoring", PhoneMap.load())
    assert counts[(2, 0.0)].per == 0.0
    assert (tmp_path / "scoring" / "per_1.txt").read_text().startswith("%PER 16.67 [ 1 / 6")
    assert read_text(tmp_path / "scoring" / "hyp_3.txt") == {"a": ["sil"], "b": ["sil"]}
    assert "per_2.txt" in (tmp_path / "scoring" / "best_per").read_text()
    dev = summary(counts)
    test = summary({k: ErrorCounts(0, 0, v, 10, 2) for k, v in ((k, k[0]) for k in hyps)})
    res = choose(dev, test)
    assert res["dev"]["lmwt"] == 2 and res["test"]["lmwt"] == 2
    assert res["test"]["per"] == 20.0  # test at the dev-chosen weight ...
    assert res["test"]["per_best_lmwt"] == 10.0 and res["test"]["best_lmwt"] == 1  # ... and best
    # several insertion penalties: Kaldi's <lmwt>_<wip> file names
    two = {(1, 0.0): hyps[(1, 0.0)], (1, 0.5): hyps[(2, 0.0)]}
    score_sweep(refs, two, tmp_path / "s2")
    assert (tmp_path / "s2" / "per_1_0.5.txt").is_file()
