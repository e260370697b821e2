"""pase-extract --stream: raw PCM in (stdin or a file), the offline extraction's features out."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from pase.bin.extract import main
from pase.extract import read_pcm
from tests.conftest import harmonic

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "utt1.wav"
    sf.write(path, harmonic(130, 1.555), 16000, subtype="PCM_16")
    return path


def _offline(tmp_path: Path, wav: Path, cfg: str) -> np.ndarray:
    """What the offline pase-extract writes for ``wav`` (random weights of seed 0)."""
    lst = tmp_path / "files.lst"
    lst.write_text(f"{wav}\n")
    ark = tmp_path / "offline.ark"
    assert main(["--fe-cfg", cfg, str(lst), f"ark:{ark}"]) == 0
    (mat,) = dict(kaldiio.load_ark(str(ark))).values()
    return np.asarray(mat)


def test_stdin_s16le_to_stdout_equals_offline(tmp_path: Path, wav: Path) -> None:
    pcm = sf.read(wav, dtype="int16")[0].astype("<i2").tobytes()
    cmd = [sys.executable, "-m", "pase.bin.extract", "--stream", "--utt-id", "mic1", "-", "ark:-"]
    p = subprocess.run(cmd, input=pcm, capture_output=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    got = dict(kaldiio.load_ark(io.BytesIO(p.stdout)))
    assert list(got) == ["mic1"]
    offline = _offline(tmp_path, wav, "PASE+")
    assert got["mic1"].shape == offline.shape == (155, 256)
    np.testing.assert_allclose(got["mic1"], offline, atol=1e-4, rtol=0)
    assert "wrote 1 matrix, 155 frames to standard output" in p.stderr.decode()


def _read_exactly(fd: int, n: int, timeout: float) -> bytes:
    out = b""
    while len(out) < n:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"no output within {timeout} s ({len(out)} of {n} bytes)"
        chunk = os.read(fd, n - len(out))
        assert chunk, f"output ended after {len(out)} of {n} bytes"
        out += chunk
    return out


def test_segments_come_out_while_the_input_is_open(tmp_path: Path, wav: Path) -> None:
    """With ark:- each segment is written as soon as its frames are ready, before the end."""
    pcm = sf.read(wav, dtype="int16")[0].astype("<i2").tobytes()
    cmd = [sys.executable, "-m", "pase.bin.extract", "--stream", "--fe-cfg", "PASE"]
    cmd += ["--utt-id", "live", "--segment-frames", "10", "-", "ark:-"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        # 0.25 s: (4000 - 1176) // 160 = 17 frames ready, one segment (less than a pipe
        # buffer: it only comes out if flushed at once)
        p.stdin.write(pcm[: 2 * 4000])
        p.stdin.flush()
        # one binary Kaldi matrix: "key ", "\0B", "FM ", rows and cols (1 + 4 bytes each), data
        first = _read_exactly(p.stdout.fileno(), len("live-0000000 ") + 15 + 10 * 100 * 4, 240)
        p.stdin.write(pcm[2 * 4000 :])
        p.stdin.close()
        rest = p.stdout.read()
        assert p.wait(timeout=240) == 0
    finally:
        p.kill()
    got = dict(kaldiio.load_ark(io.BytesIO(first + rest)))
    assert list(got)[:2] == ["live-0000000", "live-0000010"] and len(got) == 16
    offline = _offline(tmp_path, wav, "PASE")
    np.testing.assert_allclose(np.concatenate(list(got.values())), offline, atol=1e-4, rtol=0)


def test_file_f32le_segments(tmp_path: Path, wav: Path) -> None:
    raw = tmp_path / "in.f32"
    raw.write_bytes(sf.read(wav, dtype="float32")[0].astype("<f4").tobytes())
    ark, scp, u2n = tmp_path / "s.ark", tmp_path / "s.scp", tmp_path / "u2n"
    argv = ["--fe-cfg", "PASE", "--stream", "--stream-format", "f32le", "--utt-id", "u"]
    argv += ["--segment-frames", "40", "--utt2num-frames", str(u2n), str(raw)]
    assert main([*argv, f"ark,scp:{ark},{scp}"]) == 0
    got = {k: np.asarray(v) for k, v in kaldiio.load_scp(str(scp)).items()}
    assert list(got) == ["u-0000000", "u-0000040", "u-0000080", "u-0000120"]
    assert [m.shape[0] for m in got.values()] == [40, 40, 40, 35]
    assert u2n.read_text().split() == ["u-0000000", "40", "u-0000040", "40", "u-0000080", "40",
                                       "u-0000120", "35"]  # fmt: skip
    offline = _offline(tmp_path, wav, "PASE")
    np.testing.assert_allclose(np.concatenate(list(got.values())), offline, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stream", "--mode", "avg_norm"], "--mode (a mean over the whole utterance)"),
        (["--stream", "--peak-norm"], "--peak-norm"),
        (["--stream", "--chunk-seconds", "5"], "--chunk-seconds does not apply"),
        (["--utt-id", "x"], "--utt-id needs --stream"),
        (["--stream", "--segment-frames", "0"], "segment_frames must be >= 1"),
        (["--stream", "--utt-id", "a b"], "without spaces"),
    ],
)
def test_option_errors(tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    raw = tmp_path / "in.raw"
    raw.write_bytes(np.zeros(1000, "<i2").tobytes())
    assert main(["--fe-cfg", "PASE", *extra, str(raw), f"ark:{tmp_path / 'o.ark'}"]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.ark").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros(1000, "<i2").tobytes() + b"\x01", "ends inside a sample (1 trailing bytes"),
        (np.zeros(300, "<i2").tobytes(), "300 samples is too short"),
    ],
)
def test_stream_errors_leave_no_output(tmp_path: Path, capsys, data: bytes, message: str) -> None:
    raw = tmp_path / "in.raw"
    raw.write_bytes(data)
    ark = tmp_path / "o.ark"
    assert main(["--fe-cfg", "PASE", "--stream", str(raw), f"ark:{ark}"]) == 1
    assert message in capsys.readouterr().err
    assert not ark.exists()


class _Trickle(io.RawIOBase):
    """A stream giving at most 3 bytes per read: samples split across reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1) -> bytes:
        out, self.data = self.data[: min(n, 3)], self.data[min(n, 3) :]
        return out


def test_read_pcm_reassembles_split_samples() -> None:
    x = (np.arange(-500, 500) * 31).astype("<i2")
    pieces = list(read_pcm(_Trickle(x.tobytes()), "s16le"))
    assert all(len(p) >= 1 for p in pieces) and len(pieces) > 100
    np.testing.assert_array_equal(np.concatenate(pieces), x.astype(np.float32) / 32768)
    big = list(read_pcm(io.BytesIO(x.tobytes()), "s16le", max_samples=300))
    assert [len(p) for p in big] == [300, 300, 300, 100]
    with pytest.raises(ValueError, match="unknown"):
        next(read_pcm(io.BytesIO(b""), "u8"))
