"""The commands that replace the recipes' inline Python (pase-check-distortions,
pase-find-checkpoint, pase-save-random-encoder) and the shared skeleton's error handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pase.bin import check_distortions, cli, find_checkpoint, save_random_encoder
from pase.train.outputs import frontend_checkpoints, latest_frontend_checkpoint

CLIP = {"clip_p": 0.5, "clip_factors": [0.5]}


# --------------------------------------------------------------------------- the skeleton
def test_known_errors_are_one_line_and_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(_args: object) -> None:
        raise ValueError("data/x: no such thing")

    assert cli.run(cli.parser("pase-demo", "demo"), fail, []) == 1
    err = capsys.readouterr().err
    assert err == "pase-demo: error: data/x: no such thing\n"

    def bug(_args: object) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):  # unexpected errors keep their traceback
        cli.run(cli.parser("pase-demo", "demo"), bug, [])
    assert cli.run(cli.parser("pase-demo", "demo"), lambda _a: None, []) == 0
    assert cli.run(cli.parser("pase-demo", "demo"), lambda _a: 3, []) == 3


# --------------------------------------------------------------------------- find-checkpoint
def test_find_checkpoint_prints_the_highest_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("FE_e2.ckpt", "FE_e10.ckpt", "FE_e9.ckpt", "FE_eX.ckpt", "FE_e11.ckpt.tmp",
                 "train_state_000000100.pt"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "FE_e12.ckpt").mkdir()  # a folder is not a checkpoint
    assert [e for e, _ in frontend_checkpoints(tmp_path)] == [2, 9, 10]
    assert find_checkpoint.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'FE_e10.ckpt'}\n"


def test_find_checkpoint_without_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert latest_frontend_checkpoint(tmp_path / "missing") is None
    assert find_checkpoint.main([str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "pase-find-checkpoint: error:" in out.err and "FE_e" in out.err
    assert "Traceback" not in out.err


# --------------------------------------------------------------------------- random encoder
def test_save_random_encoder_is_the_seeded_encoder(tmp_path: Path) -> None:
    from pase.extract import load_encoder

    out = tmp_path / "sub" / "FE_random.ckpt"
    assert save_random_encoder.main(["--fe-cfg", "PASE", "--seed", "3", str(out)]) == 0
    saved = torch.load(out, weights_only=True)
    ref = load_encoder("PASE", None, seed=3).state_dict()
    assert saved.keys() == ref.keys()
    assert all(torch.equal(saved[k], ref[k]) for k in ref)
    other = load_encoder("PASE", None, seed=4).state_dict()
    assert not all(torch.equal(saved[k], other[k]) for k in ref)
    # what pase-extract / pase-dump-feats load as --ckpt
    model = load_encoder("PASE", out)
    assert all(torch.equal(model.state_dict()[k], ref[k]) for k in ref)
    # the old spelling of the frontend config
    again = tmp_path / "again.ckpt"
    assert save_random_encoder.main(["--cfg", "PASE", "--seed", "3", str(again)]) == 0
    assert torch.load(again, weights_only=True).keys() == ref.keys()


def test_save_random_encoder_bad_config(tmp_path: Path, capsys) -> None:
    assert save_random_encoder.main(["--fe-cfg", str(tmp_path / "no.cfg"), "x.ckpt"]) == 1
    assert "pase-save-random-encoder: error:" in capsys.readouterr().err
    assert not (tmp_path / "x.ckpt").exists()


# --------------------------------------------------------------------------- distortions
def test_check_distortions_usable_config(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "d.json"
    cfg.write_text(json.dumps(CLIP))
    assert check_distortions.main([str(cfg)]) == 0
    assert "usable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"clip_p": 0.5}, "clip_factors"),
        ({**CLIP, "bogus": 1}, "unknown key 'bogus'"),
        ({"noises_p": 0.5, "noises_dir": "nowhere"}, "nowhere"),
    ],
)
def test_check_distortions_refuses(tmp_path: Path, capsys, content: dict, message: str) -> None:
    cfg = tmp_path / "d.json"
    cfg.write_text(json.dumps(content))
    assert check_distortions.main([str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pase-check-distortions: error:") and message in err
    assert "Traceback" not in err


def test_check_distortions_of_a_train_config(tmp_path: Path, capsys) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(CLIP))
    bad.write_text(json.dumps({"clip_p": 0.5}))
    y = tmp_path / "train.yaml"
    # either spelling of the key, as pase-train reads it
    for key, target, rc in (("dtrans_cfg", good, 0), ("dtrans-cfg", bad, 1)):
        y.write_text(f"net_cfg: workers\n{key}: {target}\nbatch_size: 4\n")
        assert check_distortions.main(["--train-config", str(y)]) == rc
        assert str(target) in capsys.readouterr().err
    y.write_text("fe_cfg: PASE\n")  # no distortions (and no net_cfg): nothing to check
    assert check_distortions.main(["--train-config", str(y)]) == 0
    assert "nothing to check" in capsys.readouterr().err
    assert check_distortions.main(["--train-config", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: no such file" in capsys.readouterr().err
    y.write_text("batch_size: many\n")  # pase-train's own check, in one line
    assert check_distortions.main(["--train-config", str(y)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pase-check-distortions: error: --train-config") and "many" in err
    assert "usage:" not in err


def test_check_distortions_needs_one_input() -> None:
    with pytest.raises(SystemExit):
        check_distortions.build_parser().parse_args([])
    with pytest.raises(SystemExit):
        check_distortions.build_parser().parse_args(["a.json", "--train-config", "t.yaml"])
