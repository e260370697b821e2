"""Small corpora written to tmp_path: every utterance is a constant signature value, so a chunk
tells which utterance it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def signature(k: int) -> float:
    """Exact 16-bit PCM value identifying utterance number k."""
    return (k + 1) * 64 / 32768


def write_wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(x, dtype=np.float32), sr, subtype=subtype)
    return path


@dataclass
class Corpus:
    """A Kaldi data dir of ``spk{s}-utt{u}`` utterances with distinct constant signatures."""

    dir: Path
    wav_dir: Path
    utt2spk: dict[str, str]
    sig: dict[str, float]
    lengths: dict[str, int]

    def utt_of_value(self, v: float) -> str:
        (utt,) = [u for u, s in self.sig.items() if abs(s - v) < 1e-6]
        return utt


def make_corpus(root: Path, n_spk: int = 3, n_utt: int = 3, lengths: list[int] | None = None):
    wav_dir = root / "wavs"
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    utt2spk, sig, lens, scp = {}, {}, {}, {}
    k = 0
    for s in range(n_spk):
        for u in range(n_utt):
            utt = f"spk{s}-utt{u}"
            n = lengths[k % len(lengths)] if lengths else 3000 + 500 * k
            path = write_wav(wav_dir / f"{utt}.wav", np.full(n, signature(k)))
            utt2spk[utt] = f"spk{s}"
            sig[utt] = signature(k)
            lens[utt] = n
            scp[utt] = str(path)
            k += 1
    (data / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(scp.items())))
    (data / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utt2spk.items())))
    return Corpus(data, wav_dir, utt2spk, sig, lens)


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return make_corpus(tmp_path)
