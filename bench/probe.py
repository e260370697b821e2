"""Probe training time per epoch (``pase-probe``'s training loop) at the sizes of the
downstream recipes, on synthetic 256-dim frame features (the data are random: only the time
is measured).

    python bench/probe.py                       # all tasks, default sizes, 2 threads
    python bench/probe.py --task sid --utts 2000 --epochs 3
    python bench/probe.py --inputs wav --utts 64  # the encoder inside (fine-tuning), per epoch

Tasks (defaults scaled down from the real corpora; the time grows linearly in utterances):
``sid`` VoxCeleb1-like (utterance task, mean pooling, 1251 classes, 8 s utterances),
``emo`` IEMOCAP-like (stats pooling, 4 classes, 4.5 s), ``phone`` TIMIT-like frame task
(39 classes, 3 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import kaldiio
import numpy as np
import soundfile as sf
import torch

from pase.downstream.data import Labels, ProbeSet
from pase.downstream.featurizer import EncoderFeatures
from pase.downstream.train import ProbeConfig, build_probe, feature_norm, train_probe
from pase.models.frontend import wf_builder

TASKS = {
    # name: (task, classes, seconds per utterance, pooling)
    "sid": ("utt", 1251, 8.0, "mean"),
    "emo": ("utt", 4, 4.5, "stats"),
    "phone": ("frame", 39, 3.0, "mean"),
}


def _data(root: Path, task: str, n: int, classes: int, seconds: float, inputs: str) -> ProbeSet:
    rng = np.random.default_rng(0)
    frames = int(seconds * 100)
    utts = [f"u{i:06d}" for i in range(n)]
    if task == "utt":
        labels: dict = {u: f"c{i % classes}" for i, u in enumerate(utts)}
        names = list(labels.values())
    else:
        labels = {u: [f"p{int(k)}" for k in rng.integers(0, classes, frames)] for u in utts}
        names = [f"p{k}" for k in range(classes)]
    if inputs == "feats":
        mats = {u: rng.standard_normal((frames, 256)).astype(np.float32) for u in utts}
        kaldiio.save_ark(str(root / "f.ark"), mats, scp=str(root / "feats.scp"))
        return ProbeSet(utts, "feats", labels, Labels.of(names), feats_scp=root / "feats.scp")
    d = root / "data"
    d.mkdir()
    lines = []
    for u in utts:
        p = root / f"{u}.wav"
        sf.write(p, 0.1 * rng.standard_normal(frames * 160).astype(np.float32), 16000)
        lines.append(f"{u} {p}\n")
    (d / "wav.scp").write_text("".join(lines))
    (d / "utt2spk").write_text("".join(f"{u} {u}\n" for u in utts))
    return ProbeSet(utts, "wav", labels, Labels.of(names), data_dir=d)


def bench(name: str, utts: int, epochs: int, inputs: str) -> list[float]:
    task, classes, seconds, pooling = TASKS[name]
    with tempfile.TemporaryDirectory() as tmp:
        data = _data(Path(tmp), task, utts, classes, seconds, inputs)
        cfg = ProbeConfig(task=task, pooling=pooling, epochs=epochs, patience=epochs,
                          batch_size=16)  # fmt: skip
        front = None
        if inputs == "wav":
            front = EncoderFeatures(wf_builder("PASE+"), finetune=True)
        model = build_probe(cfg, 256, len(data.label_set), front)
        if inputs == "feats":
            model.mean, model.std = feature_norm(data)
        res = train_probe(model, data, data, cfg, log=lambda m: None)
        return [h["train_seconds"] for h in res.history]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=sorted(TASKS), action="append")
    p.add_argument("--utts", type=int, default=500, help="training utterances")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--inputs", choices=("feats", "wav"), default="feats")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"probe training, {a.inputs} inputs, {a.utts} utterances, {a.threads} threads")
    print("task   classes  s/utt  s/epoch (median)  s/epoch per 1000 utterances")
    for name in a.task or list(TASKS):
        times = bench(name, a.utts, a.epochs, a.inputs)
        med = statistics.median(times)
        _, classes, seconds, _ = TASKS[name]
        print(f"{name:6s} {classes:7d}  {seconds:5.1f}  {med:16.3f}  {1000 * med / a.utts:10.3f}")


if __name__ == "__main__":
    main()
