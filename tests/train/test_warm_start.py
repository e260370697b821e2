"""pase-train --pretrained-ckpt / --net-ckpt: a fresh run starts from given weights (the
encoder reproduces the checkpoint's outputs at step 0), workers load when they fit, resuming
ignores both, a checkpoint of another encoder is a named error."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from pase.bin.train import main
from pase.models.frontend import wf_builder
from pase.train import state as st
from pase.train.options import parse_options
from pase.train.trainer import Trainer
from tests.train.conftest import TINY_WORKERS, train_args


def _raw_ckpt(setup, path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    torch.save(wf_builder(str(setup["fe_cfg"])).state_dict(), path)  # like FE_e199.ckpt
    return path


def test_pretrained_ckpt_reproduces_the_encoder_at_step_0(tiny_setup, tmp_path: Path) -> None:
    ckpt = _raw_ckpt(tiny_setup, tmp_path / "FE_e9.ckpt", seed=123)
    tr = Trainer(parse_options(train_args(tiny_setup, tmp_path / "run", "--pretrained_ckpt",
                                          str(ckpt))))  # fmt: skip
    ref = wf_builder(str(tiny_setup["fe_cfg"]))
    ref.load_pretrained(ckpt, load_last=True, verbose=False)
    x = 0.1 * torch.randn(2, 1, 8000)
    with torch.no_grad():
        got = tr.model.frontend.eval()(x)
        want = ref.eval()(x)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert tr.step == 0 and tr.resumed_from is None
    assert any(n.startswith(f"warm start: encoder from {ckpt}") for n in tr.notes)
    fresh = Trainer(parse_options(train_args(tiny_setup, tmp_path / "other")))
    assert not torch.equal(fresh.model.frontend.W.weight, tr.model.frontend.W.weight)


def test_net_ckpt_loads_the_encoder_and_the_workers_that_fit(tiny_setup, tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert main(train_args(tiny_setup, first, "--epoch", "1")) == 0
    state = st.load_latest_state(first)
    assert state is not None
    workers = json.loads(json.dumps(TINY_WORKERS))
    workers["regr"][1]["hidden_size"] = 32  # mfcc: another configuration
    cfg = tmp_path / "workers.cfg"
    cfg.write_text(json.dumps(workers))
    argv = train_args(tiny_setup, tmp_path / "second", "--net-ckpt", state["path"])
    argv[argv.index("--net_cfg") + 1] = str(cfg)
    tr = Trainer(parse_options(argv))
    saved = state["model"]
    for k, v in tr.model.state_dict().items():
        if k.startswith("workers.workers.mfcc."):
            continue
        torch.testing.assert_close(v, saved[k], rtol=0, atol=0, msg=k)
    line = next(n for n in tr.notes if n.startswith("warm start: workers"))
    assert "loaded cchunk, prosody, mi, cmi" in line and "randomly initialised" in line
    assert line.endswith("mfcc")


def test_resume_ignores_warm_start_and_bad_checkpoints_are_named(
    tiny_setup, tmp_path: Path, capsys
) -> None:
    run = tmp_path / "run"
    assert main(train_args(tiny_setup, run, "--epoch", "1")) == 0
    ckpt = _raw_ckpt(tiny_setup, tmp_path / "FE.ckpt", seed=5)
    tr = Trainer(parse_options(train_args(tiny_setup, run, "--epoch", "2",
                                          "--pretrained-ckpt", str(ckpt))))  # fmt: skip
    assert tr.resumed_from is not None
    assert "resuming: --pretrained-ckpt / --net-ckpt are not used" in tr.notes
    torch.testing.assert_close(
        tr.model.frontend.W.weight, st.load_latest_state(run)["model"]["frontend.W.weight"]
    )
    other = tmp_path / "PASE.ckpt"
    torch.save(wf_builder("PASE").state_dict(), other)
    rc = main(train_args(tiny_setup, tmp_path / "x", "--pretrained-ckpt", str(other)))
    err = capsys.readouterr().err
    assert rc == 1 and "does not fit this encoder" in err and "shape mismatch" in err
