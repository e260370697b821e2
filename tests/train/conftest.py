"""A tiny corpus, encoder and worker set that train in seconds on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import TINY_FRONTEND

TINY_WORKERS = {
    "regr": [
        {"name": "cchunk", "type": "decoder", "num_outputs": 1, "hidden_size": 8,
         "hidden_layers": 1, "fmaps": [16, 16, 8], "strides": [4, 4, 10],
         "kwidths": [30, 30, 30], "loss": "L1Loss"},
        {"name": "mfcc", "num_outputs": 13, "hidden_size": 16, "hidden_layers": 1, "r": 3,
         "loss": "MSELoss", "transform": {"order": 13, "win": 400, "der_order": 0}},
        {"name": "prosody", "num_outputs": 4, "hidden_size": 16, "hidden_layers": 1,
         "loss": "MSELoss", "transform": {"der_order": 0}},
    ],
    "cls": [
        {"name": "mi", "num_outputs": 1, "hidden_size": 16, "hidden_layers": 1,
         "loss": "BCEWithLogitsLoss"},
        {"name": "cmi", "num_outputs": 1, "hidden_size": 16, "hidden_layers": 1,
         "augment": True, "loss": "BCEWithLogitsLoss"},
    ],
}  # fmt: skip


def _utterance(rng: np.random.Generator, f0: float, seconds: float) -> np.ndarray:
    """Voiced/unvoiced stretches with a speaker-specific pitch: enough structure to learn."""
    sr = 16000
    n = int(seconds * sr)
    t = np.arange(n) / sr
    vib = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(vib) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    gate = (np.sin(2 * np.pi * rng.uniform(1.5, 3) * t + rng.uniform(0, 6)) > -0.3).astype(float)
    x = gate * voiced + (1 - gate) * 0.3 * rng.standard_normal(n)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def make_corpus(root: Path, speakers: dict[str, float], utts: int, seed: int) -> Path:
    """A Kaldi data dir of ``utts`` utterances per speaker (speaker -> f0)."""
    rng = np.random.default_rng(seed)
    wav_dir = root / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    wav_scp, utt2spk = [], []
    for spk, f0 in speakers.items():
        for i in range(utts):
            uid = f"{spk}-{i:03d}"
            path = wav_dir / f"{uid}.wav"
            sf.write(path, _utterance(rng, f0, rng.uniform(0.6, 1.0)), 16000, subtype="PCM_16")
            wav_scp.append(f"{uid} {path}\n")
            utt2spk.append(f"{uid} {spk}\n")
    (data / "wav.scp").write_text("".join(sorted(wav_scp)))
    (data / "utt2spk").write_text("".join(sorted(utt2spk)))
    return data


@pytest.fixture(scope="session")
def tiny_setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_train")
    train = make_corpus(root / "train", {"s1": 110.0, "s2": 160.0, "s3": 220.0}, 3, seed=1)
    valid = make_corpus(root / "valid", {"s4": 130.0, "s5": 190.0}, 2, seed=2)
    fe = root / "tiny_frontend.cfg"
    fe.write_text(json.dumps(TINY_FRONTEND))
    workers = root / "tiny_workers.cfg"
    workers.write_text(json.dumps(TINY_WORKERS))
    return {"root": root, "train": train, "valid": valid, "fe_cfg": fe, "net_cfg": workers}


def train_args(setup: dict[str, Path], save: Path, *extra: str) -> list[str]:
    """Command line of a tiny run (3 steps per epoch)."""
    return [
        "--data_dir", str(setup["train"]), "--valid_data_dir", str(setup["valid"]),
        "--fe_cfg", str(setup["fe_cfg"]), "--net_cfg", str(setup["net_cfg"]),
        "--save_path", str(save), "--batch_size", "4", "--chunk_size", "8000",
        "--num_workers", "0", "--tensorboard", "False", "--log_freq", "1", "--seed", "7",
        "--fe_lr", "0.001", "--min_lr", "0.001", "--no-cuda", *extra,
    ]  # fmt: skip
