"""pase-dump-feats: parallel jobs through utils/run.pl, merge, checks, cmvn, resume after a
failure or a kill, Kaldi readability (kaldi-native-io as the independent reader)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("kaldi_native_fbank")

from pase.features.cmvn import apply_cmvn, compute_cmvn_stats, read_stats
from pase.features.dump import DumpError, DumpOptions, dump_features
from pase.features.kaldi import mfcc, num_frames
from pase.io.datadir import read_kv, validate_data_dir
from tests.utils.helpers import UTILS, make_datadir

RUN_PL = str(UTILS / "run.pl")
SPEAKERS = {"s1": 3, "s2": 2, "s3": 3}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_datadir(tmp_path / "data" / "dev", SPEAKERS, audio_dir=tmp_path / "wav")


def _kaldi_read(scp: Path) -> dict[str, np.ndarray]:
    kio = pytest.importorskip("kaldi_native_io")
    out = {}
    with kio.SequentialFloatMatrixReader(f"scp:{scp}") as r:
        for key, mat in r:
            out[key] = np.array(mat, copy=True)
    return out


def _mfcc_opts(**kw) -> DumpOptions:
    base = dict(feat_type="mfcc", nj=3, cmd=RUN_PL, kaldi={"deltas": 2})
    base.update(kw)
    return DumpOptions(**base)


def test_mfcc_dump_is_complete_and_kaldi_readable(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    res = dump_features(data, dump, _mfcc_opts(cmvn="speaker"), log=lambda m: None)
    assert res.num_utterances == 8 and res.feat_dim == 39 and res.jobs_run == [1, 2, 3]
    assert validate_data_dir(dump, no_text=True).ok
    keys = [ln.split()[0] for ln in (dump / "feats.scp").read_text().splitlines()]
    assert keys == sorted(read_kv(data / "utt2spk"))  # each utterance once, sorted
    feats = _kaldi_read(dump / "feats.scp")
    wav = read_kv(data / "wav.scp")
    frames = read_kv(dump / "utt2num_frames")
    for utt, mat in feats.items():
        x, _ = sf.read(wav[utt], dtype="float32")
        assert mat.shape == (num_frames(len(x)), 39) == (int(frames[utt]), 39)
        np.testing.assert_allclose(mat, mfcc(x, deltas=2), rtol=1e-5, atol=1e-4)
    assert (dump / "feat_dim").read_text().strip() == "39"
    stats = read_stats(dump / "cmvn.scp")
    for spk in SPEAKERS:
        mats = [m for u, m in feats.items() if u.startswith(spk + "-")]
        np.testing.assert_allclose(stats[spk], compute_cmvn_stats(np.concatenate(mats)), rtol=1e-6)
    # a rerun with the same inputs does nothing
    res2 = dump_features(data, dump, _mfcc_opts(cmvn="speaker"), log=lambda m: None)
    assert res2.jobs_run == []


@pytest.mark.slow
def test_failed_job_is_redone_alone(data: Path, tmp_path: Path) -> None:
    wav = read_kv(data / "wav.scp")
    # with utt2num_samples (as LibriSpeech prep writes) no header is read before the jobs
    (data / "utt2num_samples").write_text(
        "".join(f"{u} {sf.info(p).frames}\n" for u, p in sorted(wav.items()))
    )
    # s2-001 (in the middle part of a per-utterance split into 3) is read through a command
    # that fails while a flag file exists; the inputs themselves do not change
    flag = tmp_path / "fail"
    flag.touch()
    wav["s2-001"] = f"sh -c 'test ! -e {flag} && cat {wav['s2-001']}' |"
    (data / "wav.scp").write_text("".join(f"{u} {v}\n" for u, v in sorted(wav.items())))
    dump = tmp_path / "dump"
    with pytest.raises(DumpError, match=r"1 / 3 dump jobs failed \(\[2\]\)"):
        dump_features(data, dump, _mfcc_opts(), log=lambda m: None)
    assert not (dump / "feats.scp").exists()
    assert "s2-001" in (dump / "log" / "dump.2.log").read_text()
    assert (dump / "data" / "done.1").exists() and not (dump / "data" / "done.2").exists()
    flag.unlink()
    res = dump_features(data, dump, _mfcc_opts(), log=lambda m: None)
    assert res.jobs_run == [2] and res.num_utterances == 8
    assert "nothing to do" in (dump / "log" / "dump.1.log").read_text()
    assert len(_kaldi_read(dump / "feats.scp")) == 8


@pytest.mark.slow
def test_changed_inputs_start_over(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump_features(data, dump, _mfcc_opts(nj=2), log=lambda m: None)
    res = dump_features(data, dump, _mfcc_opts(nj=2, kaldi={}), log=lambda m: None)
    assert res.jobs_run == [1, 2] and res.feat_dim == 13


@pytest.mark.slow
def test_apply_cmvn_float16_and_compression(data: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    dump_features(data, raw, _mfcc_opts(nj=2, cmvn="global"), log=lambda m: None)
    ref = {u: kaldiio.load_mat(p) for u, p in read_kv(raw / "feats.scp").items()}
    g = read_stats(raw / "cmvn.ark")
    np.testing.assert_allclose(g, compute_cmvn_stats(np.concatenate(list(ref.values()))), rtol=1e-6)
    norm = tmp_path / "norm"
    opts = _mfcc_opts(nj=2, cmvn="global", apply_cmvn=True, norm_vars=True, dtype="float16")
    dump_features(data, norm, opts, log=lambda m: None)
    assert (norm / "applied_cmvn.ark").exists() and not (norm / "cmvn.ark").exists()
    for u, p in read_kv(norm / "feats.scp").items():
        m = kaldiio.load_mat(p)
        assert m.dtype == np.float16
        np.testing.assert_allclose(m, apply_cmvn(ref[u], g, norm_vars=True), atol=2e-2)
    # train's stats applied to another set; Kaldi compression stays Kaldi-readable
    comp = tmp_path / "comp"
    opts = _mfcc_opts(nj=2, cmvn_stats=str(raw / "cmvn.ark"), apply_cmvn=True, compress=2)
    dump_features(data, comp, opts, log=lambda m: None)
    got = _kaldi_read(comp / "feats.scp")
    for u, m in got.items():
        np.testing.assert_allclose(m, apply_cmvn(ref[u], g), atol=0.2)


def test_bad_options(data: Path, tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="--apply-cmvn needs"):
        dump_features(data, tmp_path / "d", _mfcc_opts(apply_cmvn=True))
    with pytest.raises(DumpError, match="float16 or Kaldi compression"):
        dump_features(data, tmp_path / "d", _mfcc_opts(dtype="float16", compress=2))
    with pytest.raises(DumpError, match="no such file"):
        dump_features(data, tmp_path / "d", DumpOptions(pase_ckpt=str(tmp_path / "x.ckpt")))
    os.unlink(read_kv(data / "wav.scp")["s3-002"])
    with pytest.raises(DumpError, match=r"'s3-002'.*does not exist"):
        dump_features(data, tmp_path / "d2", _mfcc_opts(), log=lambda m: None)


@pytest.mark.slow
def test_kill_midway_then_rerun(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    cmd = [
        sys.executable,
        "-m",
        "pase.bin.dump_feats",
        "--feat-type",
        "mfcc",
        "--nj",
        "4",
        "--cmd",
        f"{RUN_PL} --max-jobs-run 1",
        str(data),
        str(dump),
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (dump / "data" / "done.1").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # only the dump process: its launcher must stop too
    proc.wait()
    assert (dump / "data" / "done.1").exists()
    assert not (dump / "feats.scp").exists()
    logs = sorted((dump / "log").glob("dump.*.log"))
    deadline = time.time() + 30  # the launcher got SIGTERM: the running job ends, no new one
    while time.time() < deadline and not all("# Ended" in f.read_text() for f in logs):
        time.sleep(0.05)
    assert all("# Ended" in f.read_text() for f in logs)
    assert not (dump / "data" / "done.4").exists()
    res = dump_features(
        data, dump, DumpOptions(feat_type="mfcc", nj=4, cmd=RUN_PL), log=lambda m: None
    )
    assert 1 not in res.jobs_run and res.num_utterances == 8
    feats = _kaldi_read(dump / "feats.scp")
    assert sorted(feats) == sorted(read_kv(data / "utt2spk"))
    lines = (dump / "feats.scp").read_text().splitlines()
    assert len(lines) == len(set(lines)) == 8


@pytest.mark.slow
def test_pase_dump_frames_follow_the_encoder(tmp_path: Path) -> None:
    from tests.conftest import pase_frames

    data = make_datadir(tmp_path / "d", {"a": 2, "b": 1}, audio_dir=tmp_path / "w", seconds=0.4)
    res = dump_features(data, tmp_path / "dump", DumpOptions(nj=2, cmd=RUN_PL), log=lambda m: None)
    assert res.feat_dim == 256 and res.num_utterances == 3
    feats = _kaldi_read(tmp_path / "dump" / "feats.scp")
    for utt, path in read_kv(data / "wav.scp").items():
        n = sf.info(path).frames
        assert feats[utt].shape == (pase_frames(n), 256)
        assert np.isfinite(feats[utt]).all()
