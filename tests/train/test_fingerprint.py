"""A resume must be the same run: the fingerprint of options and input files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from pase.bin.train import main
from pase.targets.stats import TargetStats
from pase.train import fingerprint as fp
from pase.train import state as st
from pase.train.options import build_parser, parse_options
from tests.train.conftest import train_args


def _fp(setup: dict[str, Path], tmp_path: Path, *extra: str) -> dict:
    args = parse_options(train_args(setup, tmp_path / "run", *extra))
    return fp.fingerprint(args, train_files=9, valid_files=4)


def _changed(old: dict, new: dict) -> list[str]:
    return [k for k, _, _ in fp.differences(old, new)]


def test_every_option_is_classified_once() -> None:
    dests = {a.dest for a in build_parser()._actions if a.dest != "help"}
    lists = [fp.VALUE_OPTIONS, fp.FILE_OPTIONS, fp.NOT_FINGERPRINTED]
    named = [n for group in lists for n in group]
    assert len(named) == len(set(named)), "an option is in two lists"
    # "epoch" is fingerprinted only with length-dependent schedules, hence in neither list
    assert set(named) | {"epoch"} == dests


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--fe_lr", "0.002"), ("--min_lr", "0.002"), ("--fe_opt", "RAdam"),
        ("--lr_mode", "constant"), ("--lrdec_step", "3"), ("--lrdecay", "0.5"),
        ("--lr_warmup_steps", "10"), ("--batch_size", "5"), ("--chunk_size", "4000"),
        ("--seed", "8"), ("--context", "self"), ("--random_scale", "True"),
        ("--grad_clip", "1.0"), ("--backprop_mode", "select_half"), ("--valid_batches", "2"),
        ("--data_root", "/elsewhere"),
    ],
)  # fmt: skip
def test_run_defining_options_are_compared(tiny_setup, tmp_path: Path, option, value) -> None:
    old = _fp(tiny_setup, tmp_path)
    new = _fp(tiny_setup, tmp_path, option, value)
    assert _changed(old, new) == [option[2:]]


@pytest.mark.parametrize(
    "extra",
    [
        ["--max_steps", "5"], ["--log_freq", "10"], ["--ckpt_interval", "7"],
        ["--max_ckpts", "5"], ["--num_workers", "3"], ["--tensorboard", "True"],
        ["--device", "cpu"], ["--validate_audio", "False"], ["--skip_bad_audio"],
        ["--skip_nonfinite"], ["--allow_config_change", "true"], ["--epoch", "7"],
        ["--fe_opt", "adam"], ["--fe_lr", "1e-3"], ["--no_continue", "True"],
    ],
)  # fmt: skip
def test_options_that_may_change_between_resumes(tiny_setup, tmp_path: Path, extra) -> None:
    assert fp.differences(_fp(tiny_setup, tmp_path), _fp(tiny_setup, tmp_path, *extra)) == []


def test_epoch_counts_only_for_length_dependent_schedules(tiny_setup, tmp_path: Path) -> None:
    for mode in ("poly", "cos"):
        a = _fp(tiny_setup, tmp_path, "--lr_mode", mode, "--epoch", "3")
        b = _fp(tiny_setup, tmp_path, "--lr_mode", mode, "--epoch", "4")
        assert fp.change_lines(fp.differences(a, b)) == ["epoch: 3 -> 4"]
    step = _fp(tiny_setup, tmp_path, "--epoch", "3")  # "step" mode: epoch not recorded
    assert fp.change_lines(fp.differences(step, a)) == [
        "lr_mode: 'step' -> 'cos'", "epoch: (not recorded) -> 3",
    ]  # fmt: skip


def test_file_contents_are_compared(tiny_setup, tmp_path: Path) -> None:
    work = tmp_path / "files"
    data = work / "data"
    shutil.copytree(tiny_setup["train"], data)
    stats, dtrans, net, fe = (work / n for n in ("s.json", "d.json", "w.cfg", "f.cfg"))
    stats.write_text("{}")
    dtrans.write_text('{"clip_p": 0.5}')
    shutil.copy(tiny_setup["net_cfg"], net)
    shutil.copy(tiny_setup["fe_cfg"], fe)
    extra = ["--stats", str(stats), "--dtrans_cfg", str(dtrans), "--net_cfg", str(net),
             "--fe_cfg", str(fe)]  # fmt: skip

    def now() -> dict:
        args = parse_options([*train_args(tiny_setup, tmp_path / "run"), *extra])
        args.data_dir = str(data)
        return fp.fingerprint(args, train_files=9, valid_files=4)

    base = now()
    assert base["data_dir/segments"] is None and base["fe_cfg"].startswith("sha256:")
    # same size, same number of lines, other content: two utterances' paths swapped
    lines = (data / "wav.scp").read_text().splitlines()
    (k0, p0), (k1, p1) = (ln.split() for ln in lines[:2])
    (data / "wav.scp").write_text("\n".join([f"{k0} {p1}", f"{k1} {p0}", *lines[2:]]) + "\n")
    stats.write_text("[]")
    dtrans.write_text('{"clip_p": 0.4}')
    net.write_text(net.read_text().replace('"hidden_size": 16', '"hidden_size": 17', 1))
    fe.write_text(json.dumps({**json.loads(fe.read_text()), "emb_dim": 17}))
    (data / "segments").write_text("")
    diffs = fp.differences(base, now())
    assert [k for k, _, _ in diffs] == [
        "data_dir/wav.scp", "data_dir/segments", "stats", "dtrans_cfg", "fe_cfg", "net_cfg",
    ]  # fmt: skip
    for line in fp.change_lines(diffs):
        assert line.count("sha256:") == 2 - ("segments" in line), line
        hashes = re.findall(r"sha256:(\w+)", line)
        assert hashes and all(len(h) == 12 for h in hashes), line
    # built-in configs are kept by name
    named = fp.fingerprint(parse_options(train_args(tiny_setup, tmp_path / "r", "--fe_cfg",
                                                    "PASE+")), train_files=1)  # fmt: skip
    assert named["fe_cfg"] == "PASE+"


def test_data_cfg_contents_and_file_counts(tiny_setup, tmp_path: Path) -> None:
    cfg = tmp_path / "data.json"
    cfg.write_text('{"train": {"a": {"wav": "a.wav"}}}')
    args = train_args(tiny_setup, tmp_path / "run")
    i = args.index("--data_dir")
    args = [*args[:i], *args[i + 4 :], "--data_cfg", str(cfg)]  # drop --data_dir, --valid...
    a = fp.fingerprint(parse_options(args), train_files=1)
    cfg.write_text('{"train": {"b": {"wav": "b.wav"}}}')  # same size
    b = fp.fingerprint(parse_options(args), train_files=2)
    lines = fp.change_lines(fp.differences(a, b))
    assert lines[0].startswith("data_cfg: sha256:") and lines[1] == "train_files: 1 -> 2"
    assert len(lines) == 2


def _stats(path: Path, std: float) -> Path:
    n = {"mfcc": 13, "prosody": 4}
    TargetStats(
        mean={k: torch.zeros(c) for k, c in n.items()},
        std={k: torch.full((c,), std) for k, c in n.items()},
    ).save(path)
    return path


@pytest.mark.slow
def test_resume_with_other_options_is_refused_unless_allowed(
    tiny_setup, tmp_path: Path, capsys
) -> None:
    save = tmp_path / "run"
    stats = _stats(tmp_path / "stats.json", 1.0)
    args = train_args(tiny_setup, save, "--epoch", "1", "--stats", str(stats))
    assert main([*args, "--max_steps", "2"]) == 0
    saved = st.load_latest_state(save)
    assert saved["step"] == 2 and saved["fingerprint"]["fe_lr"] == 0.001
    old_hash = saved["fingerprint"]["stats"][7:19]
    _stats(stats, 2.0)  # same file name, other contents
    capsys.readouterr()
    assert main([*args, "--fe_lr", "0.002", "--max_steps", "3"]) == 1
    err = capsys.readouterr().err
    assert "train_state_000000002.pt was saved by a run with other options or inputs" in err
    assert "  fe_lr: 0.001 -> 0.002\n" in err
    assert f"  stats: sha256:{old_hash} -> sha256:" in err
    assert "--allow-config-change true" in err and "Traceback" not in err
    assert len(re.findall(r"(?m)^  \S+: .+ -> ", err)) == 2  # exactly the two that differ
    assert [s for s, _ in st.list_states(save)] == [2]  # nothing trained, nothing written
    # allowed: resumes, logs the changes, and the new state records the new fingerprint
    allowed = [*args, "--fe_lr", "0.002", "--max_steps", "3", "--allow_config_change", "true"]
    assert main(allowed) == 0
    log = (save / "train.log").read_text()
    assert "--allow-config-change: resuming" in log and "fe_lr: 0.001 -> 0.002" in log
    assert "resuming from" in log and "stats: sha256:" in log
    new = st.load_latest_state(save)
    assert new["step"] == 3 and new["fingerprint"]["fe_lr"] == 0.002


@pytest.mark.slow
def test_state_without_fingerprint_resumes_with_a_warning(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "old"
    args = train_args(tiny_setup, save, "--epoch", "1")
    assert main([*args, "--max_steps", "1"]) == 0
    _, path = st.list_states(save)[-1]
    state = torch.load(path, weights_only=True)
    del state["fingerprint"]  # as written before fingerprints existed
    torch.save(state, path)
    assert main([*args, "--max_steps", "2", "--fe_lr", "0.003"]) == 0
    log = (save / "train.log").read_text()
    assert "saved without a run fingerprint" in log and "could not be checked" in log
    assert st.load_latest_state(save)["step"] == 2


@pytest.mark.slow
def test_no_continue_starts_afresh_and_stays_afresh(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "nc"
    args = train_args(tiny_setup, save, "--epoch", "2", "--ckpt_interval", "1")
    assert main(args) == 0
    assert [s for s, _ in st.list_states(save)] == [5, 6]
    assert main([*args, "--no_continue", "True", "--max_steps", "2"]) == 0
    # the earlier run's states are gone: the new ones are not rotated away by them
    assert [s for s, _ in st.list_states(save)] == [1, 2]
    assert "--no-continue: removed 2 training state(s)" in (save / "train.log").read_text()
    assert main([*args, "--max_steps", "3"]) == 0  # resumes the new run, at step 2
    assert "resuming from" in (save / "train.log").read_text().split("--no-continue")[-1]
    assert st.load_latest_state(save)["step"] == 3
