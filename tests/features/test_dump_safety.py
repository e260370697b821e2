"""pase-dump-feats under hostile conditions: output dirs that hold inputs, shell
metacharacters in every path, changed inputs, short utterances, a second writer, damaged
parts, left-over temporary files. kaldi-native-io reads every table written."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("kaldi_native_fbank")
kio = pytest.importorskip("kaldi_native_io")

from pase.features.dump import DumpError, DumpOptions, dump_features  # noqa: E402
from pase.features.kaldi import mfcc  # noqa: E402
from pase.io.datadir import read_kv, validate_data_dir  # noqa: E402
from tests.utils.helpers import UTILS, make_datadir  # noqa: E402

RUN_PL = str(UTILS / "run.pl")
#: a folder name that runs commands if it ever reaches a shell unquoted
NASTY = "-a b;touch {m}1;$(touch {m}2)`touch {m}3`'q\"x"


def _opts(**kw) -> DumpOptions:
    base = dict(feat_type="mfcc", nj=2, cmd=RUN_PL)
    base.update(kw)
    return DumpOptions(**base)


def _quiet(m: str) -> None:
    pass


def _kaldi(scp: Path) -> dict[str, np.ndarray]:
    with kio.SequentialFloatMatrixReader(f"scp:{scp}") as r:
        return {k: np.array(m, copy=True) for k, m in r}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _check_mfcc(dump: Path, data: Path) -> None:
    feats = _kaldi(dump / "feats.scp")
    wav = read_kv(data / "wav.scp")
    assert sorted(feats) == sorted(read_kv(data / "utt2spk"))
    for utt, mat in feats.items():
        src = wav[utt]
        if src.endswith("|"):
            src = shlex.split(src[:-1])[-1]
        x, _ = sf.read(src, dtype="float32")
        np.testing.assert_allclose(mat, mfcc(x), rtol=1e-5, atol=1e-4)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_datadir(tmp_path / "data" / "dev", {"s1": 2, "s2": 2}, audio_dir=tmp_path / "wav")


# ------------------------------------------------------------------ never overwrite inputs
def test_dump_dir_that_holds_inputs_is_refused(data: Path, tmp_path: Path) -> None:
    other = make_datadir(tmp_path / "data" / "test", {"t1": 1}, audio_dir=tmp_path / "w2")
    before = _tree(tmp_path / "data")
    cases = [
        (data, "is the data dir itself"),
        (tmp_path / "data", "contains the data dir"),
        (tmp_path, "contains the data dir"),
        (other, "not written by pase-dump-feats"),  # another set's data dir
        (tmp_path / "wav", "inside the dump dir"),  # the audio lives there
    ]
    for dest, match in cases:
        with pytest.raises(DumpError, match=match):
            dump_features(data, dest, _opts(), log=_quiet)
    assert _tree(tmp_path / "data") == before
    stats = tmp_path / "dump" / "cmvn.ark"  # an input inside the dump dir it would clear
    dump_features(data, tmp_path / "dump", _opts(cmvn="global"), log=_quiet)
    with pytest.raises(DumpError, match="inside the dump dir"):
        dump_features(
            data, tmp_path / "dump", _opts(cmvn_stats=str(stats), apply_cmvn=True), log=_quiet
        )
    # a dump dir of ours, or an empty folder, is fine
    (tmp_path / "empty").mkdir()
    dump_features(data, tmp_path / "empty", _opts(), log=_quiet)
    res = dump_features(data, tmp_path / "dump", _opts(), log=_quiet)
    assert res.jobs_run == [1, 2]  # the options changed (no cmvn): redone in place


# ------------------------------------------------------------------ any path works
def test_shell_metacharacters_in_every_path(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    root = tmp_path / NASTY.format(m=marker)
    data = make_datadir(root / "data", {"s1": 2, "s2": 1}, audio_dir=root / "wav 1")
    wav = read_kv(data / "wav.scp")
    # one utterance read through a (properly quoted) command, as Kaldi's pipes
    wav["s1-001"] = f"cat {shlex.quote(wav['s1-001'])} |"
    (data / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav.items())))
    dump = root / "dump $(x)" / "dev"
    res = dump_features(data, dump, _opts(cmvn="speaker"), log=_quiet)
    assert res.num_utterances == 3
    _check_mfcc(dump, data)
    assert validate_data_dir(dump, no_text=True).ok
    assert not list(tmp_path.glob("PWNED*"))  # nothing ran


# ------------------------------------------------------------------ no stale results
def test_changed_audio_is_redone(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    notes: list[str] = []
    dump_features(data, dump, _opts(), log=notes.append)
    victim = Path(read_kv(data / "wav.scp")["s2-000"])
    x, _ = sf.read(victim, dtype="float32")
    st = victim.stat()
    sf.write(victim, -x, 16000, subtype="PCM_16")  # same size, new content and mtime
    assert victim.stat().st_size == st.st_size
    notes.clear()
    res = dump_features(data, dump, _opts(), log=notes.append)
    assert res.jobs_run == [1, 2]
    assert any("audio files changed" in n and "s2-000.wav (modification time)" in n for n in notes)
    _check_mfcc(dump, data)
    # same content, restored mtime: --verify decides on content
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert dump_features(data, dump, _opts(), log=_quiet).jobs_run == [1, 2]
    notes.clear()
    res = dump_features(data, dump, _opts(), verify=True, log=notes.append)
    assert res.jobs_run == [1, 2] and any("without --verify" in n for n in notes)
    victim.touch()
    assert dump_features(data, dump, _opts(), verify=True, log=_quiet).jobs_run == []
    sf.write(victim, x, 16000, subtype="PCM_16")
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # changed behind an old mtime
    assert dump_features(data, dump, _opts(), verify=True, log=_quiet).jobs_run == [1, 2]
    _check_mfcc(dump, data)
    assert dump_features(data, dump, _opts(), log=_quiet).jobs_run == []


def test_changed_data_dir_is_redone(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump_features(data, dump, _opts(), log=_quiet)
    (data / "text").write_text((data / "text").read_text().replace("WORDS", "OTHER"))
    notes: list[str] = []
    assert dump_features(data, dump, _opts(), log=notes.append).jobs_run == [1, 2]
    assert any("data dir files (text)" in n for n in notes)
    assert "OTHER" in (dump / "text").read_text()


@pytest.mark.slow
def test_changed_checkpoint_or_frontend_config_is_redone(tmp_path: Path) -> None:
    import torch

    from pase.models.frontend import BUILTIN_CONFIGS, wf_builder

    data = make_datadir(tmp_path / "d", {"a": 1, "b": 1}, audio_dir=tmp_path / "w", seconds=0.3)
    cfg = tmp_path / "fe.cfg"
    cfg.write_text(BUILTIN_CONFIGS["PASE"].read_text())
    ckpt = tmp_path / "FE.ckpt"
    torch.manual_seed(1)
    torch.save(wf_builder(str(cfg)).state_dict(), ckpt)
    opts = DumpOptions(nj=1, cmd=RUN_PL, pase_cfg=str(cfg), pase_ckpt=str(ckpt))
    dump = tmp_path / "dump"
    dump_features(data, dump, opts, log=_quiet)
    first = _kaldi(dump / "feats.scp")
    assert dump_features(data, dump, opts, log=_quiet).jobs_run == []
    torch.manual_seed(2)
    torch.save(wf_builder(str(cfg)).state_dict(), ckpt)  # same path, new weights
    notes: list[str] = []
    assert dump_features(data, dump, opts, log=notes.append).jobs_run == [1]
    assert any("checkpoint contents" in n for n in notes)
    second = _kaldi(dump / "feats.scp")
    assert not np.allclose(first["a-000"], second["a-000"])
    spec = json.loads(cfg.read_text())
    spec["norm_out"] = not spec.get("norm_out", True)  # same file name, other contents
    cfg.write_text(json.dumps(spec))
    torch.manual_seed(2)
    torch.save(wf_builder(str(cfg)).state_dict(), ckpt)
    notes.clear()
    assert dump_features(data, dump, opts, log=notes.append).jobs_run == [1]
    assert any("frontend config contents" in n for n in notes)


# ------------------------------------------------------------------ valid Kaldi matrices
def test_short_utterances_are_named_or_left_out(data: Path, tmp_path: Path) -> None:
    wav = read_kv(data / "wav.scp")
    x, _ = sf.read(wav["s1-001"], dtype="float32")
    sf.write(wav["s1-001"], x[:399], 16000, subtype="PCM_16")  # one sample short of a frame
    dump = tmp_path / "dump"
    with pytest.raises(DumpError, match=r"'s1-001' \(399 samples\).*--skip-short"):
        dump_features(data, dump, _opts(), log=_quiet)
    assert not (dump / "feats.scp").exists()
    res = dump_features(data, dump, _opts(skip_short=True, cmvn="speaker"), log=_quiet)
    assert res.skipped == ["s1-001"] and res.num_utterances == 3
    assert read_kv(dump / "skipped_utts") == {"s1-001": "399"}
    assert "s1-001" not in read_kv(dump / "utt2spk")
    assert validate_data_dir(dump, no_text=True).ok
    feats = _kaldi(dump / "feats.scp")
    assert sorted(feats) == ["s1-000", "s2-000", "s2-001"]
    assert all(m.shape[0] >= 1 for m in feats.values())
    again = dump_features(data, dump, _opts(skip_short=True, cmvn="speaker"), log=_quiet)
    assert again.jobs_run == [] and again.skipped == ["s1-001"]


# ------------------------------------------------------------------ one writer at a time
def test_second_dump_into_the_same_dir_fails_naming_the_holder(data: Path, tmp_path: Path) -> None:
    wav = read_kv(data / "wav.scp")
    (data / "utt2num_samples").write_text(
        "".join(f"{u} {sf.info(p).frames}\n" for u, p in sorted(wav.items()))
    )
    gate = tmp_path / "gate"
    # a job that waits for the gate file: the first dump stays busy as long as we like
    wav["s1-000"] = f"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done; cat {wav['s1-000']}' |"
    (data / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav.items())))
    dump = tmp_path / "dump"
    cmd = [sys.executable, "-m", "pase.bin.dump_feats", "--feat-type", "mfcc", "--nj", "2",
           "--cmd", RUN_PL, str(data), str(dump)]  # fmt: skip
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (dump / "log" / "dump.1.log").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"pid {first.pid}" in second.stderr and "pase-dump-feats" in second.stderr
        with pytest.raises(RuntimeError, match=f"pid {first.pid}"):
            dump_features(data, dump, _opts(), log=_quiet)
    finally:
        gate.touch()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(_kaldi(dump / "feats.scp")) == 4


def test_job_of_a_killed_dump_still_running_blocks_a_rerun(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump_features(data, dump, _opts(), log=_quiet)
    (dump / ".complete").unlink()
    hold = (
        "import sys, time\nfrom pase.io.lock import OutputLock\n"
        "OutputLock(sys.argv[1], 'dump job 2', name='.job.2.lock').acquire()\n"
        "print('locked', flush=True)\ntime.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(dump / "data")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(DumpError, match=rf"still runs.*pid {proc.pid}"):
            dump_features(data, dump, _opts(), log=_quiet)
    finally:
        proc.kill()
        proc.wait()
    assert dump_features(data, dump, _opts(), log=_quiet).num_utterances == 4


# ------------------------------------------------------------------ damaged parts are redone
def _interrupt_before_merge(dump: Path) -> None:
    for name in ("feats.scp", ".complete"):
        (dump / name).unlink()


@pytest.mark.parametrize("damage", ["truncate", "bad_header", "short_scp"])
def test_damaged_part_is_redone(data: Path, tmp_path: Path, damage: str) -> None:
    dump = tmp_path / "dump"
    dump_features(data, dump, _opts(), log=_quiet)
    ref = _kaldi(dump / "feats.scp")
    _interrupt_before_merge(dump)
    ark = dump / "data" / "feats.2.ark"
    raw = ark.read_bytes()
    if damage == "truncate":
        ark.write_bytes(raw[: len(raw) // 2])
    elif damage == "bad_header":  # the second matrix of the part can no longer be parsed
        entries = (dump / "data" / "feats.2.scp").read_text().splitlines()
        off = int(entries[1].rsplit(":", 1)[1])
        ark.write_bytes(raw[:off] + b"garbage!!!" + raw[off + 10 :])
    else:
        scp = dump / "data" / "feats.2.scp"
        scp.write_text(scp.read_text().splitlines()[0] + "\n")
    notes: list[str] = []
    res = dump_features(data, dump, _opts(), log=notes.append)
    assert res.jobs_run == [2] and any("redoing job 2" in n for n in notes)
    got = _kaldi(dump / "feats.scp")
    assert sorted(got) == sorted(ref)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])


# ------------------------------------------------------------------ clean after faults
def test_temporary_files_of_a_killed_run_are_removed(data: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump_features(data, dump, _opts(), log=_quiet)
    _interrupt_before_merge(dump)
    (dump / "data" / "done.1").unlink()
    left = [dump / "data" / ".feats.1.ark.k2j4h5g6.tmp", dump / ".feats.scp.abcdefgh.tmp"]
    for p in left:
        p.write_bytes(b"half a matrix")
    notes: list[str] = []
    assert dump_features(data, dump, _opts(), log=notes.append).jobs_run == [1]
    assert not any(p.exists() for p in left)
    assert not list(dump.rglob("*.tmp"))
    assert any("removed 2 temporary file" in n for n in notes)
    for u, m in read_kv(dump / "feats.scp").items():
        assert kaldiio.load_mat(m).shape[0] > 0, u
