"""Mapped decoding through the k2-fsa wheels against an exhaustive reference.

Kaldi's ``latgen-faster-mapped`` semantics: the best path minimises
``sum(graph arc costs) + final cost - acwt * sum_t loglike[t, pdf(tid_t)]`` over paths of
the graph that consume exactly one input (transition id) per frame; input-epsilon arcs consume
none. The reference below enumerates every such path of a small hand-made graph.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pase.asr.decode import (
    DecodeConfig,
    DecodeError,
    decode_best,
    decode_lattice,
    lattice_best_path,
    mapped_matrix,
    sweep,
)
from pase.asr.kaldi_wheels import kaldifst

# tid -> pdf (index 0 unused): three transition ids sharing two pdfs
TID2PDF = np.array([-1, 0, 1, 1])
# (src, tid, word, cost, dst); tid 0 = input epsilon
ARCS = [
    (0, 1, 1, 0.5, 1),
    (0, 2, 2, 1.0, 2),
    (1, 1, 0, 0.2, 1),
    (1, 3, 3, 0.3, 2),
    (2, 2, 0, 0.1, 2),
    (2, 0, 4, 0.7, 1),
    (2, 3, 5, 2.0, 0),
]
FINALS = {1: 0.1, 2: 0.0}


def hand_graph():
    fst = kaldifst.StdVectorFst()
    for _ in range(3):
        fst.add_state()
    fst.start = 0
    for s, w in FINALS.items():
        fst.set_final(s, w)
    for src, tid, word, cost, dst in ARCS:
        fst.add_arc(src, kaldifst.StdArc(tid, word, cost, dst))
    kaldifst.arcsort(fst, sort_type="ilabel")
    return fst


def brute_force(loglikes: np.ndarray, graph_scale: float, ac_scale: float):
    """All complete paths; returns sorted [(cost, words, tids)]."""
    T = loglikes.shape[0]
    out = []

    def walk(state, t, cost, words, tids, eps_run):
        if t == T and state in FINALS:
            out.append((cost + graph_scale * FINALS[state], tuple(words), tuple(tids)))
        for src, tid, word, c, dst in ARCS:
            if src != state:
                continue
            if tid == 0:
                if eps_run < 2:
                    walk(
                        dst,
                        t,
                        cost + graph_scale * c,
                        words + [word] * bool(word),
                        tids,
                        eps_run + 1,
                    )
            elif t < T:
                ac = -ac_scale * loglikes[t, TID2PDF[tid]]
                walk(
                    dst,
                    t + 1,
                    cost + graph_scale * c + ac,
                    words + [word] * bool(word),
                    [*tids, tid],
                    0,
                )

    walk(0, 0, 0.0, [], [], 0)
    return sorted(out)


@pytest.mark.parametrize("seed", range(6))
def test_best_path_matches_exhaustive_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    loglikes = rng.normal(size=(6, 2)).astype(np.float32) * 3
    cfg = DecodeConfig(acwt=0.2, beam=1000.0, lattice_beam=1000.0, max_active=7000)
    ref = brute_force(loglikes, 1.0, cfg.acwt)
    best_cost, best_words, best_tids = ref[0]
    assert ref[1][0] - best_cost > 1e-3, "test needs a unique optimum"
    words, tids = decode_best(hand_graph(), loglikes, TID2PDF, cfg)
    assert tuple(tids) == best_tids
    assert tuple(words) == best_words
    # the lattice holds the unscaled acoustic costs: LM weight 1/acwt is the decoding objective
    lat = decode_lattice(hand_graph(), loglikes, TID2PDF, cfg)
    w2, t2 = lattice_best_path(lat, 1.0 / cfg.acwt)
    assert tuple(t2) == best_tids and tuple(w2) == best_words


@pytest.mark.parametrize("lmwt", [1, 3, 10])
def test_lattice_lm_weight_sweep_matches_reference(lmwt: int) -> None:
    rng = np.random.default_rng(42)
    loglikes = rng.normal(size=(7, 2)).astype(np.float32) * 2
    cfg = DecodeConfig(acwt=0.2, beam=1000.0, lattice_beam=1000.0)
    lat = decode_lattice(hand_graph(), loglikes, TID2PDF, cfg)
    # Kaldi scoring: graph cost + acoustic cost / LMWT  (lattice-scale --inv-acoustic-scale)
    ref = brute_force(loglikes, 1.0, 1.0 / lmwt)
    words, tids = lattice_best_path(lat, lmwt)
    assert tuple(tids) == ref[0][2]
    assert tuple(words) == ref[0][1]


def test_word_insertion_penalty_changes_choice() -> None:
    rng = np.random.default_rng(3)
    loglikes = rng.normal(size=(6, 2)).astype(np.float32)
    cfg = DecodeConfig(acwt=0.2, beam=1000.0, lattice_beam=1000.0, word_ins_penalty=(0.0, 5.0))
    lat = decode_lattice(hand_graph(), loglikes, TID2PDF, cfg)
    res = sweep(lat, cfg)
    for (lmwt, wip), words in res.items():
        # reference with a penalty: every word arc costs wip more
        ref = brute_force(loglikes, 1.0, 1.0 / lmwt)
        pen = min(ref, key=lambda r: r[0] + wip * len(r[1]))
        assert tuple(words) == pen[1], (lmwt, wip)
    # a large penalty prefers fewer words than no penalty at some weight
    assert any(len(res[(w, 5.0)]) < len(res[(w, 0.0)]) for w in cfg.lmwts)


def test_mapped_matrix_layout_and_errors() -> None:
    ll = np.array([[0.0, -1.0], [-2.0, -3.0]], dtype=np.float32)
    m = mapped_matrix(ll, TID2PDF, 0.5)
    # column tid-1 holds acwt * loglike[:, pdf(tid)]
    np.testing.assert_allclose(m, [[0.0, -0.5, -0.5], [-1.0, -1.5, -1.5]])
    with pytest.raises(DecodeError, match="3 columns"):
        mapped_matrix(np.zeros((2, 3)), TID2PDF, 0.2)
    with pytest.raises(DecodeError, match="NaN"):
        mapped_matrix(np.array([[0.0, math.nan]]), TID2PDF, 0.2)


def test_decode_config_reads_original_decoder_cfg(tmp_path) -> None:
    p = tmp_path / "decoder.cfg"
    p.write_text(
        '{"min_active": "200", "max_active": "7000", "max_mem": "50000000", "beam": "13.0",'
        ' "latbeam": "8.0", "acwt": "0.2", "max_arcs": "-1", "skip_scoring": "false",'
        ' "scoring_opts": "--min-lmwt 1 --max-lmwt 10", "norm_vars": "False"}'
    )
    cfg = DecodeConfig.from_file(p)
    assert (cfg.acwt, cfg.beam, cfg.lattice_beam, cfg.max_active, cfg.min_active) == (
        0.2,
        13.0,
        8.0,
        7000,
        200,
    )
    assert cfg.lmwts == list(range(1, 11))
    p.write_text("acwt: 0.1\nword_ins_penalty: '0.0,0.5'\nmax_lmwt: 3\n")
    cfg = DecodeConfig.from_file(p)
    assert cfg.acwt == 0.1 and cfg.word_ins_penalty == (0.0, 0.5) and cfg.lmwts == [1, 2, 3]
    p.write_text('{"acwt": "-1"}')
    with pytest.raises(DecodeError, match=str(p)):
        DecodeConfig.from_file(p)
