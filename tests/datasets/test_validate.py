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
    assert "spk0-utt0" not in msg and "--skip-bad-audio" in msg
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
    real = v.check_audio_source
    monkeypatch.setattr(v, "check_audio_source", lambda p, **kw: calls.append(p) or real(p, **kw))
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


def test_nan_audio_is_found_by_the_trainers_default_validation(tmp_path: Path) -> None:
    c = make_corpus(tmp_path, n_spk=2, n_utt=2)
    x = np.full(4000, 0.1, np.float32)
    x[1234] = np.nan  # in the middle: neither the header nor the tail shows it
    write_wav(c.wav_dir / "spk1-utt0.wav", x, subtype="FLOAT")
    audio = from_datadir(c.dir)
    with pytest.raises(AudioValidationError) as e:
        audio.validate()  # what pase-train runs before step 1 (validate_audio)
    (bad,) = e.value.bad
    assert bad.item.utt_id == "spk1-utt0" and bad.reason == "contains NaN or Inf samples"
    assert "'spk1-utt0'" in str(e.value) and str(c.wav_dir / "spk1-utt0.wav") in str(e.value)
    # a finite float WAV is fine
    write_wav(c.wav_dir / "spk1-utt0.wav", np.full(4000, 0.1), subtype="FLOAT")
    assert len(audio.validate()) == 4


def test_multichannel_items_need_a_channel_choice(tmp_path: Path) -> None:
    w = tmp_path / "st.wav"
    sf.write(w, np.stack([np.full(3000, 0.25), np.full(3000, -0.5)], 1), 16000, subtype="PCM_16")
    rep = validate_items([AudioItem("st", str(w))], skip_bad=True)
    (bad,) = rep.bad
    assert "has 2 channels" in bad.reason and "--channel" in bad.reason
    ok = validate_items(
        [AudioItem("st", str(w), channel=1), AudioItem("mx", str(w), channel="mix")]
    )
    assert [it.num_samples for it in ok.good] == [3000, 3000]
    rep = validate_items([AudioItem("st", str(w), channel=2)], skip_bad=True)
    assert "channel 2 requested" in rep.bad[0].reason


def test_short_and_empty_items_are_named(tmp_path: Path) -> None:
    w = write_wav(tmp_path / "rec.wav", np.zeros(16000))
    short = write_wav(tmp_path / "short.wav", np.zeros(10))
    items = [
        AudioItem("empty_seg", str(w), "s", "rec", 0.5, 0.5),
        AudioItem("short", str(short)),
        AudioItem("fine", str(w)),
    ]
    with pytest.raises(AudioValidationError) as e:
        validate_items(items, min_samples=400)
    lines = str(e.value).splitlines()
    assert any("'empty_seg'" in ln and "is empty (end <= start)" in ln for ln in lines)
    assert any(
        "'short'" in ln and str(short) in ln and "too short: 10 samples (0.6 ms)" in ln
        for ln in lines
    )
    assert len(validate_items(items[1:]).good) == 2  # default minimum: 1 sample
