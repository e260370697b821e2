"""Diagonal-covariance GMM acoustic model for HMM-GMM alignment, on kaldi-hmm-gmm.

The parameters live in numpy (:class:`GmmParams`: per pdf ``weights (M,)``, ``means (M, D)``,
``vars (M, D)``) so they can be saved without pickle (``.npz``) and mixed up deterministically;
accumulation, the ML update (``MleDiagGmmUpdate``) and likelihoods run in Kaldi's C++ code
through ``kaldi_hmm_gmm.AmDiagGmm`` / ``AccumAmDiagGmm``.

Mix-up follows Kaldi's ``AmDiagGmm::SplitByCount`` (targets proportional to occupancy**power,
at least ``min_count`` frames per Gaussian; the heaviest component is split, means perturbed by
``+-perturb * stddev``) but draws its perturbation from a seeded numpy generator, so training
is reproducible (Kaldi's internal RNG cannot be seeded from Python).
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pase.asr.kaldi_wheels import khg
from pase.io.atomic import atomic_open


class GmmError(ValueError):
    """Bad GMM input (feature dimension, pdf index, model file)."""


@dataclass
class GmmParams:
    """Per-pdf diagonal GMMs. ``weights[p]`` (M_p,), ``means[p]``/``vars[p]`` (M_p, D)."""

    weights: list[np.ndarray]
    means: list[np.ndarray]
    vars: list[np.ndarray]

    @property
    def num_pdfs(self) -> int:
        """Number of pdfs."""
        return len(self.weights)

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.means[0].shape[1])

    @property
    def num_gauss(self) -> int:
        """Total number of Gaussians."""
        return int(sum(w.shape[0] for w in self.weights))

    @classmethod
    def init_global(cls, num_pdfs: int, mean: np.ndarray, var: np.ndarray) -> GmmParams:
        """Kaldi ``gmm-init-mono``: every pdf one Gaussian with the global mean and variance."""
        mean = np.asarray(mean, dtype=np.float64).reshape(1, -1)
        var = np.maximum(np.asarray(var, dtype=np.float64).reshape(1, -1), 1e-3)
        return cls(
            [np.ones(1) for _ in range(num_pdfs)],
            [mean.copy() for _ in range(num_pdfs)],
            [var.copy() for _ in range(num_pdfs)],
        )

    # ---- Kaldi objects ------------------------------------------------------------------
    def to_kaldi(self):  # -> khg.AmDiagGmm
        """Build a ``khg.AmDiagGmm`` with these parameters (gconsts computed)."""
        am = khg.AmDiagGmm()
        for w, m, v in zip(self.weights, self.means, self.vars):
            g = khg.DiagGmm(nmix=w.shape[0], dim=m.shape[1])
            g.set_weights(np.ascontiguousarray(w, dtype=np.float32))
            g.set_invvars_and_means(
                np.ascontiguousarray(1.0 / v, dtype=np.float32),
                np.ascontiguousarray(m, dtype=np.float32),
            )
            g.compute_gconsts()
            am.add_pdf(g)
        return am

    @classmethod
    def from_kaldi(cls, am) -> GmmParams:
        """Read the parameters back from a ``khg.AmDiagGmm``."""
        ws, ms, vs = [], [], []
        for p in range(am.num_pdfs):
            g = am.get_pdf(p)
            ws.append(np.asarray(g.weights, dtype=np.float64).copy())
            ms.append(np.asarray(g.means, dtype=np.float64).copy())
            vs.append(np.asarray(g.vars, dtype=np.float64).copy())
        return cls(ws, ms, vs)

    # ---- mix-up -------------------------------------------------------------------------
    def mixup(
        self,
        occupancy: np.ndarray,
        target: int,
        *,
        power: float = 0.2,
        min_count: float = 20.0,
        perturb: float = 0.01,
        rng: np.random.Generator,
    ) -> None:
        """Split Gaussians until about ``target`` in total (Kaldi ``SplitByCount``), in place."""
        counts = split_targets(
            occupancy, [w.shape[0] for w in self.weights], target, power, min_count
        )
        for p, n in enumerate(counts):
            w, m, v = self.weights[p], self.means[p], self.vars[p]
            while w.shape[0] < n:
                k = int(np.argmax(w))
                delta = perturb * np.sqrt(v[k]) * rng.standard_normal(m.shape[1])
                w = np.concatenate([w, [w[k] / 2]])
                w[k] /= 2
                m = np.concatenate([m, (m[k] + delta)[None]])
                m[k] = m[k] - delta
                v = np.concatenate([v, v[k][None]])
            self.weights[p], self.means[p], self.vars[p] = w, m, v

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (ragged arrays concatenated with per-pdf counts), atomically."""
        counts = np.array([w.shape[0] for w in self.weights], dtype=np.int64)
        with atomic_open(path, "wb") as f:
            np.savez(
                f,
                counts=counts,
                weights=np.concatenate(self.weights),
                means=np.concatenate(self.means),
                vars=np.concatenate(self.vars),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> GmmParams:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                counts, w, m, v = z["counts"], z["weights"], z["means"], z["vars"]
        except (OSError, KeyError, ValueError) as e:
            raise GmmError(f"{path}: not a GMM file written by pase ({e})") from e
        edges = np.cumsum(counts)[:-1]
        return cls(np.split(w, edges), np.split(m, edges), np.split(v, edges))


def split_targets(
    occupancy: np.ndarray, current: list[int], target: int, power: float, min_count: float
) -> list[int]:
    """Number of Gaussians per pdf after mixing up to ``target`` (Kaldi ``GetSplitTargets``).

    Each further Gaussian goes to the pdf with the largest ``occ**power / n`` among those that
    would keep at least ``min_count`` frames per Gaussian; pdfs never lose Gaussians.
    """
    occ = np.asarray(occupancy, dtype=np.float64)
    counts = list(current)
    total = sum(counts)
    heap = [(-(o**power) / c, p) for p, (o, c) in enumerate(zip(occ, counts)) if o > 0]
    heapq.heapify(heap)
    while total < target and heap:
        _, p = heapq.heappop(heap)
        if occ[p] / (counts[p] + 1) < min_count:
            continue  # this pdf cannot take more Gaussians
        counts[p] += 1
        total += 1
        heapq.heappush(heap, (-(occ[p] ** power) / counts[p], p))
    return counts


def accumulate(
    am, feats: dict[str, np.ndarray], pdf_alignments: dict[str, np.ndarray]
) -> tuple[object, float, int]:
    """Kaldi ``gmm-acc-stats-ali``: ML statistics of ``am`` over aligned frames.

    Args:
        am: ``khg.AmDiagGmm``.
        feats: utt -> (T, D) float32 features.
        pdf_alignments: utt -> (T,) pdf ids (utterances missing here are skipped).

    Returns:
        ``(accs, total log-likelihood, number of frames)``.
    """
    accs = khg.AccumAmDiagGmm()
    accs.init(model=am, flags=int(khg.GmmUpdateFlags.kGmmAll))
    tot, n = 0.0, 0
    num_pdfs = am.num_pdfs
    for utt, pdfs in pdf_alignments.items():
        x = feats.get(utt)
        if x is None:
            continue
        if x.shape[0] != pdfs.shape[0]:
            raise GmmError(
                f"utterance {utt!r}: {x.shape[0]} feature frames but {pdfs.shape[0]} aligned"
            )
        if pdfs.size and (pdfs.min() < 0 or pdfs.max() >= num_pdfs):
            raise GmmError(f"utterance {utt!r}: pdf ids outside 0..{num_pdfs - 1}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        for t in range(x.shape[0]):
            tot += accs.accumulate_for_gmm(am, x[t], int(pdfs[t]), 1.0)
        n += x.shape[0]
    return accs, tot, n


def update(am, accs, *, min_gaussian_occupancy: float = 10.0, min_variance: float = 1e-3):
    """Kaldi ``MleAmDiagGmmUpdate`` in place; returns per-pdf occupancies (num_pdfs,)."""
    occ = np.array(
        [float(np.sum(accs.get_acc(p).occupancy)) for p in range(am.num_pdfs)], dtype=np.float64
    )
    opts = khg.MleDiagGmmOptions(
        min_gaussian_occupancy=min_gaussian_occupancy, min_variance=min_variance
    )
    khg.mle_am_diag_gmm_update(
        config=opts, amdiag_gmm_acc=accs, flags=int(khg.GmmUpdateFlags.kGmmAll), am_gmm=am
    )
    am.compute_gconsts()
    return occ
