"""Synthetic HMM data for the ASR tests: Gaussian features per (phone, HMM state)."""

from __future__ import annotations

import numpy as np

PHONES = ["sil", "aa", "b", "k", "s"]


def make_corpus(
    n_utts: int,
    *,
    seed: int = 0,
    dim: int = 13,
    noise: float = 1.5,
    spread: float = 2.0,
    prefix: str = "u",
    means: dict | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict]:
    """Utterances ``sil x x ... sil`` with 2-5 frames per state and Gaussian features.

    Returns ``(feats utt -> (T, dim) float32, texts utt -> phones, means)``; pass ``means``
    back to draw a test set from the same model.
    """
    rng = np.random.default_rng(seed)
    if means is None:
        means = {(p, s): rng.normal(size=dim) * spread for p in PHONES for s in range(3)}
    feats, texts = {}, {}
    for i in range(n_utts):
        seq = ["sil"] + [
            PHONES[1 + rng.integers(len(PHONES) - 1)] for _ in range(rng.integers(3, 8))
        ]
        seq.append("sil")
        frames = []
        for p in seq:
            for s in range(3):
                d = int(rng.integers(2, 6))
                frames.append(means[(p, s)] + rng.normal(size=(d, dim)) * noise)
        utt = f"{prefix}{i:04d}"
        feats[utt] = np.concatenate(frames).astype(np.float32)
        texts[utt] = seq
    return feats, texts, means
