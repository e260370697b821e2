"""Monophone HMM-GMM training with flat start (Kaldi ``steps/train_mono.sh``).

1. every pdf starts as one Gaussian with the global mean/variance (``gmm-init-mono``);
2. equal alignment of each utterance's training graph (``align-equal-compiled``);
3. ``num_iters`` EM passes: accumulate statistics on the current alignment, re-estimate the
   GMMs and the transition probabilities, mix up towards ``tot_gauss`` Gaussians, and realign
   with Viterbi (``gmm-align-compiled``) on the ``realign_iters``.

The result is a frame-level transition-id alignment of every training utterance, from which
the hybrid acoustic model gets its pdf targets and priors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pase.asr import gmm
from pase.asr.graph import TrainingGraphs
from pase.asr.hmm import HmmModel
from pase.asr.kaldi_wheels import kaldifst, khg
from pase.asr.lang import Lang

log = logging.getLogger(__name__)

KALDI_REALIGN_ITERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26, 29, 32, 35, 38)


class AlignError(ValueError):
    """No usable alignment (every utterance failed, or none long enough)."""


@dataclass
class MonoConfig:
    """Hyper-parameters of monophone training; defaults are Kaldi ``train_mono.sh``'s."""

    num_iters: int = 40
    realign_iters: tuple[int, ...] = KALDI_REALIGN_ITERS
    tot_gauss: int = 1000
    max_iter_inc: int = 30
    power: float = 0.25
    perturb: float = 0.01
    min_count: float = 20.0
    first_beam: float = 6.0
    beam: float = 10.0
    retry_beam: float = 40.0
    acoustic_scale: float = 0.1
    transition_scale: float = 1.0
    self_loop_scale: float = 0.1
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> MonoConfig:
        """Build from a config mapping (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        bad = set(d) - known
        if bad:
            raise ValueError(f"unknown monophone option(s): {sorted(bad)}; known: {sorted(known)}")
        d = dict(d)
        if "realign_iters" in d:
            d["realign_iters"] = tuple(int(x) for x in d["realign_iters"])
        return cls(**d)


@dataclass
class MonoResult:
    """Trained model, alignments (utt -> (T,) int32 transition ids) and per-pass history."""

    hmm: HmmModel
    gmm: gmm.GmmParams
    alignments: dict[str, np.ndarray]
    history: list[dict] = field(default_factory=list)


def equal_alignment(graphs: TrainingGraphs, utt: str, num_frames: int, seed: int) -> np.ndarray:
    """Kaldi ``align-equal-compiled`` for one utterance: (T,) int32 transition ids."""
    ok, afst = kaldifst.equal_align(
        ifst=graphs.graphs[utt], length=num_frames, rand_seed=seed, num_retries=10
    )
    if not ok:
        raise AlignError(f"utterance {utt!r}: no path of {num_frames} frames in its graph")
    ok, tids, _words, _w = kaldifst.get_linear_symbol_sequence(afst)
    if not ok or len(tids) != num_frames:
        raise AlignError(f"utterance {utt!r}: equal alignment failed")
    return np.asarray(tids, dtype=np.int32)


def viterbi_align(
    hmm: HmmModel,
    am,
    graphs: TrainingGraphs,
    utt: str,
    feats: np.ndarray,
    cfg: MonoConfig,
    beam: float,
) -> tuple[np.ndarray | None, float]:
    """Kaldi ``gmm-align-compiled`` for one utterance.

    Returns ``((T,) int32 tids or None on failure, acoustic log-likelihood)``.
    """
    fst = graphs.graph(
        utt, transition_scale=cfg.transition_scale, self_loop_scale=cfg.self_loop_scale
    )
    dec = khg.DecodableAmDiagGmmScaled(
        am=am,
        tm=hmm.tm,
        feats=np.ascontiguousarray(feats, dtype=np.float32),
        scale=cfg.acoustic_scale,
    )
    out = khg.align_utterance_wrapper(
        config=khg.AlignConfig(beam=beam, retry_beam=cfg.retry_beam, careful=False),
        utt=utt,
        acoustic_scale=cfg.acoustic_scale,
        fst=fst,
        decodable=dec,
        num_done=0,
        num_error=0,
        num_retried=0,
        tot_like=0.0,
        frame_count=0,
    )
    num_done, tot_like, ali = out[0], out[3], out[5]
    if num_done != 1 or len(ali) != feats.shape[0]:
        return None, 0.0
    return np.asarray(ali, dtype=np.int32), float(tot_like)


def min_frames(hmm: HmmModel, words: list[int]) -> int:
    """Fewest frames a transcript can be aligned to (one per emitting state)."""
    return sum(hmm.num_emitting_states(w) for w in words)


def train_mono(
    feats: dict[str, np.ndarray],
    texts: dict[str, list[str]],
    lang: Lang,
    cfg: MonoConfig | None = None,
    progress: Callable[[dict], None] | None = None,
) -> MonoResult:
    """Train a monophone HMM-GMM from a flat start.

    Args:
        feats: utt -> (T, D) float32 features (e.g. MFCC+deltas with per-speaker CMVN).
        texts: utt -> phone symbols of ``lang`` (the transcript).
        lang: phone inventory and topology.
        cfg: hyper-parameters (Kaldi defaults when None).
        progress: called with each pass's history entry.

    Returns:
        :class:`MonoResult`; utterances too short for their transcript are left out (warned).
    """
    cfg = cfg or MonoConfig()
    hmm = HmmModel(lang)
    words = {}
    for utt, phones in texts.items():
        if utt not in feats:
            continue
        words[utt] = lang.encode(phones, where=f"utterance {utt!r}")
    short = [u for u, w in words.items() if feats[u].shape[0] < min_frames(hmm, w)]
    if short:
        log.warning(
            "%d utterance(s) have fewer frames than HMM states in their transcript and are "
            "skipped: %s",
            len(short),
            " ".join(short[:20]) + (" ..." if len(short) > 20 else ""),
        )
    for u in short:
        del words[u]
    if not words:
        raise AlignError("no utterance with both features and a usable transcript")
    missing = [u for u in texts if u not in feats]
    if missing:
        log.warning(
            "%d utterance(s) have a transcript but no features: %s",
            len(missing),
            " ".join(missing[:20]),
        )
    utts = sorted(words)
    graphs = TrainingGraphs(hmm, {u: words[u] for u in utts})

    x_all = np.concatenate([feats[u] for u in utts]).astype(np.float64)
    params = gmm.GmmParams.init_global(hmm.num_pdfs, x_all.mean(0), x_all.var(0))
    del x_all
    rng = np.random.default_rng(cfg.seed)
    ali = {
        u: equal_alignment(graphs, u, feats[u].shape[0], cfg.seed + i) for i, u in enumerate(utts)
    }
    num_gauss = hmm.num_pdfs
    inc_gauss = max(0, (cfg.tot_gauss - num_gauss) // max(cfg.max_iter_inc, 1))
    history: list[dict] = []
    beam = cfg.first_beam
    for it in range(cfg.num_iters):
        entry: dict = {"iter": it}
        am = params.to_kaldi()
        if it > 0 and it in cfg.realign_iters:
            tot, frames, failed = 0.0, 0, 0
            for u in utts:
                a, like = viterbi_align(hmm, am, graphs, u, feats[u], cfg, beam)
                if a is None:
                    failed += 1
                    continue
                ali[u] = a
                tot += like
                frames += a.shape[0]
            beam = cfg.beam
            entry.update(
                realigned=True, align_failed=failed, align_like_per_frame=tot / max(frames, 1)
            )
            if failed == len(utts):
                raise AlignError("every utterance failed to align: features or transcripts bad?")
        pdf_ali = {u: hmm.tids_to_pdfs(a, u) for u, a in ali.items()}
        accs, tot_like, n = gmm.accumulate(am, feats, pdf_ali)
        occ = gmm.update(am, accs, min_gaussian_occupancy=3.0 if it == 0 else 10.0)
        hmm.update_transitions(hmm.transition_stats(ali))
        params = gmm.GmmParams.from_kaldi(am)
        params.mixup(
            occ, num_gauss, power=cfg.power, min_count=cfg.min_count, perturb=cfg.perturb, rng=rng
        )
        if it < cfg.max_iter_inc:
            num_gauss = min(cfg.tot_gauss, num_gauss + inc_gauss)
        entry.update(like_per_frame=tot_like / max(n, 1), frames=n, num_gauss=params.num_gauss)
        history.append(entry)
        log.info("mono iter %d: %s", it, entry)
        if progress:
            progress(entry)
    return MonoResult(hmm=hmm, gmm=params, alignments=ali, history=history)


def align(
    result_hmm: HmmModel,
    params: gmm.GmmParams,
    feats: dict[str, np.ndarray],
    texts: dict[str, list[str]],
    cfg: MonoConfig | None = None,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Align new data with a trained model (Kaldi ``align_si.sh``).

    Returns ``(alignments, failed utterance ids)``.
    """
    cfg = cfg or MonoConfig()
    lang = result_hmm.lang
    words = {u: lang.encode(p, where=f"utterance {u!r}") for u, p in texts.items() if u in feats}
    graphs = TrainingGraphs(result_hmm, words)
    am = params.to_kaldi()
    out, failed = {}, []
    for u in sorted(words):
        a, _ = viterbi_align(result_hmm, am, graphs, u, feats[u], cfg, cfg.beam)
        if a is None:
            failed.append(u)
        else:
            out[u] = a
    return out, failed
