"""Decoding and training graphs: Kaldi's ``mkgraph.sh`` and ``compile-train-graphs``.

HCLG = min(det(H o min(det(C o min(det(L_disambig o G)))))) with self-loops added last, built
with kaldifst (composition, ``determinize_star``, ``minimize_encoded``, ``compose_context``)
and kaldi-hmm-gmm (``get_h_transducer``, ``add_self_loops``). Input labels of HCLG are
transition ids, output labels word (= phone) ids. Training graphs are compiled without
transition probabilities (scale 0, as ``compile-train-graphs`` does); the aligner adds them at
every pass because they change during training.
"""

from __future__ import annotations

import os

from pase.asr.hmm import HmmModel
from pase.asr.kaldi_wheels import kaldifst, khg


class GraphError(ValueError):
    """A graph that cannot be built (empty composition, unknown symbols)."""


def _rebuild(fst, map_ilabel):
    """Copy ``fst`` with input labels passed through ``map_ilabel`` (no in-place arc edit API)."""
    out = kaldifst.StdVectorFst()
    n = fst.num_states
    for _ in range(n):
        out.add_state()
    if n:
        out.start = fst.start
    for s in range(n):
        w = fst.final(s)
        out.set_final(s, w)
        for a in kaldifst.ArcIterator(fst, s):
            out.add_arc(s, kaldifst.StdArc(map_ilabel(a.ilabel), a.olabel, a.weight, a.nextstate))
    return out


def make_hclg(
    hmm: HmmModel,
    g_fst,
    *,
    transition_scale: float = 1.0,
    self_loop_scale: float = 0.1,
):
    """Build HCLG for ``hmm`` and the grammar ``g_fst`` (Kaldi ``utils/mkgraph.sh``).

    Args:
        hmm: monophone HMM (its lang gives L and ``#0``).
        g_fst: ``kaldifst.StdVectorFst`` grammar over word ids (e.g. :func:`pase.asr.lm.arpa_to_g`).
        transition_scale, self_loop_scale: Kaldi's ``--transition-scale`` (1.0) and
            ``--self-loop-scale`` (0.1) of mkgraph.

    Returns:
        ilabel-sorted ``kaldifst.StdVectorFst`` over transition ids.
    """
    lang = hmm.lang
    disambig = lang.disambig_id
    L = lang.lexicon_fst(disambig=True)
    kaldifst.arcsort(g_fst, sort_type="ilabel")
    LG = kaldifst.compose(L, g_fst)
    if LG.num_states == 0:
        raise GraphError("L o G is empty: does the grammar use symbols outside words.txt?")
    kaldifst.determinize_star(LG, use_log=True)
    kaldifst.minimize_encoded(LG)
    CLG, ilabels = kaldifst.compose_context(
        disambig_syms=[disambig],
        context_width=hmm.tree.context_width,
        central_position=hmm.tree.central_position,
        ifst=LG,
    )
    kaldifst.arcsort(CLG, sort_type="ilabel")
    Ha, disambig_tids = khg.get_h_transducer(
        ilabel_info=ilabels,
        ctx_dep=hmm.tree,
        trans_model=hmm.tm,
        config=khg.HTransducerConfig(transition_scale=transition_scale),
    )
    HCLGa = kaldifst.compose(Ha, CLG)
    kaldifst.determinize_star(HCLGa, use_log=True)
    drop = set(disambig_tids)
    HCLGa = _rebuild(HCLGa, lambda i: 0 if i in drop else i)
    kaldifst.rmepsilon(HCLGa)
    kaldifst.minimize_encoded(HCLGa)
    HCLG = khg.add_self_loops(
        self_loop_scale=self_loop_scale,
        disambig_syms=[],
        reorder=True,
        trans_model=hmm.tm,
        ifst=HCLGa,
    )
    kaldifst.arcsort(HCLG, sort_type="ilabel")
    if HCLG.num_states == 0:
        raise GraphError("HCLG is empty")
    return HCLG


def write_fst(fst, path: str | os.PathLike) -> None:
    """Write an FST in OpenFst binary format via a temporary file + rename (atomic)."""
    path = os.fspath(path)
    tmp = f"{path}.tmp.{os.getpid()}"
    if not fst.write(tmp):
        raise GraphError(f"{path}: could not write the FST")
    os.replace(tmp, path)


def read_fst(path: str | os.PathLike):
    """Read an OpenFst binary ``StdVectorFst`` (errors name the file)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GraphError(f"{path}: FST file does not exist")
    fst = kaldifst.StdVectorFst.read(path)
    if fst is None:
        raise GraphError(f"{path}: not a readable OpenFst vector FST")
    return fst


class TrainingGraphs:
    """Per-utterance alignment graphs (Kaldi ``compile-train-graphs``), compiled once.

    ``graph(utt)`` returns a fresh copy with the current transition probabilities of the HMM
    added (``transition_scale`` 1.0, ``self_loop_scale`` 0.1 as ``gmm-align-compiled``).
    """

    def __init__(self, hmm: HmmModel, texts: dict[str, list[int]]) -> None:
        self.hmm = hmm
        self._L = hmm.lang.lexicon_fst(disambig=False)
        opts = khg.TrainingGraphCompilerOptions(transition_scale=0.0, self_loop_scale=0.0)
        self._compiler = khg.TrainingGraphCompiler(
            trans_model=hmm.tm, ctx_dep=hmm.tree, lex_fst=self._L, disambig_syms=[], opts=opts
        )
        self.graphs = {}
        for utt, words in texts.items():
            if not words:
                raise GraphError(f"utterance {utt!r}: empty transcript")
            g = self._compiler.compile_graph_from_text(list(words))
            if g.num_states == 0:
                raise GraphError(f"utterance {utt!r}: empty training graph")
            self.graphs[utt] = g

    def graph(self, utt: str, *, transition_scale: float = 1.0, self_loop_scale: float = 0.1):
        """The graph of ``utt`` with transition log-probs of the current model added."""
        g = self.graphs[utt].copy()
        khg.add_transition_probs(
            trans_model=self.hmm.tm,
            transition_scale=transition_scale,
            self_loop_scale=self_loop_scale,
            fst=g,
        )
        return g
