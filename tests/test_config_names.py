"""Config names and paths a newcomer types: built-in names in any case, the original PASE
repository's ``cfg/frontend/PASE+.cfg`` / ``cfg/workers/workers+.cfg`` (its README's
snippets) from any folder, and an error that says where the configs are."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pase.configs import PACKAGE_CONF
from pase.models.frontend import load_config, resolve_frontend_cfg, wf_builder
from pase.train.fingerprint import fingerprint
from pase.workers.config import WorkersConfigError, load_workers_cfg, resolve_workers_cfg

FRONTEND = PACKAGE_CONF / "frontend"
WORKERS = PACKAGE_CONF / "workers"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (no cfg/ or conf/ in it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["PASE+", "pase+", "Pase+", "PaSe+"])
def test_frontend_names_in_any_case(name: str) -> None:
    assert resolve_frontend_cfg(name) == (FRONTEND / "PASE+.cfg", "PASE+")
    assert load_config(name) == load_config("PASE+") != load_config("pase")


@pytest.mark.parametrize("name", ["workers+", "Workers+", "WORKERS+"])
def test_workers_names_in_any_case(name: str) -> None:
    assert resolve_workers_cfg(name) == (WORKERS / "workers+.cfg", "workers+")
    assert load_workers_cfg(name)[0] == load_workers_cfg("workers+")[0]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("cfg/frontend/PASE+.cfg", "PASE+"),  # the original README
        ("cfg/frontend/PASE.cfg", "PASE"),
        ("../cfg/frontend/PASE+.cfg", "PASE+"),  # the original's TIMIT command
        ("conf/frontend/PASE+.cfg", "PASE+"),  # our README, run outside the checkout
        ("/old/checkout/cfg/frontend/pase+.cfg", "PASE+"),
    ],
)
def test_original_layout_paths_find_the_packaged_frontend(elsewhere, path: str, name) -> None:
    assert resolve_frontend_cfg(path) == (FRONTEND / f"{name}.cfg", name)
    assert sum(p.numel() for p in wf_builder(path).parameters()) == sum(
        p.numel() for p in wf_builder(name).parameters()
    )


@pytest.mark.parametrize("path", ["cfg/workers/workers+.cfg", "conf/workers/Workers+.cfg"])
def test_original_layout_paths_find_the_packaged_workers(elsewhere, path: str) -> None:
    assert resolve_workers_cfg(path) == (WORKERS / "workers+.cfg", "workers+")


def test_an_existing_file_wins_over_the_packaged_one(elsewhere: Path) -> None:
    mine = elsewhere / "cfg" / "frontend" / "PASE+.cfg"
    mine.parent.mkdir(parents=True)
    cfg = json.loads((FRONTEND / "PASE+.cfg").read_text())
    mine.write_text(json.dumps({**cfg, "emb_dim": 100}))
    assert resolve_frontend_cfg("cfg/frontend/PASE+.cfg") == (Path("cfg/frontend/PASE+.cfg"), None)
    assert load_config("cfg/frontend/PASE+.cfg")["emb_dim"] == 100


@pytest.mark.parametrize("path", ["PASE++", "cfg/frontend/PASE++.cfg", "cfg/workers/PASE+.cfg"])
def test_unknown_frontend_names_say_where_configs_are(elsewhere, path: str) -> None:
    with pytest.raises(ValueError, match="not a file") as e:
        wf_builder(path)
    assert "PASE, PASE+" in str(e.value) and "conf/frontend/" in str(e.value)


def test_unknown_workers_names_say_where_configs_are(elsewhere) -> None:
    with pytest.raises(WorkersConfigError, match="cannot read") as e:
        load_workers_cfg("cfg/workers/workers++.cfg")
    assert "workers, workers+" in str(e.value) and "conf/workers/" in str(e.value)


def _fingerprint(fe_cfg: str, net_cfg: str) -> dict:
    args = argparse.Namespace(
        lr_mode="step", data_cfg=None, data_dir=None, valid_data_dir=None, stats=None,
        dtrans_cfg=None, fe_cfg=fe_cfg, net_cfg=net_cfg,
    )  # fmt: skip
    return fingerprint(args)


def test_spellings_of_one_config_resume_the_same_run(elsewhere) -> None:
    base = _fingerprint("PASE+", "workers+")
    assert (base["fe_cfg"], base["net_cfg"]) == ("PASE+", "workers+")
    assert _fingerprint("pase+", "Workers+") == base
    assert _fingerprint("cfg/frontend/PASE+.cfg", "cfg/workers/workers+.cfg") == base
    assert _fingerprint("PASE", "workers+")["fe_cfg"] == "PASE"
