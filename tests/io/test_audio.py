"""pase.io.audio: reading files and ``cmd |`` sources, segments, channels, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.io.audio import (
    AudioError,
    audio_info,
    audio_instead_of,
    check_audio_file,
    check_audio_source,
    is_pipe,
    parse_channel,
    pipe_command,
    read_audio,
    scp_path_entry,
    sniff_audio,
    write_audio,
)

SR = 16000


@pytest.fixture
def ramp() -> np.ndarray:
    """2 s of a 16-bit-exact signal, so that a PCM_16 round trip is lossless."""
    n = 2 * SR
    return (np.round(np.sin(np.arange(n) * 0.01) * 16000) / 32768).astype(np.float32)


@pytest.mark.parametrize("ext", ["wav", "flac", "sph"])
def test_write_then_read_is_exact(tmp_path: Path, ramp: np.ndarray, ext: str) -> None:
    path = tmp_path / f"a.{ext}"
    write_audio(path, ramp)
    np.testing.assert_array_equal(read_audio(path), ramp)
    info = audio_info(str(path))
    assert (info.sample_rate, info.num_samples, info.channels) == (SR, ramp.size, 1)
    assert info.duration == pytest.approx(2.0)


def test_pipe_source_equals_the_file(tmp_path: Path, ramp: np.ndarray) -> None:
    path = tmp_path / "a.flac"
    write_audio(path, ramp)
    src = f"cat {path} |"
    assert is_pipe(src) and is_pipe(src + "  ") and not is_pipe(str(path))
    np.testing.assert_array_equal(read_audio(src), ramp)
    assert audio_info(src).num_samples == ramp.size


def test_segments_and_channels(tmp_path: Path, ramp: np.ndarray) -> None:
    stereo = tmp_path / "s.wav"
    sf.write(stereo, np.stack([ramp, -ramp], 1), SR, subtype="PCM_16")
    np.testing.assert_array_equal(read_audio(stereo, channel=1), -ramp)
    seg = read_audio(stereo, start=0.5, end=1.25, channel=0)
    np.testing.assert_array_equal(seg, ramp[8000:20000])
    np.testing.assert_array_equal(read_audio(stereo, start=1.5, end=-1, channel=0), ramp[24000:])
    # an end a few ms past the recording (rounded segment times) is clipped, not refused
    assert read_audio(stereo, start=1.9, end=2.005, channel=0).size == 1600
    with pytest.raises(AudioError, match=r"utterance 'u1' .*segment \[1.0, 2.5\] s lies outside"):
        read_audio(stereo, utt="u1", start=1.0, end=2.5, channel=0)
    with pytest.raises(AudioError, match="segment"):
        read_audio(stereo, start=1.0, end=0.5, channel=0)
    with pytest.raises(AudioError, match=r"has 2 channel\(s\), channel 2 requested"):
        read_audio(stereo, channel=2)


def test_multichannel_needs_an_explicit_choice(
    tmp_path: Path, ramp: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    stereo = tmp_path / "s.wav"
    half = np.round(ramp / 2 * 32768) / 32768  # exact in PCM_16, so the mean is exact too
    sf.write(stereo, np.stack([ramp, half], 1), SR, subtype="PCM_16")
    # refused by default (used to keep channel 0 silently), naming the source and the count
    for src in (str(stereo), f"cat {stereo} |"):
        with pytest.raises(AudioError, match=r"utterance 'st' \(.*s\.wav.*\): has 2 channels"):
            read_audio(src, utt="st")
    np.testing.assert_array_equal(read_audio(stereo, channel=0), ramp)
    np.testing.assert_array_equal(read_audio(f"cat {stereo} |", channel=1), half)
    monkeypatch.setattr("pase.io.audio._mix_warned", False)
    with pytest.warns(UserWarning, match="averaging 2 channels"):
        mixed = read_audio(stereo, channel="mix")
    np.testing.assert_allclose(mixed, (ramp + half) / 2, atol=1e-7)
    for bad in (-1, "left", True, 1.0):
        with pytest.raises(ValueError, match="channel must be"):
            read_audio(stereo, channel=bad)
    assert parse_channel("mix") == "mix" and parse_channel("3") == 3
    with pytest.raises(ValueError, match="--channel"):
        parse_channel("-1")


def test_mono_reads_the_same_with_any_valid_choice(tmp_path: Path, ramp: np.ndarray) -> None:
    mono = tmp_path / "m.flac"
    write_audio(mono, ramp)
    for chan in (None, 0, 1, "mix"):  # a mixed mono / stereo corpus can use one choice
        np.testing.assert_array_equal(read_audio(mono, channel=chan), ramp)


def test_errors_name_the_utterance_and_source(tmp_path: Path, ramp: np.ndarray) -> None:
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioError, match=r"utterance 'u2' \(.*missing.wav\): file does not exist"):
        read_audio(missing, utt="u2")
    with pytest.raises(AudioError, match=r"missing\.wav.*does not exist"):
        audio_info(str(missing))

    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00not really a wav file")
    with pytest.raises(AudioError, match=r"garbage\.wav.*unreadable audio"):
        read_audio(garbage)

    rate = tmp_path / "8k.wav"
    sf.write(rate, ramp[:8000], 8000, subtype="PCM_16")
    with pytest.raises(AudioError, match="sample rate is 8000 Hz, expected 16000 Hz"):
        read_audio(rate, utt="u3")
    assert read_audio(rate, sample_rate=None).size == 8000

    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"empty\.wav.*no samples"):
        read_audio(empty)

    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.1, np.nan, 0.2], np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or Inf"):
        read_audio(nan)


def test_failing_pipes(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"utterance 'p' .*command failed \(\d+\)"):
        read_audio(f"cat {tmp_path / 'nope.flac'} |", utt="p")
    with pytest.raises(AudioError, match="command produced no audio"):
        read_audio("true |")
    with pytest.raises(AudioError, match="unreadable audio"):
        read_audio("echo hello |")


def test_check_audio_file_finds_nan_truncation_and_channels(
    tmp_path: Path, ramp: np.ndarray
) -> None:
    good = tmp_path / "good.flac"
    write_audio(good, ramp)
    c = check_audio_file(good)
    assert c.ok and (c.sample_rate, c.num_samples, c.channels) == (SR, ramp.size, 1)
    # a flac with a few bytes chopped off its end: the header is intact, the end is not
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[:-50])
    assert sf.info(str(cut)).frames == ramp.size  # the header alone does not tell
    assert "truncated" in (check_audio_file(cut).problem or "")
    # NaN / Inf deep inside a float WAV (not in the tail that a header check would read)
    for bad_value in (np.nan, np.inf):
        x = ramp.copy()
        x[100] = bad_value
        path = tmp_path / f"f_{bad_value}.wav"
        sf.write(path, x, SR, subtype="FLOAT")
        assert check_audio_file(path).problem == "contains NaN or Inf samples"
        assert check_audio_source(f"cat {path} |").problem == "contains NaN or Inf samples"
    sf.write(tmp_path / "float_ok.wav", ramp, SR, subtype="FLOAT")
    assert check_audio_file(tmp_path / "float_ok.wav").ok
    stereo = tmp_path / "st.wav"
    sf.write(stereo, np.stack([ramp, ramp], 1), SR, subtype="PCM_16")
    assert check_audio_file(stereo).channels == 2
    assert check_audio_file(tmp_path).problem == "is a folder, not an audio file"
    assert check_audio_file(tmp_path / "no.wav").problem == "file does not exist"
    assert check_audio_file(good, full=True).ok
    assert "truncated" in (check_audio_file(cut, full=True).problem or "")


def test_sniff_audio_tells_audio_from_lists(tmp_path: Path, ramp: np.ndarray) -> None:
    write_audio(tmp_path / "a.wav", ramp)
    write_audio(tmp_path / "b.flac", ramp)
    (tmp_path / "disguised.scp").write_bytes((tmp_path / "b.flac").read_bytes())
    (tmp_path / "list.scp").write_text("a.wav\n")
    (tmp_path / "empty.wav").write_bytes(b"")
    assert sniff_audio(tmp_path / "a.wav") == "WAV"
    assert sniff_audio(tmp_path / "disguised.scp") == "FLAC"
    assert sniff_audio(tmp_path / "empty.wav") == "WAV"  # by its extension
    assert sniff_audio(tmp_path / "list.scp") is None
    assert sniff_audio(tmp_path) is None and sniff_audio(tmp_path / "nothing") is None
    msg = audio_instead_of(tmp_path / "a.wav", "a Kaldi data dir")
    assert msg == f"{tmp_path / 'a.wav'} is an audio file (WAV), expected a Kaldi data dir"
    assert audio_instead_of(tmp_path / "list.scp", "a list") is None


def test_pipe_command_quotes_every_path(
    tmp_path: Path, ramp: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    names = ["-lead.flac", "a b; touch M1 $(touch M2) `touch M3` 'x\" .flac", "it's.flac"]
    for name in names:
        write_audio(tmp_path / name, ramp)
        for path in (name, str(tmp_path / name)):  # relative (leading '-') and absolute
            src = pipe_command(["cat"], path)
            assert is_pipe(src)
            np.testing.assert_array_equal(read_audio(src), ramp)
            if shutil.which("flac"):
                flac = pipe_command(["flac", "-c", "-d", "-s", "--"], path)
                np.testing.assert_array_equal(read_audio(flac), ramp)
    assert pipe_command(["cat"], "-lead.flac") == "cat ./-lead.flac |"
    assert not list(tmp_path.glob("M*"))
    with pytest.raises(ValueError, match="newline"):
        pipe_command(["cat"], "a\nb.flac")


def test_scp_path_entry_refuses_what_wav_scp_cannot_hold() -> None:
    assert scp_path_entry("/my corpus/a b.flac") == "/my corpus/a b.flac"
    for bad, why in (("/a\nb.wav", "newline"), (" /a.wav", "whitespace"), ("/a.wav |", "command")):
        with pytest.raises(ValueError, match=why):
            scp_path_entry(bad)
