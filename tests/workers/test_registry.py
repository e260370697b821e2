"""Worker kinds: the registry, kind selection, the entry schema and its defaults."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import Tensor

from pase.workers import (
    WORKER_KINDS,
    Embeddings,
    Worker,
    WorkerConfigError,
    WorkerOptions,
    WorkerSet,
    build_worker,
    register_worker,
)
from pase.workers.build import worker_kind
from pase.workers.kinds import DecoderWorker, GIMWorker, LIMWorker, RegressionWorker, SPCWorker

ROOT = Path(__file__).resolve().parents[2]
BARE = {
    "regr": [{"name": "cchunk", "type": "decoder"}, {"name": "lps", "num_outputs": 5}],
    "cls": [{"name": "mi"}, {"name": "cmi"}, {"name": "spc"}, {"name": "gap"}],
}


def test_builtin_kinds() -> None:
    assert {"mlp", "decoder", "lim", "gim", "spc", "gap"} <= set(WORKER_KINDS.names)
    assert WORKER_KINDS.get("lim") is LIMWorker and LIMWorker.kind == "lim"
    assert LIMWorker.cls_names == ("mi",) and GIMWorker.pooled and not LIMWorker.pooled


@pytest.mark.parametrize(
    ("spec", "group", "kind"),
    [
        ({"name": "mi"}, "cls", "lim"),
        ({"name": "cmi"}, "cls", "gim"),
        ({"name": "gap"}, "cls", "gap"),
        ({"name": "other"}, "cls", "mlp"),
        ({"name": "mi"}, "regr", "mlp"),  # cls names select a kind only in "cls"
        ({"name": "x", "type": "SPC"}, "regr", "spc"),
    ],
)
def test_kind_selection(spec: dict, group: str, kind: str) -> None:
    assert worker_kind(spec, group) == kind


def test_defaults_of_a_bare_entry_are_the_originals() -> None:
    """Keys missing from an entry: hidden_size 256, hidden_layers 2 for every kind (what
    build_worker gave before the registry), the kind's loss, dropout 0, loss_weight 1."""
    ws = WorkerSet.from_config(BARE, emb_dim=8)
    for w in ws:
        o = w.opts
        assert (o.hidden_size, o.hidden_layers, o.dropout, w.loss_weight) == (256, 2, 0.0, 1.0)
    assert {w.name: w.loss_name for w in ws} == {
        "cchunk": "L1Loss", "lps": "MSELoss", "mi": "BCEWithLogitsLoss",
        "cmi": "BCEWithLogitsLoss", "spc": "BCEWithLogitsLoss", "gap": "MSELoss",
    }  # fmt: skip
    assert len(ws["lps"].mlp.blocks) == 2 and ws["lps"].mlp.blocks[0].conv.out_channels == 256
    dec = ws["cchunk"]
    assert isinstance(dec, DecoderWorker) and dec.decoder.factor == 160
    assert dec.decoder.mlp.blocks[1].conv.out_channels == 256
    assert dec.opts.fmaps == (512, 256, 128) and not dec.opts.shuffle
    assert (ws["spc"].ctxt_frames, ws["spc"].seq_pad, ws["cmi"].augment) == (5, 16, False)
    # the Python constructor has the same defaults (one place)
    assert RegressionWorker.create("lps", 8, num_outputs=5).opts == ws["lps"].opts
    assert SPCWorker.create("spc", 8).opts == ws["spc"].opts


def test_values_are_converted_to_the_declared_types() -> None:
    w = build_worker({"name": "c", "type": "decoder", "fmaps": [8, "4", 4.0], "shuffle": 1}, 4)
    assert w.opts.fmaps == (8, 4, 4) and w.opts.shuffle is True
    assert build_worker({"name": "l", "num_outputs": "3"}, 4).num_outputs == 3


@pytest.mark.parametrize(
    ("spec", "msg"),
    [
        ({"name": "c", "type": "decoder", "fmaps": "abc"}, "'c': bad value for 'fmaps'"),
        ({"name": "c", "type": "decoder", "shuffle": "no"}, "'c': bad value for 'shuffle'"),
        ({"name": "c", "type": "decoder", "shuffle": True, "shuffle_depth": 0},
         r"'c' \(decoder\): shuffle_depth must be >= 1"),
        ({"name": "l", "num_outputs": 3, "r": 0}, r"'l' \(mlp\): r must be >= 1"),
        ({"name": "l", "num_outputs": 3, "augment": True}, r"'l' \(mlp\): unknown key.*augment"),
        ({"name": "s", "type": "spc", "context": 3}, r"'s' \(spc\): unknown key.*context"),
        ({"name": "l", "num_outputs": 3, "dropin": 0.5}, "'l': dropin=0.5 is not supported"),
        ({"name": "l", "num_outputs": 3, "type": "regularizer"}, "'regularizer' is not supp"),
    ],
)  # fmt: skip
def test_bad_values_name_the_worker_and_key(spec: dict, msg: str) -> None:
    with pytest.raises(WorkerConfigError, match=msg):
        build_worker(spec, 4)


def test_ignored_and_neutral_keys_are_accepted() -> None:
    spec = {"name": "mi", "keys": ["chunk"], "num_inputs": 4, "transform": {}, "skip": False,
            "norm_type": None, "dropin": 0, "tie_context_weights": False}  # fmt: skip
    assert isinstance(build_worker(spec, 4, "cls"), LIMWorker)


class _Abstract(Worker):
    """No forward: cannot be registered."""


def test_register_rejects_taken_names_and_abstract_classes() -> None:
    with pytest.raises(ValueError, match=r"worker kind 'mlp' is already registered.*Regression"):
        register_worker("mlp")(SPCWorker)
    with pytest.raises(TypeError, match=r"abstract \(forward\)"):
        register_worker("abstract")(_Abstract)
    assert "abstract" not in WORKER_KINDS and WORKER_KINDS.get("mlp") is RegressionWorker


def test_a_kind_registered_later_is_built_from_a_cfg_and_removed_again() -> None:
    class Constant(Worker):
        @dataclass(frozen=True)
        class Options(WorkerOptions):
            value: float = 0.5

        def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
            super().__init__(name, emb_dim, opts)
            self.value = torch.nn.Parameter(torch.tensor(opts.value))

        def forward(
            self, emb: Embeddings, targets: Mapping[str, Tensor], generator: object = None
        ) -> tuple[Tensor, Tensor]:
            pred = self.value.expand(emb.chunk.shape[0])
            return pred, torch.ones_like(pred)

    register_worker("constant")(Constant)
    try:
        ws = WorkerSet.from_config({"cls": [{"name": "k", "type": "constant", "value": 3}]}, 4)
        assert isinstance(ws["k"], Constant) and ws["k"].kind == "constant"
        assert list(ws.state_dict()) == ["workers.k.value"]
        loss = ws(Embeddings(torch.zeros(2, 4, 5)), {})["k"]
        assert loss.item() == pytest.approx(4.0)  # MSE of 3 against 1
        with pytest.raises(WorkerConfigError, match="bad value for 'value'"):
            build_worker({"name": "k", "type": "constant", "value": "high"}, 4)
    finally:
        assert WORKER_KINDS.unregister("constant") is Constant
    with pytest.raises(WorkerConfigError, match="unknown worker type 'constant'"):
        build_worker({"name": "k", "type": "constant"}, 4)


@pytest.mark.parametrize(
    "module", ["pase.workers.kinds.mlp", "pase.targets.kinds.lps", "pase.workers.config"]
)
def test_each_package_imports_first(module: str) -> None:
    """pase.targets reads the workers config (pase.workers.config) and pase.workers uses
    pase.targets.functional: either may be imported first, and both registries fill."""
    code = (
        f"import {module}\n"
        "from pase.targets import TARGET_KINDS\nfrom pase.workers import WORKER_KINDS\n"
        "print(len(TARGET_KINDS), len(WORKER_KINDS))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["6", "6"]
