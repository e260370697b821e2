"""pase.io.audio: reading files and ``cmd |`` sources, segments, channels, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.io.audio import AudioError, audio_info, is_pipe, read_audio, write_audio

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
    seg = read_audio(stereo, start=0.5, end=1.25)
    np.testing.assert_array_equal(seg, ramp[8000:20000])
    np.testing.assert_array_equal(read_audio(stereo, start=1.5, end=-1), ramp[24000:])
    # an end a few ms past the recording (rounded segment times) is clipped, not refused
    assert read_audio(stereo, start=1.9, end=2.005).size == 1600
    with pytest.raises(AudioError, match=r"utterance 'u1' .*segment \[1.0, 2.5\] s lies outside"):
        read_audio(stereo, utt="u1", start=1.0, end=2.5)
    with pytest.raises(AudioError, match="segment"):
        read_audio(stereo, start=1.0, end=0.5)
    with pytest.raises(AudioError, match=r"has 2 channel\(s\), channel 2 requested"):
        read_audio(stereo, channel=2)


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
