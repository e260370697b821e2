"""egs/iemocap/emo1: shell hygiene, option checks, and (slow) the recipe end to end on the
synthetic corpus and on a second synthetic tree given as --iemocap. Recipes run in a
temporary copy made of links, so the repository's recipe folder stays clean."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TINY_FRONTEND
from tests.utils.helpers import ROOT

RECIPE = ROOT / "egs" / "iemocap" / "emo1"
#: a small frontend (PASE+'s layout, fewer channels): the PASE stages run in seconds
TINY_FE = TINY_FRONTEND


def recipe_copy(tmp: Path) -> Path:
    """``egs/iemocap/emo1`` as a folder of links to the recipe's files."""
    d = tmp / "egs" / "iemocap" / "emo1"
    (d / "conf").mkdir(parents=True)
    for name in ("run.sh", "path.sh", "cmd.sh"):
        (d / name).symlink_to((RECIPE / name).resolve())
    (d / "utils").symlink_to(ROOT / "utils")
    for f in (RECIPE / "conf").iterdir():
        (d / "conf" / f.name).symlink_to(f.resolve())
    return d


def run(d: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["./run.sh", *args], cwd=d, capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ),
    )  # fmt: skip


def test_recipe_files() -> None:
    assert (RECIPE / "utils").resolve() == (ROOT / "utils").resolve()
    assert (RECIPE / "path.sh").resolve() == (ROOT / "egs/librispeech/pase/path.sh").resolve()
    assert os.access(RECIPE / "run.sh", os.X_OK)
    assert (RECIPE / "README.md").is_file()


def test_run_sh_has_no_inline_python() -> None:
    text = (RECIPE / "run.sh").read_text(encoding="utf-8")
    for bad in ("python -c", "python3 -c", "python - <<", "python3 - <<", "python <<"):
        assert bad not in text, bad


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_clean() -> None:
    files = [RECIPE / n for n in ("run.sh", "cmd.sh", "path.sh", "conf/run.conf")]
    p = subprocess.run(
        ["shellcheck", "-x", *map(str, files)], capture_output=True, text=True, cwd=RECIPE
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_recipe_calls_commands_by_their_names() -> None:
    from tests.test_cli import build, optionals, recipe_calls

    calls = recipe_calls(RECIPE / "run.sh")
    used = {c for c, _ in calls}
    assert {"pase-synth-iemocap", "pase-prepare-iemocap", "pase-dump-feats", "pase-make-folds",
            "pase-save-random-encoder", "pase-summarize-probes"} <= used  # fmt: skip
    for command, flags in calls:
        names = {a for o in optionals(build(command)) for a in o.option_strings}
        assert set(flags) <= names, (command, set(flags) - names)
    # pase-probe is started through the launcher, one word at a time: its flags exist too
    text = (RECIPE / "run.sh").read_text(encoding="utf-8")
    loop = text[text.index("for a in pase-probe") : text.index('words+=("$(launcher_word')]
    probe = {a for o in optionals(build("pase-probe")) for a in o.option_strings}
    assert set(re.findall(r"--[a-z-]+", loop)) <= probe
    conf = (RECIPE / "conf" / "run.conf").read_text(encoding="utf-8")
    args = re.search(r'probe_args="([^"]*)"', conf).group(1)  # type: ignore[union-attr]
    assert set(re.findall(r"--[a-z-]+", args)) <= probe and "--pooling stats" in args


def test_help_and_bad_options(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path)
    p = run(d, "--help")
    assert p.returncode == 0 and "--iemocap" in p.stderr and "--pase_ckpt" in p.stderr
    assert "--pooling stats" in p.stderr  # the defaults of conf/run.conf
    p = run(d, "--no_such_option", "1")
    assert p.returncode == 1 and "--no_such_option" in p.stderr
    p = run(d, "--feats", "mfcc pase+")
    assert p.returncode == 1 and "--feats pase+ needs --pase_ckpt" in p.stderr
    p = run(d, "--feats", "mfcc wav2vec")
    assert p.returncode == 1 and "unknown feature wav2vec" in p.stderr
    p = run(d, "--pase_ckpt", str(tmp_path / "missing.ckpt"))
    assert p.returncode == 1 and "missing.ckpt: no such file" in p.stderr
    p = run(d, "--iemocap", str(tmp_path / "nowhere"))
    assert p.returncode == 1 and "nowhere: no such folder" in p.stderr
    assert not (d / "corpus").exists() and not (d / "data").exists()


def _results(d: Path, feat: str, folds: int = 5) -> list[dict]:
    out = []
    for k in range(1, folds + 1):
        r = json.loads((d / "exp" / feat / f"fold{k}" / "results.json").read_text())
        for split in ("dev", "test"):
            assert 0.0 <= r[split]["accuracy"] <= 1.0
            assert 0.0 <= r[split]["unweighted_accuracy"] <= 1.0
        assert r["num_classes"] == 4 and r["labels"] == "utt2emo"
        assert r["splits"]["test"].endswith(f"{feat}/folds/fold{k}/test")
        out.append(r)
    return out


def _rows(results_md: str) -> dict[str, list[str]]:
    rows = {}
    for line in results_md.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] != "system":
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.slow
def test_recipe_on_the_synthetic_corpus(tmp_path: Path) -> None:
    """Stages 0-3 without --iemocap: the synthetic tree, the session data dirs, MFCC and PASE
    features (a small frontend with a given checkpoint), 5 folds each, RESULTS.md with one
    pooled row per feature and one per fold."""
    pytest.importorskip("kaldi_native_fbank")
    from pase.corpus.espeak import espeak_available
    from pase.io.datadir import read_kv

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    d = recipe_copy(tmp_path)
    fe = tmp_path / "tiny.cfg"
    fe.write_text(json.dumps(TINY_FE))
    ckpt = tmp_path / "tiny.ckpt"
    subprocess.run(
        ["pase-save-random-encoder", "--fe-cfg", str(fe), "--seed", "1", str(ckpt)],
        check=True, capture_output=True,
    )  # fmt: skip
    p = run(d, "--feats", "mfcc pase+", "--fe_cfg", str(fe), "--pase_ckpt", str(ckpt))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert (d / "corpus" / "IEMOCAP_full_release" / "Session5").is_dir()
    for s in range(1, 6):
        emo = read_kv(d / "data" / f"Session{s}" / "utt2emo")
        assert len(emo) == 24 and sorted(set(emo.values())) == ["ang", "hap", "neu", "sad"]
    counts = (d / "data" / "emotion_counts.tsv").read_text().splitlines()
    assert counts[-1].split("\t")[:6] == ["total", "30", "30", "30", "30", "120"]
    text = (d / "exp" / "RESULTS.md").read_text()
    rows = _rows(text)
    for feat in ("mfcc", "pase+"):
        runs = _results(d, feat)
        assert sorted(Path(r["splits"]["test"]).parent.name for r in runs) == [
            f"fold{k}" for k in range(1, 6)]  # fmt: skip
        assert sum(r["test"]["total"] for r in runs) == 120  # every session tested once
        pooled = rows[f"{feat} (5 runs)"]
        wa = sum(r["test"]["correct"] for r in runs) / 120
        assert pooled[0] == f"{100 * wa:.1f}"
        for k in range(1, 6):
            assert f"{feat}/fold{k}" in rows
    # MFCC statistics separate the synthetic emotions well above chance (0.25)
    assert sum(r["test"]["correct"] for r in _results(d, "mfcc")) / 120 > 0.4
    assert "fold k tests on Session k" in text and "weighted accuracy (WA)" in text
    tsv = (d / "dump" / "mfcc" / "folds" / "folds.tsv").read_text().splitlines()
    assert tsv[1] == "fold1\tSession1\tSession2\tSession3,Session4,Session5"


@pytest.mark.slow
def test_recipe_on_another_tree(tmp_path: Path) -> None:
    """Only --iemocap changes: a second tree (other seed, sizes and dialogs) is prepared and
    probed (a random-init encoder saved by the recipe); no synthetic corpus is made."""
    from pase.corpus.espeak import espeak_available
    from pase.io.datadir import read_kv

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    other = tmp_path / "other"
    subprocess.run(
        ["pase-synth-iemocap", "--seed", "7", "--utts-per-emotion", "2", "--other-per-speaker",
         "2", "--dialogs-per-session", "3", str(other)],
        check=True, capture_output=True,
    )  # fmt: skip
    d = recipe_copy(tmp_path)
    fe = tmp_path / "tiny.cfg"
    fe.write_text(json.dumps(TINY_FE))
    tree = str(other / "IEMOCAP_full_release")
    p = run(d, "--iemocap", tree, "--feats", "pase+_random", "--fe_cfg", str(fe))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert not (d / "corpus").exists()
    emo = read_kv(d / "data" / "Session3" / "utt2emo")
    assert len(emo) == 2 * 4 * 2
    assert any("_impro02_" in u for u in emo) and all(u.startswith("Ses03") for u in emo)
    counts = (d / "data" / "emotion_counts.tsv").read_text().splitlines()
    assert counts[-1].split("\t")[5] == "80"  # kept; 2 x 2 x 5 turns of other codes dropped
    assert sum(r["test"]["total"] for r in _results(d, "pase+_random")) == 80
    assert (d / "exp" / "pase+_random" / "FE_random.ckpt").is_file()
    text = (d / "exp" / "RESULTS.md").read_text()
    rows = _rows(text)
    assert "pase+_random (5 runs)" in rows and "mfcc (5 runs)" not in rows and tree in text
