"""egs/voxceleb/sid1: shell hygiene, options, stage wiring and (slow) the recipe end to end on
the synthetic corpus and on a second VoxCeleb1-layout tree given as --voxceleb. The recipe runs
in a temporary copy made of links, so the repository's recipe folder stays clean."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pase.bin import cli
from tests.test_cli import build, optionals, recipe_calls
from tests.utils.helpers import ROOT

SID = ROOT / "egs" / "voxceleb" / "sid1"
SCRIPTS = [SID / "run.sh", SID / "path.sh", SID / "cmd.sh", SID / "conf" / "run.conf"]
FEATS = ("mfcc", "fbank", "pase+", "pase+_random")
#: a small corpus and a short probe, so that each end-to-end run stays near a minute
SMALL = "--num-speakers 6 --videos 2 --utterances 3 --dev-per-speaker 1 --test-per-speaker 1"
SHORT_PROBE = "--epochs 6 --patience 6 --lr 1e-2 --batch-size 8"


def recipe_copy(tmp: Path, *, cmd_sh: str | None = None) -> Path:
    """``egs/voxceleb/sid1`` as a folder of links (its own conf/ of links too)."""
    d = tmp / "egs" / "voxceleb" / "sid1"
    (d / "conf").mkdir(parents=True)
    for name in ("run.sh", "path.sh", "cmd.sh"):
        (d / name).symlink_to(SID / name)
    (d / "utils").symlink_to(ROOT / "utils")
    for f in (SID / "conf").iterdir():
        (d / "conf" / f.name).symlink_to(f.resolve())
    if cmd_sh is not None:
        (d / "cmd.sh").unlink()
        (d / "cmd.sh").write_text(cmd_sh)
    return d


def run(d: Path, *args: str, timeout: float = 600, env: dict | None = None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        ["./run.sh", *args], cwd=d, capture_output=True, text=True, timeout=timeout, env=e
    )


def test_layout() -> None:
    assert (SID / "run.sh").stat().st_mode & 0o111
    assert (SID / "utils").resolve() == (ROOT / "utils").resolve()
    assert (SID / "conf" / "slurm.conf").is_file() and (SID / "README.md").is_file()


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_clean() -> None:
    p = subprocess.run(
        ["shellcheck", "-x", *map(str, SCRIPTS)], capture_output=True, text=True, cwd=SID
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_no_inline_python() -> None:
    text = (SID / "run.sh").read_text(encoding="utf-8")
    for bad in ("python -c", "python3 -c", "python - <<", "python3 - <<", "python <<"):
        assert bad not in text, bad


def test_commands_are_called_by_their_option_names() -> None:
    """Every pase-* call of run.sh uses the commands' option names (docs/cli.md), the probe
    call built in a loop included."""
    text = (SID / "run.sh").read_text(encoding="utf-8")
    calls = recipe_calls(SID / "run.sh")
    m = re.search(r"for a in (pase-probe .*?); do", text, re.S)
    assert m is not None
    calls.append(("pase-probe", re.findall(r"(?<![\w-])--[a-z0-9_-]+", m.group(1))))
    commands = {c for c, _ in calls}
    assert {"pase-synth-voxceleb", "pase-prepare-voxceleb", "pase-dump-feats", "pase-probe",
            "pase-save-random-encoder", "pase-summarize-probes"} <= commands  # fmt: skip
    for command, flags in calls:
        names = {cli.option_name(a) for a in optionals(build(command))}
        assert set(flags) <= names, (command, set(flags) - names)


def test_help_and_bad_options(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path)
    p = run(d, "--help")
    assert p.returncode == 0
    for opt in ("--voxceleb", "--pase_ckpt", "--feats", "--pooling", "--probe_args"):
        assert opt in p.stderr, opt
    for args, want in (
        (("--no_such_option", "1"), "--no_such_option"),
        (("--voxceleb", str(tmp_path / "nowhere")), "nowhere: no such folder"),
        (("--feats", "mfcc plp"), "unknown feature type 'plp'"),
        (("--pooling", "max"), "--pooling must be mean or stats"),
        (("--pase_ckpt", str(tmp_path / "missing.ckpt")), "missing.ckpt: no such file"),
        (("--feats", "pase+"), "no feature type left"),  # pase+ without a checkpoint
        (("--test_condition", "clean babble"), "unknown condition 'babble'"),
        (("--test_condition", "noise", "--snr", "5"), "--snr takes two numbers"),
    ):
        p = run(d, *args, timeout=60)
        assert p.returncode == 1 and want in p.stderr, (args, p.stderr)
    assert not (d / "data").exists() and not (d / "corpus").exists()


def test_probe_stage_wiring(tmp_path: Path) -> None:
    """Stage 2 runs one pase-probe per feature type through probe_cmd: the dump dirs, the
    utterance task on utt2spk, the pooling, then probe_args; pase+ is left out (with a
    warning) when no checkpoint is given."""
    fake = tmp_path / "fake_launcher.sh"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" END >> "$FAKE_ARGS"\n')
    fake.chmod(0o755)
    d = recipe_copy(tmp_path, cmd_sh=f'export feat_cmd=utils/run.pl\nexport probe_cmd="{fake}"\n')
    argsf = tmp_path / "args"
    p = run(d, "--stage", "2", "--stop_stage", "2", "--pooling", "stats", "--probe_args",
            "--hidden 64 --epochs 3", env={"FAKE_ARGS": str(argsf)}, timeout=60)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "no --pase_ckpt: pase+ left out" in p.stdout
    calls = [c.strip("\n").split("\n") for c in argsf.read_text().split("END\n")[:-1]]
    feats = [c[0].split("/")[1].removeprefix("probe_") for c in calls]
    assert feats == ["mfcc", "fbank", "pase+_random"]
    for feat, c in zip(feats, calls):
        assert c[0] == f"exp/probe_{feat}/log/probe.log" and c[1] == "pase-probe"
        flat = " ".join(c[1:])
        for part in (f"--train dump/{feat}/train", f"--dev dump/{feat}/dev",
                     f"--test dump/{feat}/test", "--labels utt2spk", "--task utt",
                     "--pooling stats", f"--out-dir exp/probe_{feat}"):  # fmt: skip
            assert part in flat, (part, flat)
        assert c[-4:] == ["--hidden", "64", "--epochs", "3"]


def test_probe_stage_wiring_with_test_conditions(tmp_path: Path) -> None:
    """With --test_condition, every feature type gets one probe per condition, each on the
    clean train and dev sets and scored on data/test_<cond>'s features, in its own folder."""
    fake = tmp_path / "fake_launcher.sh"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" END >> "$FAKE_ARGS"\n')
    fake.chmod(0o755)
    d = recipe_copy(tmp_path, cmd_sh=f'export feat_cmd=utils/run.pl\nexport probe_cmd="{fake}"\n')
    argsf = tmp_path / "args"
    p = run(d, "--stage", "2", "--stop_stage", "2", "--feats", "mfcc pase+_random",
            "--test_condition", "clean noise+reverb reverb", env={"FAKE_ARGS": str(argsf)},
            timeout=60)  # fmt: skip
    assert p.returncode == 0, p.stderr
    calls = [" ".join(c.strip("\n").split("\n")) for c in argsf.read_text().split("END\n")[:-1]]
    want = [(f, t, o) for f in ("mfcc", "pase+_random") for t, o in (
        ("test", f"probe_{f}"), ("test_noise+reverb", f"probe_{f}_noise+reverb"),
        ("test_reverb", f"probe_{f}_reverb"))]  # fmt: skip
    assert len(calls) == len(want)
    for c, (f, t, o) in zip(calls, want):
        for part in (f"--train dump/{f}/train", f"--dev dump/{f}/dev", f"--test dump/{f}/{t} ",
                     f"--out-dir exp/{o} "):  # fmt: skip
            assert part in c + " ", (part, c)


def _probe_dir(f: str, cond: str) -> str:
    return f"probe_{f}" if cond == "clean" else f"probe_{f}_{cond}"


def _results(d: Path, conditions: tuple[str, ...] = ("clean",)) -> dict[tuple[str, str], dict]:
    return {
        (f, c): json.loads((d / "exp" / _probe_dir(f, c) / "results.json").read_text())
        for f in FEATS
        for c in conditions
    }


def _check_run(
    d: Path,
    p: subprocess.CompletedProcess,
    num_speakers: int,
    conditions: tuple[str, ...] = ("clean",),
) -> list[str]:
    """RESULTS.md has one row per feature type (and test condition) with numbers; each
    results.json holds test and dev accuracies in [0, 1] over the right classes. Returns the
    RESULTS.md rows."""
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    text = (d / "exp" / "RESULTS.md").read_text()
    rows = [r for r in text.splitlines() if r.startswith("| ") and not r.startswith("| system")]
    names = [f if len(conditions) == 1 else f"{f}, {c}" for f in FEATS for c in conditions]
    assert [r.split("|")[1].strip() for r in rows] == names, text
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        acc, (lo, hi) = float(cells[1]), map(float, cells[2].split("-"))
        assert 0 <= lo <= acc <= hi <= 100, r
    for (f, _), r in _results(d, conditions).items():
        assert r["num_classes"] == num_speakers and r["task"] == "utt" and r["labels"] == "utt2spk"
        for split in ("dev", "test"):
            a = r[split]["accuracy"]
            assert isinstance(a, float) and 0.0 <= a <= 1.0, (f, split, a)
            assert r[split]["total"] == r["num_utterances"][split]
        assert r["seconds_per_epoch"] > 0
    dims = {f: int((d / "dump" / f / "test" / "feat_dim").read_text()) for f in FEATS}
    assert dims == {"mfcc": 30, "fbank": 40, "pase+": 256, "pase+_random": 256}
    assert text in p.stdout  # the table is printed at the end
    return rows


@pytest.fixture
def any_ckpt(tmp_path: Path) -> Path:
    """Any checkpoint for the pase+ features: a seeded random encoder (not pase+_random's)."""
    ckpt = tmp_path / "any" / "FE_any.ckpt"
    subprocess.run(["pase-save-random-encoder", "--seed", "3", str(ckpt)], check=True,
                   capture_output=True)  # fmt: skip
    return ckpt


def _needs_espeak() -> None:
    from pase.corpus.espeak import espeak_available

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    pytest.importorskip("kaldi_native_fbank")


@pytest.mark.slow
def test_recipe_on_the_synthetic_corpus(tmp_path: Path, any_ckpt: Path) -> None:
    _needs_espeak()
    d = recipe_copy(tmp_path)
    p = run(d, "--nj", "1", "--pase_ckpt", str(any_ckpt), "--synth_args", SMALL,
            "--probe_args", SHORT_PROBE)  # fmt: skip
    _check_run(d, p, num_speakers=6)
    split = (d / "corpus" / "iden_split.txt").read_text().splitlines()
    assert len(split) == 6 * 2 * 3
    assert len((d / "data" / "train" / "utt2spk").read_text().splitlines()) == 24
    text = (d / "exp" / "RESULTS.md").read_text()
    assert "- corpus: synthetic (corpus)" in text and f"- pase+: {any_ckpt}" in text


@pytest.mark.slow
def test_recipe_on_another_tree(tmp_path: Path, any_ckpt: Path) -> None:
    """Only --voxceleb changes: another seed and speaker count, a tree outside the recipe,
    stats pooling, and a noisy and reverberant test set besides the clean one."""
    _needs_espeak()
    tree = tmp_path / "VoxCeleb1 copy"
    subprocess.run(["pase-synth-voxceleb", "--seed", "11", "--num-speakers", "5", "--videos",
                    "3", "--utterances", "2", "--dev-per-speaker", "1", "--test-per-speaker",
                    "1", "--nj", "2", str(tree)], check=True, capture_output=True)  # fmt: skip
    d = recipe_copy(tmp_path)
    p = run(d, "--voxceleb", str(tree), "--nj", "1", "--pase_ckpt", str(any_ckpt),
            "--pooling", "stats", "--probe_args", SHORT_PROBE,
            "--test_condition", "clean noise+reverb")  # fmt: skip
    conds = ("clean", "noise+reverb")
    _check_run(d, p, num_speakers=5, conditions=conds)
    assert not (d / "corpus").exists()
    speakers = {p.name for p in (tree / "wav").iterdir()}
    u2s = (d / "data" / "train" / "utt2spk").read_text().splitlines()
    assert len(u2s) == 5 * 3 * 2 - 2 * 5 and {x.split()[1] for x in u2s} == speakers
    results = _results(d, conds)
    assert all(r["config"]["pooling"] == "stats" for r in results.values())
    text = (d / "exp" / "RESULTS.md").read_text()
    assert f"- corpus: {tree}" in text and "- test conditions: noise+reverb" in text
    assert "(simulated)" in text
    # the same utterances, other audio: a condition dir of test with its draws
    cond = d / "data" / "test_noise+reverb"
    assert (cond / "utt2spk").read_text() == (d / "data" / "test" / "utt2spk").read_text()
    assert (cond / "condition.json").is_file()
    for f in FEATS:  # the probe is the same (seeded, clean train/dev): same dev accuracy
        assert results[(f, "clean")]["dev"] == results[(f, "noise+reverb")]["dev"], f
