"""Audio validation before training: every bad file is named with its utterance and path."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.data import AudioItem, AudioValidationError, from_datadir, validate_items
from tests.datasets.conftest import make_corpus, write_wav


def _bad_corpus(tmp_path: Path):
    c = make_corpus(tmp_path, n_spk=2, n_utt=3)
    paths = {u: c.wav_dir / f"{u}.wav" for u in c.utt2spk}
    paths["spk0-utt1"].unlink()  # missing
    paths["spk0-utt2"].write_bytes(b"")  # empty
    full = paths["spk1-utt0"].read_bytes()
    paths["spk1-utt0"].write_bytes(full[: len(full) // 2])  # truncated
    write_wav(paths["spk1-utt1"], np.zeros(4000), sr=44100)  # 44.1 kHz
    return c, paths


def test_bad_files_fail_with_utterance_and_path(tmp_path: Path) -> None:
    c, paths = _bad_corpus(tmp_path)
    with pytest.raises(AudioValidationError) as e:
        validate_items(from_datadir(c.dir).items, where="data/train")
    msg = str(e.value)
    assert msg.startswith("data/train: 4 unusable audio item(s)")
    expect = {
        "spk0-utt1": "file does not exist",
        "spk0-utt2": "empty file (0 bytes)",
        "spk1-utt0": "truncated: header declares",
        "spk1-utt1": "sample rate is 44100 Hz, expected 16000 Hz",
    }
    for utt, reason in expect.items():
        line = next(ln for ln in msg.splitlines() if f"'{utt}'" in ln)
        assert str(paths[utt]) in line and reason in line
    assert "spk0-utt0" not in msg and "--skip_bad_audio" in msg
    assert {b.item.utt_id for b in e.value.bad} == set(expect)


def test_skip_bad_reports_and_keeps_the_good_ones(tmp_path: Path, caplog) -> None:
    c, _ = _bad_corpus(tmp_path)
    rep = validate_items(from_datadir(c.dir).items, skip_bad=True)
    assert [it.utt_id for it in rep.good] == ["spk0-utt0", "spk1-utt2"]
    assert [it.num_samples for it in rep.good] == [c.lengths["spk0-utt0"], c.lengths["spk1-utt2"]]
    assert len(rep.bad) == 4
    assert sum("skipping utterance" in r.message for r in caplog.records) == 4


def test_header_only_and_garbage_files(tmp_path: Path) -> None:
    full = write_wav(tmp_path / "f.wav", np.zeros(800)).read_bytes()
    (tmp_path / "hdr.wav").write_bytes(full[:44])
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 10)
    items = [
        AudioItem("hdr", str(tmp_path / "hdr.wav")),
        AudioItem("junk", str(tmp_path / "junk.wav")),
    ]
    rep = validate_items(items, skip_bad=True)
    reasons = {b.item.utt_id: b.reason for b in rep.bad}
    assert reasons["hdr"] == "no samples"
    assert reasons["junk"].startswith("unreadable audio")


def test_truncated_flac_and_nist(tmp_path: Path) -> None:
    x = (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32)
    sf.write(tmp_path / "a.flac", x, 16000)
    sf.write(tmp_path / "a.sph", x, 16000, format="NIST", subtype="PCM_16")
    for name in ("a.flac", "a.sph"):
        b = (tmp_path / name).read_bytes()
        (tmp_path / f"t_{name}").write_bytes(b[: len(b) // 2])
    items = [AudioItem(n, str(tmp_path / n)) for n in ("a.flac", "a.sph", "t_a.flac", "t_a.sph")]
    rep = validate_items(items, skip_bad=True)
    assert [it.num_samples for it in rep.good] == [16000, 16000]
    reasons = {b.item.utt_id: b.reason for b in rep.bad}
    assert set(reasons) == {"t_a.flac", "t_a.sph"}
    assert all("truncated" in r for r in reasons.values())


def test_segments_and_pipes(tmp_path: Path) -> None:
    w = write_wav(tmp_path / "rec.wav", np.zeros(16000))
    items = [
        AudioItem("in", str(w), "s", "rec", 0.25, 0.5),
        AudioItem("tail", str(w), "s", "rec", 0.5, -1),
        AudioItem("out", str(w), "s", "rec", 0.9, 1.5),
        AudioItem("pipe", f"cat {w} |"),
        AudioItem("badpipe", f"cat {tmp_path / 'nope.wav'} |"),
    ]
    rep = validate_items(items, skip_bad=True)
    assert {it.utt_id: it.num_samples for it in rep.good} == {
        "in": 4000,
        "tail": 8000,
        "pipe": 16000,
    }
    reasons = {b.item.utt_id: b.reason for b in rep.bad}
    assert "outside the recording" in reasons["out"]
    assert "command failed" in reasons["badpipe"]


def test_each_recording_is_checked_once(tmp_path: Path, monkeypatch) -> None:
    import pase.data.validate as v

    w = write_wav(tmp_path / "rec.wav", np.zeros(16000))
    calls = []
    real = v._check_file
    monkeypatch.setattr(v, "_check_file", lambda p: calls.append(p) or real(p))
    items = [AudioItem(f"u{i}", str(w), None, "rec", i * 0.1, i * 0.1 + 0.1) for i in range(5)]
    assert len(validate_items(items).good) == 5
    assert calls == [str(w)]


def test_audio_set_validate(tmp_path: Path) -> None:
    c, _ = _bad_corpus(tmp_path)
    audio = from_datadir(c.dir)
    with pytest.raises(AudioValidationError, match=re.escape(str(c.dir))):
        audio.validate()
    good = audio.validate(skip_bad=True)
    assert len(good) == 2 and all(it.num_samples for it in good.items)
    assert good.total_samples() == c.lengths["spk0-utt0"] + c.lengths["spk1-utt2"]
