"""Probe data and training: labels and frame alignment checks, learning a separable task from
a feature table, fine-tuning the encoder from waveforms with its own learning rate."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

from pase.downstream.data import Labels, ProbeDataError, ProbeSet, match_frames, read_frame_labels
from pase.downstream.featurizer import EncoderFeatures
from pase.downstream.train import (
    ProbeConfig,
    build_probe,
    evaluate,
    feature_norm,
    train_probe,
)
from pase.models.frontend import wf_builder


def _feats_table(path: Path, n: int, k: int, seed: int) -> tuple[Path, dict, dict]:
    """``n`` utterances of 2-d features whose mean encodes the class (utterance task) and
    whose per-frame sign pattern encodes frame labels."""
    rng = np.random.default_rng(seed)
    utt_lab, frame_lab, mats = {}, {}, {}
    for i in range(n):
        c = i % k
        t = int(rng.integers(20, 40))
        fl = rng.integers(0, 2, t)
        x = rng.standard_normal((t, 4)).astype(np.float32) * 0.5
        x[:, 0] += 3.0 * c
        x[:, 1] += np.where(fl == 1, 2.0, -2.0)
        u = f"u{seed}-{i:03d}"
        mats[u], utt_lab[u], frame_lab[u] = x, f"class{c}", [f"p{v}" for v in fl]
    scp = path / "feats.scp"
    kaldiio.save_ark(str(path / "feats.ark"), mats, scp=str(scp))
    return scp, utt_lab, frame_lab


def _set(tmp: Path, n: int, seed: int, task: str, labels: Labels | None = None):
    tmp.mkdir(parents=True, exist_ok=True)
    scp, ul, fl = _feats_table(tmp, n, 3, seed)
    lab = ul if task == "utt" else fl
    values = list(ul.values()) if task == "utt" else [v for vs in fl.values() for v in vs]
    labels = labels or Labels.of(values)
    return ProbeSet(sorted(lab), "feats", lab, labels, feats_scp=scp), labels


@pytest.mark.parametrize("task", ["utt", "frame"])
def test_probe_learns_a_separable_task(tmp_path: Path, task: str) -> None:
    train, labels = _set(tmp_path / "train", 60, 1, task)
    dev, _ = _set(tmp_path / "dev", 15, 2, task, labels)
    test, _ = _set(tmp_path / "test", 15, 3, task, labels)
    cfg = ProbeConfig(task=task, epochs=30, batch_size=8, lr=3e-2, patience=30)
    model = build_probe(cfg, 4, len(labels))
    model.mean, model.std = feature_norm(train)
    res = train_probe(model, train, dev, cfg, log=lambda m: None)
    assert res.best_dev >= 0.9 and len(res.history) >= res.best_epoch
    out = evaluate(model, test, cfg)
    assert out["accuracy"].value >= 0.9
    assert out["confusion"].sum() == out["accuracy"].total
    if task == "utt":
        assert out["accuracy"].total == 15 and len(out["predictions"]) == 15
    else:
        assert out["accuracy"].total == sum(len(e.y) for e in test.examples)


def test_bad_labels_and_frame_counts_are_named(tmp_path: Path) -> None:
    _, labels = _set(tmp_path / "train", 6, 1, "utt")
    scp, ul, _ = _feats_table(tmp_path, 4, 4, 9)  # class3 is unknown to training
    with pytest.raises(ProbeDataError, match=r"'u9-003'|label 'class3'"):
        ProbeSet(sorted(ul), "feats", ul, labels, feats_scp=scp)
    with pytest.raises(ProbeDataError, match="no label"):
        ProbeSet([*sorted(ul), "u9-999"], "feats", {}, labels, feats_scp=scp)
    x = np.zeros((12, 2), np.float32)
    assert match_frames(x, 10, "a").shape == (10, 2)
    with pytest.raises(ProbeDataError, match="'b': 12 feature frames but 8"):
        match_frames(x, 8, "b")
    ali = tmp_path / "ali.txt"
    ali.write_text("a p1 p1 p2\nb p3\n")
    assert read_frame_labels(ali) == {"a": ["p1", "p1", "p2"], "b": ["p3"]}


@pytest.mark.slow
def test_finetuning_from_waveforms(tmp_path: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    rng = np.random.default_rng(0)
    wav, u2l = [], {}
    for i in range(6):
        n = 4000 + 160 * i
        f0 = 150 if i % 2 else 400
        x = 0.3 * np.sin(2 * np.pi * f0 * np.arange(n) / 16000) + 0.01 * rng.standard_normal(n)
        p = tmp_path / f"u{i}.wav"
        sf.write(p, x.astype(np.float32), 16000, subtype="PCM_16")
        wav.append(f"u{i} {p}\n")
        u2l[f"u{i}"] = "low" if i % 2 else "high"
    (d / "wav.scp").write_text("".join(wav))
    (d / "utt2spk").write_text("".join(f"u{i} u{i}\n" for i in range(6)))
    labels = Labels.of(list(u2l.values()))
    data = ProbeSet(sorted(u2l), "wav", u2l, labels, data_dir=d)
    torch.manual_seed(0)
    front = EncoderFeatures(wf_builder("PASE"), finetune=True)
    before = [p.detach().clone() for p in front.encoder.parameters()]
    cfg = ProbeConfig(task="utt", epochs=2, batch_size=3, lr=1e-2, encoder_lr=1e-3)
    model = build_probe(cfg, front.dim, len(labels), front)
    train_probe(model, data, data, cfg, log=lambda m: None)
    moved = sum(not torch.equal(a, b) for a, b in zip(before, front.encoder.parameters()))
    assert moved > 0.5 * len(before)  # the encoder was trained with the head
