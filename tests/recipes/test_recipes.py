"""egs/librispeech/pase and egs/mini_librispeech_synth/pase: shell hygiene, stage wiring, and
(slow) the bundled recipe end to end. Recipes run in a temporary copy made of links, so the
repository's recipe folders stay clean."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.utils.helpers import ROOT

LIBRI = ROOT / "egs" / "librispeech" / "pase"
MINI = ROOT / "egs" / "mini_librispeech_synth" / "pase"
SCRIPTS = [
    *sorted((ROOT / "utils").glob("*.sh")),
    ROOT / "tools" / "install.sh",
    LIBRI / "run.sh",
    LIBRI / "path.sh",
    LIBRI / "cmd.sh",
    LIBRI / "local" / "get_corpus.sh",
    LIBRI / "local" / "prepare_distortions.sh",
    MINI / "local" / "get_corpus.sh",
    MINI / "conf" / "run.conf",
    ROOT / "egs" / "timit" / "asr1" / "run.sh",
]


def recipe_copy(tmp: Path, recipe: Path, *, cmd_sh: str | None = None) -> Path:
    """A recipe folder of links to ``recipe``'s files (own conf/ and local/ links too)."""
    d = tmp / "egs" / recipe.parent.name / "pase"
    (d / "conf").mkdir(parents=True)
    (d / "local").mkdir()
    for name in ("run.sh", "path.sh", "cmd.sh"):
        (d / name).symlink_to((recipe / name).resolve())
    (d / "utils").symlink_to(ROOT / "utils")
    for f in (recipe / "conf").iterdir():
        (d / "conf" / f.name).symlink_to(f.resolve())
    for f in (recipe / "local").iterdir():
        (d / "local" / f.name).symlink_to(f.resolve())
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


RUN_SH = [LIBRI / "run.sh", ROOT / "egs" / "timit" / "asr1" / "run.sh"]


@pytest.mark.parametrize("script", RUN_SH, ids=lambda p: p.parent.parent.name)
def test_run_sh_has_no_inline_python(script: Path) -> None:
    """Recipes call pase-* commands; no `python -c` snippets (or heredocs fed to python)."""
    text = script.read_text(encoding="utf-8")
    for bad in ("python -c", "python3 -c", "python - <<", "python3 - <<", "python <<"):
        assert bad not in text, f"{script}: {bad!r}"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_shellcheck_clean() -> None:
    p = subprocess.run(
        ["shellcheck", "-x", *map(str, SCRIPTS)], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_bundled_recipe_reuses_the_librispeech_stages() -> None:
    for name in ("run.sh", "path.sh", "cmd.sh"):
        assert (MINI / name).is_symlink()
        assert (MINI / name).resolve() == (LIBRI / name).resolve()
    assert (MINI / "utils").resolve() == (ROOT / "utils").resolve()


def test_help_and_bad_options(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path, LIBRI)
    p = run(d, "--help")
    assert p.returncode == 0 and "--pase_ckpt" in p.stderr and "--librispeech" in p.stderr
    p = run(d, "--no_such_option", "1")
    assert p.returncode == 1 and "--no_such_option" in p.stderr
    p = run(d, "--stage", "0", "--librispeech", str(tmp_path / "nowhere"))
    assert p.returncode == 1 and "nowhere: no such folder" in p.stderr
    p = run(d, "--stage", "4", "--pase_ckpt", str(tmp_path / "missing.ckpt"))
    assert p.returncode == 1 and "missing.ckpt: no such file" in p.stderr


def test_download_fails_fast_without_network(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path, LIBRI)
    p = run(
        d,
        "--stage",
        "-1",
        "--stop_stage",
        "-1",
        timeout=60,
        env={"LIBRISPEECH_URL": "http://127.0.0.1:9/resources/12"},
    )
    assert p.returncode == 1
    assert "cannot reach http://127.0.0.1:9/resources/12/train-clean-100.tar.gz" in p.stderr


def test_training_stage_wiring(tmp_path: Path) -> None:
    """--ngpu 2 trains through torchrun inside the launcher; options reach pase-train."""
    fake = tmp_path / "fake_launcher.sh"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\n')
    fake.chmod(0o755)
    d = recipe_copy(
        tmp_path, LIBRI, cmd_sh=f'export train_cmd="{fake}"\nexport feat_cmd=utils/run.pl\n'
    )
    argsf = tmp_path / "args"
    p = run(
        d,
        "--stage",
        "3",
        "--stop_stage",
        "3",
        "--ngpu",
        "2",
        "--dtrans_cfg",
        "none",
        "--train_args",
        "--max_steps 7 --batch_size 2",
        "--resume",
        "false",
        env={"FAKE_ARGS": str(argsf)},
    )
    assert p.returncode == 0, p.stderr
    args = argsf.read_text().splitlines()
    assert args[:4] == ["--gpu", "2", "exp/train_pase+/log/train.log", "torchrun"]
    i = args.index("--nproc_per_node")
    assert args[i + 1] == "2" and args[i + 2 : i + 4] == ["-m", "pase.bin.train"]
    flat = " ".join(args)
    for part in (
        "--config conf/train_pase+.yaml",
        "--data-cfg data/pase_data.json",
        "--stats exp/train_pase+/stats.json",
        "--net-cfg workers+",
        "--fe-cfg PASE+",
        "--save-path exp/train_pase+",
        "--device cuda",
        "--no-continue true",
    ):
        assert part in flat
    # launcher arguments are words for the launcher's shell: the empty value arrives quoted
    assert args[args.index("--dtrans-cfg") + 1] == "''"
    assert args[-4:] == ["--max_steps", "7", "--batch_size", "2"]
    # single GPU / CPU: plain pase-train
    p = run(
        d,
        "--stage",
        "3",
        "--stop_stage",
        "3",
        "--dtrans_cfg",
        "none",
        env={"FAKE_ARGS": str(argsf)},
    )
    args = argsf.read_text().splitlines()
    assert args[3] == "pase-train" and "--device" in args and "cpu" in args


def test_missing_distortion_data_stops_before_stage_1(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path, LIBRI)
    p = run(d, "--stage", "1", "--stop_stage", "3", timeout=120)
    assert p.returncode == 1
    assert "--dtrans_cfg none" in p.stderr
    assert not (d / "data" / "pase_data.json").exists()


def test_dump_stage_takes_the_newest_encoder_checkpoint(tmp_path: Path) -> None:
    """Stage 4 asks pase-find-checkpoint: the highest epoch (10 > 9 > 2), other names ignored;
    none at all stops with a message."""
    d = recipe_copy(tmp_path, LIBRI)
    p = run(d, "--stage", "4", timeout=120)
    assert p.returncode == 1
    assert "no FE_e<epoch>.ckpt" in p.stderr and "run stage 3 or give --pase_ckpt" in p.stderr
    exp = d / "exp" / "train_pase+"
    exp.mkdir(parents=True)
    for name in ("FE_e2.ckpt", "FE_e9.ckpt", "FE_e10.ckpt", "FE_eX.ckpt", "FE_e11.ckpt.tmp"):
        (exp / name).write_bytes(b"")
    p = run(d, "--stage", "4", "--dump_sets", "nowhere", timeout=120)
    assert "dumping PASE+ features with exp/train_pase+/FE_e10.ckpt" in p.stdout, p.stdout
    assert p.returncode != 0 and "nowhere" in p.stderr  # the data dir does not exist


@pytest.mark.slow
def test_bundled_recipe_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("kaldi_native_io")
    from pase.corpus.espeak import espeak_available

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    import kaldi_native_io as kio
    import soundfile as sf

    from pase.io.datadir import read_kv
    from tests.conftest import pase_frames as num_frames

    d = recipe_copy(tmp_path, MINI)
    # a smaller corpus than the default, made with the same tool
    subprocess.run(
        [
            "pase-synth-librispeech",
            "--subset",
            "train-clean-5:4:1:2",
            "--subset",
            "dev-clean-2:2:1:2",
            "--subset",
            "test-clean-2:2:1:2",
            str(d / "corpus"),
        ],
        check=True,
        capture_output=True,
    )
    p = run(
        d, "--stage", "0", "--stop_stage", "4", "--train_args", "--max_steps 2 --valid_batches 1"
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "stage 4: made dump/train/feats.scp dump/dev_clean_2/feats.scp" in p.stdout
    ckpts = sorted((d / "exp" / "train_tiny").glob("FE_e*.ckpt"))
    assert ckpts, "no encoder checkpoint"
    for s in ("train", "dev_clean_2", "test_clean_2"):
        wav = read_kv(d / "data" / s / "wav.scp")
        seen = []
        with kio.SequentialFloatMatrixReader(f"scp:{d / 'dump' / s / 'feats.scp'}") as r:
            for key, mat in r:
                m = np.array(mat, copy=True)
                assert m.shape == (num_frames(sf.info(wav[key]).frames), 256)
                assert np.isfinite(m).all()
                seen.append(key)
        assert sorted(seen) == sorted(wav) and len(seen) == len(set(seen))
        assert (d / "dump" / s / "cmvn.scp").is_file()
    # a rerun of the dump stage finds everything done
    p = run(d, "--stage", "4", "--stop_stage", "4")
    assert p.returncode == 0 and p.stderr.count("up to date") == 3


@pytest.mark.slow
def test_librispeech_recipe_on_another_tree(tmp_path: Path) -> None:
    """Only --librispeech changes: other speaker/chapter ids, LibriSpeech's subset names."""
    from tests.corpus.test_librispeech import make_tree

    layout = {
        "train-clean-100": {"1234": {"5678": 3}, "42": {"9": 3}, "777": {"123456": 2}},
        "dev-clean": {"31": {"4000": 2}},
        "test-clean": {"8": {"77": 2}},
    }
    lib = make_tree(tmp_path / "corpus", layout)
    d = recipe_copy(tmp_path, LIBRI)
    p = run(d, "--librispeech", str(lib), "--stop_stage", "2")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert (d / "data" / "pase_data.json").is_file()
    assert (d / "exp" / "train_pase+" / "stats.json").is_file()
    from pase.io.datadir import read_kv

    assert len(read_kv(d / "data" / "train" / "utt2spk")) == 8
    assert sorted(set(read_kv(d / "data" / "test_clean" / "utt2spk").values())) == ["8"]
