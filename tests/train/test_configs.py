"""Every shipped training YAML parses with ``pase-train``'s options, unknown keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pase.train.options import parse_options

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    {
        p.resolve()
        for p in [*ROOT.glob("conf/train_*.yaml"), *ROOT.glob("egs/*/pase/conf/train_*.yaml")]
    }
)


def test_configs_found() -> None:
    names = {p.name for p in CONFIGS}
    assert {"train_pase.yaml", "train_pase+.yaml", "train_tiny.yaml", "train_learn.yaml"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_config_parses(config: Path) -> None:
    args = parse_options(["--config", str(config), "--data_cfg", "x.json"])
    assert args.fe_cfg in ("PASE", "PASE+")
    assert args.net_cfg in ("workers", "workers+")


def test_unknown_config_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("net_cfg: workers+\nbatch_size: 4\n")
    assert parse_options(["--config", str(good), "--data_cfg", "x.json"]).batch_size == 4
    bad = tmp_path / "bad.yaml"
    bad.write_text("net_cfg: workers+\nbatch_size: 4\nbatchsize: 8\n")
    with pytest.raises(SystemExit):
        parse_options(["--config", str(bad), "--data_cfg", "x.json"])
    assert "batchsize" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False), ("yes", True)])
def test_allow_config_change_from_yaml(tmp_path: Path, text: str, expected: bool) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"net_cfg: workers+\nallow_config_change: {text}\n")
    args = parse_options(["--config", str(cfg), "--data_cfg", "x.json"])
    assert args.allow_config_change is expected
    assert parse_options(["--net_cfg", "workers", "--data_cfg", "x"]).allow_config_change is False
    # the command line wins over the YAML
    args = parse_options(["--config", str(cfg), "--data_cfg", "x", "--allow_config_change", "no"])
    assert args.allow_config_change is False
