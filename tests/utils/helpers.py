"""Helpers shared by the recipe-tool tests: small Kaldi data dirs and script paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
UTILS = ROOT / "utils"


def make_datadir(
    path: Path,
    speakers: dict[str, int],
    *,
    text: bool = True,
    audio_dir: Path | None = None,
    seconds: float = 0.5,
    gender: bool = True,
) -> Path:
    """A sorted, valid data dir with ``speakers[spk]`` utterances ``<spk>-<k>`` each.

    ``wav.scp`` points at ``audio_dir/<utt>.wav`` (real 16 kHz files, distinct per utterance,
    written when ``audio_dir`` is given; lengths vary around ``seconds``).
    """
    import soundfile as sf

    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    utts = sorted(f"{spk}-{k:03d}" for spk, n in speakers.items() for k in range(n))
    wav, u2s, txt = {}, {}, {}
    for i, u in enumerate(utts):
        spk = u.rsplit("-", 1)[0]
        src = (audio_dir or path / "wav") / f"{u}.wav"
        if audio_dir is not None:
            n = int(seconds * 16000) + 160 * (i % 5) + 37 * i
            t = np.arange(n) / 16000
            x = 0.3 * np.sin(2 * np.pi * (100 + 20 * i) * t) + 0.01 * rng.standard_normal(n)
            audio_dir.mkdir(parents=True, exist_ok=True)
            sf.write(src, x.astype(np.float32), 16000, subtype="PCM_16")
        wav[u] = str(src)
        u2s[u] = spk
        txt[u] = f"WORDS OF {u.upper()}"
    _write(path / "wav.scp", wav)
    _write(path / "utt2spk", u2s)
    spk2utt: dict[str, list[str]] = {}
    for u, s in u2s.items():
        spk2utt.setdefault(s, []).append(u)
    _write(path / "spk2utt", {s: " ".join(v) for s, v in spk2utt.items()})
    if text:
        _write(path / "text", txt)
    if gender:
        _write(path / "spk2gender", {s: "mf"[i % 2] for i, s in enumerate(sorted(speakers))})
    return path


def _write(path: Path, table: dict[str, str]) -> None:
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(table.items())), encoding="utf-8")


def read_table(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            k, _, v = line.partition(" ")
            out[k] = v
    return out


def run_tool(
    *args: str | os.PathLike,
    cwd: Path | None = None,
    env: dict | None = None,
    check: bool = False,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """Run a script (first arg relative to ``utils/`` unless absolute) and capture output."""
    exe = Path(args[0])
    if not exe.is_absolute():
        exe = UTILS / exe
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [str(exe), *map(str, args[1:])],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )
