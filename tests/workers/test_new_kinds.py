"""A new target kind and a new worker kind, each one class defined here (outside the
package) and registered by name: a workers config can name them and they train, with no
other edit anywhere."""

from __future__ import annotations

import copy
import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from pase.bin.train import main
from pase.targets import TARGET_KINDS, FrameTarget, TargetSet, register_target
from pase.targets import functional as tf
from pase.train import state as st
from pase.workers import (
    WORKER_KINDS,
    Embeddings,
    Output,
    Rng,
    Targets,
    Worker,
    WorkerOptions,
    WorkerSet,
    register_worker,
)
from tests.train.conftest import TINY_FRONTEND, TINY_WORKERS, make_corpus, train_args


@register_target("toyrms")  # worker names "toyrms", "toyrms_<suffix>"
@dataclass(frozen=True)
class ToyRMS(FrameTarget):
    """Frame energy in dB, ``(B, 1, T)`` (+ deltas)."""

    win: int = 320
    floor_db: float = -100.0

    @property
    def static_channels(self) -> int:
        return 1

    def check(self, sample_rate: int) -> None:
        if self.floor_db >= 0:
            raise ValueError(f"floor_db must be < 0 dB, got {self.floor_db}")

    def frames(self, x: Tensor, *, hop: int, sample_rate: int, cache: tf.SpectrumCache) -> Tensor:
        db = 20 * torch.log10(tf.rms_energy(x, self.win, hop).clamp_min(1e-12))
        return db.clamp_min(self.floor_db).unsqueeze(1)


@register_worker("toy_pool")
class PooledRegressor(Worker):
    """Predicts the time average of its target ``(B, C, 1)`` from the time-averaged
    embeddings."""

    @dataclass(frozen=True)
    class Options(WorkerOptions):
        loss: str = "L1Loss"
        scale: float = 1.0

        def __post_init__(self) -> None:
            if self.scale <= 0:
                raise ValueError(f"scale must be > 0, got {self.scale}")

    def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
        super().__init__(name, emb_dim, opts)
        self.scale = opts.scale
        self.head = nn.Linear(emb_dim, opts.num_outputs)

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        pred = self.scale * self.head(emb.chunk.mean(dim=2)).unsqueeze(2)
        return pred, self.target(targets).mean(dim=2, keepdim=True)


ROOT = Path(__file__).resolve().parents[2]

TOY = {"name": "toyrms_a", "type": "toy_pool", "num_outputs": 3, "scale": 10.0,
       "transform": {"win": 400, "der_order": 2}}  # fmt: skip


def test_the_new_kinds_are_read_from_a_workers_cfg() -> None:
    cfg = {"regr": [TOY], "cls": [{"name": "mi"}]}
    ts = TargetSet.from_workers_cfg(cfg)
    (target,) = ts.targets
    assert isinstance(target, ToyRMS) and target.kind == "toyrms"
    assert target.params == {"win": 400, "der_order": 2, "floor_db": -100.0}
    assert ts.dims == {"toyrms_a": 3}
    ws = WorkerSet.from_config(cfg, emb_dim=8)
    assert isinstance(ws["toyrms_a"], PooledRegressor) and ws["toyrms_a"].scale == 10.0
    assert ws["toyrms_a"].loss_name == "L1Loss" and ws["toyrms_a"].opts.hidden_layers == 2
    with pytest.raises(ValueError, match="'toyrms': floor_db must be < 0 dB"):
        TargetSet.from_workers_cfg({"regr": [{"name": "toyrms", "transform": {"floor_db": 3}}]})
    with pytest.raises(ValueError, match=r"'toyrms_a' \(toy_pool\): scale must be > 0"):
        WorkerSet.from_config({"regr": [{**TOY, "scale": 0}]}, emb_dim=8)


def test_the_new_kinds_train_with_the_builtin_ones() -> None:
    torch.manual_seed(0)
    cfg = {"regr": [TOY, {"name": "prosody", "num_outputs": 4, "hidden_size": 8,
                          "transform": {"der_order": 0}}],
           "cls": [{"name": "mi", "hidden_size": 8}]}  # fmt: skip
    ts, ws = TargetSet.from_workers_cfg(cfg), WorkerSet.from_config(cfg, emb_dim=6)
    enc = nn.Conv1d(1, 6, 160, stride=160)  # a stand-in encoder: (B, 1, L) -> (B, 6, L // 160)
    opt = torch.optim.Adam([*enc.parameters(), *ws.parameters()], lr=0.05)
    g = torch.Generator().manual_seed(0)
    wav = torch.randn(4, 4000, generator=g) * torch.linspace(0.01, 1.0, 4)[:, None]
    pairs = torch.cat([wav, wav.roll(1, 0), torch.randn(4, 4000, generator=g)])  # (3B, L)
    targets = ts(wav)
    assert targets["toyrms_a"].shape == (4, 3, 25)
    first = None
    for _ in range(40):
        losses = ws(Embeddings.split(enc(pairs.unsqueeze(1))), targets)
        first = first or {n: v.item() for n, v in losses.items()}
        opt.zero_grad()
        sum(ws.loss_weights[n] * v for n, v in losses.items()).backward()
        assert ws["toyrms_a"].head.weight.grad.abs().sum() > 0
        opt.step()
    assert losses["toyrms_a"].item() < 0.5 * first["toyrms_a"]


@pytest.mark.slow
def test_pase_train_runs_and_saves_the_new_kinds(tmp_path: Path) -> None:
    setup = {"train": make_corpus(tmp_path / "train", {"s1": 110.0, "s2": 170.0}, 4, seed=1),
             "valid": make_corpus(tmp_path / "valid", {"s3": 140.0}, 2, seed=2),
             "fe_cfg": tmp_path / "fe.cfg", "net_cfg": tmp_path / "workers.cfg"}  # fmt: skip
    setup["fe_cfg"].write_text(json.dumps(TINY_FRONTEND))
    workers = copy.deepcopy(TINY_WORKERS)
    workers["regr"].append(TOY)
    setup["net_cfg"].write_text(json.dumps(workers))
    save = tmp_path / "run"
    assert main(train_args(setup, save, "--epoch", "1")) == 0
    hist = json.loads((save / "history.json").read_text())
    assert all(torch.isfinite(torch.tensor(e["losses"]["toyrms_a"])) for e in hist["train"])
    assert "toyrms_a" in hist["valid"][-1]["losses"]
    model = st.load_latest_state(save)["model"]
    assert model["workers.workers.toyrms_a.head.weight"].shape == (3, TINY_FRONTEND["emb_dim"])


def test_the_example_of_developing_md_runs() -> None:
    text = (ROOT / "docs" / "developing.md").read_text(encoding="utf-8")
    section = text.split("## Adding a target or worker kind", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    cfg = json.loads(re.search(r"`(\{\"regr\".*?\})`", section).group(1))
    mod = types.ModuleType("developing_md_example")
    sys.modules[mod.__name__] = mod
    try:
        exec(compile(code, "docs/developing.md", "exec"), mod.__dict__)
        ts, ws = TargetSet.from_workers_cfg(cfg), WorkerSet.from_config(cfg, emb_dim=8)
        targets = ts(torch.randn(2, 1610))
        assert targets["energy"].shape == (2, 3, 10)
        assert list(ws.state_dict()) == ["workers.energy.conv.weight"]
        assert torch.isfinite(ws(Embeddings(torch.randn(2, 8, 11)), targets)["energy"])
    finally:
        del sys.modules[mod.__name__]
        for registry, kind in ((TARGET_KINDS, "energy"), (WORKER_KINDS, "linear")):
            if kind in registry:
                registry.unregister(kind)
