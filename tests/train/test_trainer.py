"""pase-train on a tiny corpus: outputs, exact resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pase.bin.train import main
from pase.models.frontend import wf_builder
from pase.train import state as st
from pase.train.options import parse_options
from pase.train.trainer import Trainer, TrainingError
from tests.train.conftest import train_args


def _final_weights(save: Path) -> dict[str, torch.Tensor]:
    return st.load_latest_state(save)["model"]


def test_short_run_writes_everything(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "run"
    rc = main(
        train_args(tiny_setup, save, "--epoch", "2", "--ckpt_interval", "1", "--max_ckpts", "2")
    )
    assert rc == 0
    for name in (
        "FE_e0.ckpt",
        "FE_e1.ckpt",
        "train.log",
        "history.json",
        "train.yaml",
        "train_opts.json",
    ):
        assert (save / name).is_file(), name
    assert (save / "loss_curves.png").stat().st_size > 1000
    assert len(st.list_states(save)) == 2  # rotated
    log = (save / "train.log").read_text()
    assert "valid step 0" in log and "step 6/6" in log  # 3 steps per epoch
    hist = json.loads((save / "history.json").read_text())
    assert len(hist["valid"]) == 3 and set(hist["valid"][0]["losses"]) == {
        "cchunk",
        "mfcc",
        "prosody",
        "mi",
        "cmi",
    }
    model = wf_builder(str(tiny_setup["fe_cfg"]))
    model.load_pretrained(save / "FE_e1.ckpt", load_last=True, verbose=False)
    assert torch.equal(model.W.weight, _final_weights(save)["frontend.W.weight"])


def test_resume_is_bit_identical(tiny_setup, tmp_path: Path) -> None:
    full = tmp_path / "full"
    assert main(train_args(tiny_setup, full, "--epoch", "3", "--ckpt_interval", "2")) == 0
    part = tmp_path / "part"
    args = train_args(tiny_setup, part, "--epoch", "3", "--ckpt_interval", "2")
    assert main([*args, "--max_steps", "3"]) == 0  # stops mid-epoch 1
    assert st.list_states(part)[-1][0] == 3
    assert main(args) == 0  # the same command resumes
    a, b = _final_weights(full), _final_weights(part)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert "resuming from" in (part / "train.log").read_text()


def test_select_half_trains_half_the_workers(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "half"
    assert main(train_args(tiny_setup, save, "--epoch", "1", "--backprop_mode", "select_half")) == 0
    hist = json.loads((save / "history.json").read_text())
    assert all(len(e["losses"]) == 3 for e in hist["train"])  # ceil(5 / 2)


def test_nonfinite_loss_names_step_worker_and_files(
    tiny_setup, tmp_path: Path, monkeypatch
) -> None:
    save = tmp_path / "nan"
    args = parse_options(train_args(tiny_setup, save, "--epoch", "2", "--ckpt_interval", "1"))
    trainer = Trainer(args)
    forward = trainer.model.forward
    calls = {"n": 0}

    def poisoned(*a, **k):
        losses = forward(*a, **k)
        calls["n"] += trainer.model.training  # count training steps, not validation batches
        if trainer.model.training and calls["n"] == 3:
            losses["mfcc"] = losses["mfcc"] * float("nan")
        return losses

    monkeypatch.setattr(trainer.model, "forward", poisoned)
    with pytest.raises(TrainingError) as err:
        trainer.fit()
    msg = str(err.value)
    assert (
        "step 3" in msg and "'mfcc'" in msg and ".wav" in msg and "train_state_000000002.pt" in msg
    )
    assert st.list_states(save)[-1][0] == 2


def test_skip_nonfinite_goes_on(tiny_setup, tmp_path: Path, monkeypatch) -> None:
    args = parse_options(
        train_args(tiny_setup, tmp_path / "skip", "--epoch", "1", "--skip_nonfinite")
    )
    trainer = Trainer(args)
    forward = trainer.model.forward
    monkeypatch.setattr(
        trainer.model,
        "forward",
        lambda *a, **k: {
            k2: v * float("inf") if k2 == "mi" else v for k2, v in forward(*a, **k).items()
        },
    )
    trainer.fit()
    assert trainer.step == 0
    assert "batch skipped" in (tmp_path / "skip" / "train.log").read_text()


def test_bad_audio_fails_before_training(tiny_setup, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    lines = (tiny_setup["train"] / "wav.scp").read_text().splitlines()
    lines[1] = lines[1].split()[0] + " " + str(tmp_path / "gone.wav")
    (bad / "wav.scp").write_text("\n".join(lines) + "\n")
    (bad / "utt2spk").write_text((tiny_setup["train"] / "utt2spk").read_text())
    args = train_args(tiny_setup, tmp_path / "x", "--epoch", "1")
    args[args.index("--data_dir") + 1] = str(bad)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "s1-001" in err and "gone.wav" in err
    assert not (tmp_path / "x" / "train.log").exists()


def test_stats_must_cover_the_targets(tiny_setup, tmp_path: Path, capsys) -> None:
    from pase.targets.stats import TargetStats

    stats = tmp_path / "stats.json"
    TargetStats(mean={"mfcc": torch.zeros(13)}, std={"mfcc": torch.ones(13)}).save(stats)
    assert main(train_args(tiny_setup, tmp_path / "s", "--epoch", "1", "--stats", str(stats))) == 1
    assert "prosody" in capsys.readouterr().err


def test_stats_channels_must_match_the_targets(tiny_setup, tmp_path: Path, capsys) -> None:
    from pase.targets.stats import TargetStats

    stats = tmp_path / "stats.json"
    n = {"mfcc": 39, "prosody": 4}  # the tiny workers' mfcc has 13 channels (no deltas)
    TargetStats(
        mean={k: torch.zeros(c) for k, c in n.items()}, std={k: torch.ones(c) for k, c in n.items()}
    ).save(stats)
    assert main(train_args(tiny_setup, tmp_path / "s", "--epoch", "1", "--stats", str(stats))) == 1
    err = capsys.readouterr().err
    assert f"{stats} does not match the workers' targets: 'mfcc' has 13 channels" in err
    assert "Traceback" not in err and not (tmp_path / "s" / "train.log").exists()
