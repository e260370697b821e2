"""Loader -> encoder -> targets -> workers: shapes agree and every parameter gets a gradient."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

from pase.data import build_chunk_loader, from_datadir
from pase.models.frontend import wf_builder
from pase.targets import TargetSet
from pase.targets.stats import StatsAccumulator
from pase.workers import Embeddings, WorkerSet
from tests.conftest import harmonic


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fe_cfg", "workers_cfg", "emb_dim", "chunk"),
    [("PASE", "workers", 100, 8000), ("PASE+", "workers+", 256, 3200)],
)
def test_one_training_step_end_to_end(
    tmp_path: Path, fe_cfg: str, workers_cfg: str, emb_dim: int, chunk: int
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    scp, u2s = [], []
    for k in range(4):
        utt = f"s{k % 2}-u{k}"
        path = tmp_path / f"{utt}.wav"
        sf.write(path, harmonic(110 + 40 * k, 0.7), 16000)
        scp.append(f"{utt} {path}\n")
        u2s.append(f"{utt} s{k % 2}\n")
    (data / "wav.scp").write_text("".join(scp))
    (data / "utt2spk").write_text("".join(u2s))

    batch = next(
        iter(build_chunk_loader(from_datadir(data), chunk_size=chunk, batch_size=2, seed=0))
    )
    encoder = wf_builder(fe_cfg)
    workers = WorkerSet.from_config(workers_cfg, emb_dim)
    targets = TargetSet.from_workers_cfg(workers_cfg)
    raw = targets(batch.chunk)
    acc = StatsAccumulator()
    acc.update(raw)
    norm = acc.result().normalize(raw)
    h = encoder(batch.stacked())
    assert h.shape == (6, emb_dim, chunk // 160)
    losses = workers(Embeddings.split(h), norm)
    assert list(losses) == workers.names
    assert all(torch.isfinite(v) for v in losses.values())
    sum(workers.loss_weights[n] * v for n, v in losses.items()).backward()
    for name, w in workers.workers.items():
        assert all(p.grad is not None for p in w.parameters()), name
    assert encoder.training
    grads = [p.grad for p in encoder.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0
