"""egs/librispeech/pase distortions (--distortions, local/prepare_distortions.sh): the default
on a LibriSpeech tree without any prepared data makes simulated ones and trains with them;
--distortions config keeps the train config's and explains in one line what is missing; the
OpenSLR download fails fast offline, resumes an interrupted download through HTTP ranges and
checks the MD5 (a local server stands in for openslr.org)."""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.corpus.test_librispeech import make_tree
from tests.distortions.test_assets import fake_rirs_noises
from tests.recipes.test_recipes import LIBRI, recipe_copy, run

LAYOUT = {
    "train-clean-100": {"1234": {"5678": 2}, "42": {"9": 2}},
    "dev-clean": {"31": {"4000": 2}},
    "test-clean": {"8": {"77": 2}},
}


def recipe_with_data(tmp_path: Path) -> Path:
    """A recipe copy whose training stage only records its arguments, after stage 0 on a tiny
    LibriSpeech tree."""
    lib = make_tree(tmp_path / "corpus", LAYOUT)
    fake = tmp_path / "fake_launcher.sh"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\n')
    fake.chmod(0o755)
    d = recipe_copy(
        tmp_path, LIBRI, cmd_sh=f'export train_cmd="{fake}"\nexport feat_cmd=utils/run.pl\n'
    )
    p = run(d, "--librispeech", str(lib), "--stop_stage", "0")
    assert p.returncode == 0, p.stderr[-3000:]
    return d


def test_default_makes_simulated_distortions_and_trains_with_them(tmp_path: Path) -> None:
    d = recipe_with_data(tmp_path)
    argsf = tmp_path / "args"
    p = run(d, "--stage", "3", "--stop_stage", "3", env={"FAKE_ARGS": str(argsf)})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert "'data/omologo_revs_bin' does not exist; using --distortions simulated" in p.stdout
    args = argsf.read_text().splitlines()
    assert args[args.index("--dtrans-cfg") + 1] == "data/distortions/distortions.json"
    cfg = json.loads((d / "data" / "distortions" / "distortions.json").read_text())
    # overlapping speech: the training set's flacs
    scp = [ln.split()[1] for ln in (d / "data" / "train" / "wav.scp").read_text().splitlines()]
    names = Path(cfg["overlap_list"]).read_text().split()
    assert sorted(str(Path(cfg["overlap_dir"]) / n) for n in names) == sorted(scp)
    rirs = Path(cfg["reverb_data_root"]).relative_to(d / "data" / "distortions")
    assert rirs in (Path("simulated/rirs"), Path("rooms"))  # rooms: with pyroomacoustics
    assert (d / "data" / "distortions" / "distortions.json.stamp.json").is_file()


def test_config_mode_says_in_one_line_what_is_missing(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path, LIBRI)
    p = run(d, "--stage", "1", "--stop_stage", "3", "--distortions", "config", timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "'data/omologo_revs_bin' does not exist" in lines[0]
    assert "--distortions simulated (or openslr) makes usable ones" in lines[0]
    assert not (d / "data" / "pase_data.json").exists()
    # simulated distortions need the training set of stage 0
    p = run(d, "--stage", "3", "--stop_stage", "3", "--distortions", "simulated", timeout=120)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert "data/train/wav.scp: no such file" in p.stderr and "run stage 0 first" in p.stderr
    p = run(d, "--distortions", "maybe", "--stage", "3", "--stop_stage", "3", timeout=60)
    assert p.returncode == 1 and "use auto, simulated, openslr or config" in p.stderr
    p = run(d, "--distortions", "simulated", "--dtrans_cfg", "x.cfg", "--stage", "3", timeout=60)
    assert p.returncode == 1 and "give one of them" in p.stderr


def fake_train_dir(d: Path, tmp_path: Path) -> Path:
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "speech" / "a.wav"
    wav.parent.mkdir(parents=True)
    sf.write(wav, (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32), 16000)
    train = d / "data" / "train"
    train.mkdir(parents=True)
    (train / "wav.scp").write_text(f"a {wav}\n")
    return train


def test_openslr_download_fails_fast_offline(tmp_path: Path) -> None:
    d = recipe_copy(tmp_path, LIBRI)
    fake_train_dir(d, tmp_path)
    env = {"OPENSLR_URL": "http://127.0.0.1:9/resources"}
    cmd = ["openslr", "downloads", "data/train", "data/distortions"]
    p = _script(d, *cmd, env=env)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip() == (
        "local/prepare_distortions.sh: cannot reach http://127.0.0.1:9/resources/28/"
        "rirs_noises.zip (no internet?). Put that file at downloads/rirs_noises.zip by hand and "
        "rerun, or use --distortions simulated"
    )
    p = run(d, "--stage", "3", "--stop_stage", "3", "--distortions", "openslr", env=env)
    assert p.returncode == 1 and "cannot reach http://127.0.0.1:9/resources/28/" in p.stderr
    assert not (d / "data" / "distortions" / "distortions.json").exists()


def _script(d: Path, *args: str, env: dict | None = None):
    import os
    import subprocess

    return subprocess.run(
        ["local/prepare_distortions.sh", *args],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with ``Range: bytes=N-`` requests answered 206 (as openslr.org does)."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_head(self):
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        start = int(rng.split("=")[1].split("-")[0])
        data = path.read_bytes()
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        import io

        return io.BytesIO(data[start:])


@pytest.fixture
def openslr_server(tmp_path: Path):
    """A local server of ``28/rirs_noises.zip`` (a fake RIRS_NOISES); yields (url, zip)."""
    src, _ = fake_rirs_noises(tmp_path / "src", musan=False)
    site = tmp_path / "site" / "28"
    site.mkdir(parents=True)
    archive = site / "rirs_noises.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted((src / "RIRS_NOISES").rglob("*")):
            z.write(f, f.relative_to(src))
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(RangeHandler, directory=str(tmp_path / "site"))
    )
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", archive
    finally:
        server.shutdown()
        server.server_close()


def test_openslr_download_resumes_checks_and_unpacks(tmp_path: Path, openslr_server) -> None:
    url, archive = openslr_server
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    d = recipe_copy(tmp_path, LIBRI)
    fake_train_dir(d, tmp_path)
    cmd = ["openslr", "downloads", "data/train", "data/distortions"]
    # a wrong checksum: refused, nothing unpacked
    p = _script(d, *cmd, env={"OPENSLR_URL": url, "RIRS_NOISES_MD5": "0" * 32})
    assert p.returncode == 1 and "downloads/rirs_noises.zip: MD5 is not 000" in p.stderr
    assert not (d / "downloads" / "RIRS_NOISES").exists()
    # an interrupted download continues where it stopped
    (d / "downloads" / "rirs_noises.zip").unlink()
    half = archive.read_bytes()[: archive.stat().st_size // 2]
    (d / "downloads" / "rirs_noises.zip.part").write_bytes(half)
    p = _script(d, *cmd, env={"OPENSLR_URL": url, "RIRS_NOISES_MD5": md5})
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"resuming after {len(half)}" in p.stdout
    assert (d / "downloads" / "RIRS_NOISES" / ".complete").is_file()
    assert not list((d / "downloads").glob("rirs_noises.zip*"))
    cfg = json.loads((d / "data" / "distortions" / "distortions.json").read_text())
    assert cfg["reverb_data_root"] == str(d / "downloads" / "RIRS_NOISES" / "simulated_rirs")
    assert len(cfg["reverb_irfiles"]) == 18
    assert cfg["noises_dir"] == [str(d / "downloads" / "RIRS_NOISES" / "pointsource_noises")]
    # unpacked once: a rerun needs no server
    p = _script(d, *cmd, env={"OPENSLR_URL": "http://127.0.0.1:9"})
    assert p.returncode == 0 and "is up to date" in p.stderr


@pytest.mark.slow
def test_default_run_end_to_end_on_a_plain_tree(tmp_path: Path) -> None:
    """``run.sh --librispeech DIR`` (stages 0-4, no distortion data prepared): trains with
    simulated distortions and dumps features."""
    lib = make_tree(tmp_path / "corpus", LAYOUT)
    d = recipe_copy(tmp_path, LIBRI)
    train_args = (
        "--max_steps 1 --batch_size 2 --chunk_size 16000 --num_workers 0 --valid_batches 1 "
        "--ckpt_interval 1000 --max_ckpts 1 --tensorboard false"
    )
    p = run(d, "--librispeech", str(lib), "--nj", "1", "--train_args", train_args, timeout=1500)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "using --distortions simulated" in p.stdout
    assert "stage 4: made dump/train/feats.scp" in p.stdout
    log = (d / "exp" / "train_pase+" / "log" / "train.log").read_text()
    assert "data/distortions/distortions.json" in log
