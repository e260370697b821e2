"""Test conditions: a Kaldi data dir contaminated with noises and/or room impulse responses.

The distorted audio of every utterance is a function of the utterance id, the condition, the
seed and the noise / RIR files only (not of the other utterances, the order or the machine):

- each component draws from its own generator, seeded by a SHA-256 of ``(seed, component,
  utterance id)``: ``noise`` draws the noise file, its start offset and the SNR (uniform in
  ``[snr_lo, snr_hi]`` dB), ``reverb`` the impulse response. ``noise`` and ``noise+reverb``
  therefore add the same noise at the same SNR, ``reverb`` and ``noise+reverb`` use the same
  RIR;
- ``reverb``: :func:`pase.distortions.functional.reverberate` (the training distortion's
  convolution: direct-path delay removed, cropped to the utterance, energy kept; RIRs truncated
  to 1.5 s as there), so the labels and alignments of the clean utterance still hold;
- ``noise``: a window of the noise file (looped when the file is shorter than the utterance)
  mixed by :func:`pase.distortions.functional.add_at_snr` (energy of the clean input kept);
  with ``noise+reverb`` the noise is added after the reverberation, the SNR measured against
  the reverberated speech;
- computed in float64; an output whose peak would exceed 0.99 is scaled down to it (no
  clipping); written as 16-bit PCM WAV, atomically.

Noise and RIR files are given as a list file (one path per line; relative paths are relative
to the list's folder; ``#`` starts a comment) or a folder (every ``.wav``/``.flac``/``.npy``
in it); every file is checked first (exists, readable, 16 kHz, not empty, finite, not all
zeros) by :class:`pase.distortions.banks.WaveBank`.

Outputs in the new data dir: ``wav.scp`` (one WAV per utterance, by default in ``<out>/wav``),
the utterance and speaker files of the source copied as they are (``text``, ``utt2spk``,
``spk2utt``, ``utt2num_samples``, ``phones.ctm``, ...; not ``segments``, features or CMVN),
``condition.json`` (the condition, the files with their SHA-256, and each utterance's draws)
and ``wav.scp.stamp.json`` (:mod:`pase.io.provenance`: a rerun with the same inputs, options
and untouched outputs does nothing).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pase.constants import SAMPLE_RATE
from pase.distortions import functional as Fd
from pase.distortions.banks import WaveBank, dir_files
from pase.distortions.kinds.filters import MAX_IR_LEN
from pase.distortions.options import DistortionConfigError
from pase.io.atomic import write_json_atomic, write_text_atomic
from pase.io.audio import read_audio, write_audio
from pase.io.datadir import DataDir, require_data_dir
from pase.io.provenance import (
    audio_files,
    audio_table,
    input_entry,
    make_stamp,
    sha256_file,
    up_to_date,
    write_stamp,
)

#: the conditions, in the order results list them
CONDITIONS = ("clean", "noise", "reverb", "noise+reverb")
#: the tool named in stamps and messages
TOOL = "pase-make-condition"
#: the largest output sample value; louder outputs are scaled down to it
PEAK = 0.99
#: files of the source data dir that are not copied (they describe the old audio or features)
NOT_COPIED = (
    "wav.scp",
    "segments",
    "reco2file_and_channel",
    "reco2dur",
    "feats.scp",
    "cmvn.scp",
    "utt2num_frames",
    "condition.json",
)


class ConditionError(ValueError):
    """A condition that cannot be made (the message names the file or option)."""


@dataclass(frozen=True)
class ConditionSpec:
    """What to do to every utterance: ``condition`` (one of :data:`CONDITIONS`), the SNR
    range ``snr`` ``(lo, hi)`` in dB and the ``seed`` of the per-utterance draws."""

    condition: str
    snr: tuple[float, float] = (0.0, 20.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ConditionError(
                f"unknown condition {self.condition!r} (one of {', '.join(CONDITIONS)})"
            )
        lo, hi = self.snr
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ConditionError(f"--snr: expected LOW HIGH with LOW <= HIGH, got {lo} {hi}")

    @property
    def noise(self) -> bool:
        """Whether noise is added."""
        return "noise" in self.condition

    @property
    def reverb(self) -> bool:
        """Whether the speech is reverberated."""
        return "reverb" in self.condition


@dataclass(frozen=True)
class Draw:
    """One utterance's random choices: noise file (index into the noise files), its start
    offset (samples), the SNR (dB), the RIR (index), and the output gain (1 unless the peak
    had to be lowered to :data:`PEAK`)."""

    noise: int | None = None
    noise_offset: int | None = None
    snr_db: float | None = None
    rir: int | None = None
    gain: float = 1.0


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def read_file_list(path: str | os.PathLike, what: str) -> list[str]:
    """The files of ``path``, absolute: a list file (one path per line, relative to its
    folder; blank lines and ``#`` comments skipped) or a folder (its ``.wav``/``.flac``/``.npy``
    files, sorted).

    ``what`` names the option in errors (e.g. ``"--noise-list"``). Existence and format are
    checked later, by :func:`load_bank`.
    """
    p = Path(path)
    if p.is_dir():
        try:
            return [os.path.abspath(f) for f in dir_files([os.fspath(p)], key=what, source=what)]
        except DistortionConfigError as e:
            raise ConditionError(f"{what} {p}: no .wav/.flac/.npy files in the folder") from e
    if not p.is_file():
        raise ConditionError(f"{what} {p}: no such file or folder")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConditionError(f"{what} {p}: cannot read the list ({e})") from e
    out = []
    for line in lines:
        s = line.split("#", 1)[0].strip()
        if s:
            f = Path(os.path.expanduser(s))
            out.append(os.path.abspath(f if f.is_absolute() else p.parent / f))
    if not out:
        raise ConditionError(f"{what} {p}: the list names no files")
    return out


class BadFileError(ConditionError, DistortionConfigError):
    """A noise or RIR file that cannot be used (names the option, the list and the file)."""


class _Bank(WaveBank):
    """A :class:`WaveBank` whose errors name the option and the list instead of a config."""

    def _error(self, path: str | None, msg: str) -> DistortionConfigError:
        where = f"{path}: " if path is not None else ""
        return BadFileError(f"{self.key} {self.source}: {where}{msg}")


def load_bank(files: Sequence[str], what: str, source: str, max_len: int | None = None) -> WaveBank:
    """The checked files (16 kHz, readable, non-empty, finite, not all zeros) as a bank;
    ``what``/``source`` (option and list) are named in errors, ``max_len`` truncates items.
    Banks larger than 256 MiB stay on disk (each utterance reads only its window)."""
    return _Bank(files, key=what, source=source, max_len=max_len, memory_mb=256.0)


# --------------------------------------------------------------------------------------------
# per-utterance draws and the distortion itself
# --------------------------------------------------------------------------------------------
def utterance_rng(seed: int, component: str, utt: str) -> np.random.Generator:
    """The generator of one component (``"noise"``, ``"reverb"``) of one utterance: PCG64
    seeded by the first 16 bytes of SHA-256(``"<seed>/<component>/<utt>"``), so it is the
    same on every machine and for every order of the utterances."""
    digest = hashlib.sha256(f"{seed}/{component}/{utt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def draw(
    spec: ConditionSpec,
    utt: str,
    num_samples: int,
    noises: WaveBank | None,
    rirs: WaveBank | None,
) -> Draw:
    """The random choices of ``utt`` (``num_samples`` long) under ``spec``."""
    kw: dict[str, Any] = {}
    if spec.noise:
        assert noises is not None
        g = utterance_rng(spec.seed, "noise", utt)
        i = int(g.integers(len(noises)))
        n = int(noises.lengths[i])
        room = n - num_samples if n >= num_samples else n - 1  # shorter files are looped
        offset = int(g.integers(room + 1))
        lo, hi = spec.snr
        kw.update(noise=i, noise_offset=offset, snr_db=float(lo + (hi - lo) * g.random()))
    if spec.reverb:
        assert rirs is not None
        kw["rir"] = int(utterance_rng(spec.seed, "reverb", utt).integers(len(rirs)))
    return Draw(**kw)


def noise_segment(bank: WaveBank, index: int, offset: int, length: int) -> torch.Tensor:
    """``length`` samples of item ``index`` from ``offset`` on, looping a shorter item:
    ``(length,)`` float64."""
    n = int(bank.lengths[index])
    if n >= length:
        return bank.segments([index], [offset], length)[0].double()
    whole = bank.stack([index])[0][0, :n].double()
    return whole[(offset + torch.arange(length)) % n]


def contaminate(
    x: np.ndarray, d: Draw, noises: WaveBank | None, rirs: WaveBank | None
) -> tuple[np.ndarray, Draw]:
    """Apply draw ``d`` to the waveform ``x`` ``(L,)``: reverberation, then noise, then the
    peak limit. Returns ``(y (L,) float64, d with its gain)``."""
    y = torch.from_numpy(np.asarray(x, dtype=np.float64)).unsqueeze(0)
    if d.rir is not None:
        assert rirs is not None
        ir = rirs.stack([d.rir])[0].double()
        y = Fd.reverberate(y, ir)
    if d.noise is not None:
        assert noises is not None and d.noise_offset is not None and d.snr_db is not None
        n = noise_segment(noises, d.noise, d.noise_offset, y.shape[-1]).unsqueeze(0)
        y = Fd.add_at_snr(y, n, d.snr_db)
    out = y[0].numpy()
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    gain = PEAK / peak if peak > PEAK else 1.0
    return out * gain, Draw(d.noise, d.noise_offset, d.snr_db, d.rir, gain)


# --------------------------------------------------------------------------------------------
# a whole data dir
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionResult:
    """What :func:`make_condition` wrote: the data dir, the wav folder, the utterance count."""

    data_dir: Path
    wav_dir: Path
    utterances: int


def _list_info(path: str | os.PathLike, files: Sequence[str], used: set[int]) -> dict[str, Any]:
    """The record of a noise or RIR list in ``condition.json``: the list, its files, the
    SHA-256 of those ``used`` (indices) and, for :func:`simulate_files` output, how they were
    simulated."""
    p = Path(path)
    info: dict[str, Any] = {"list": str(p.absolute())}
    sim = (p if p.is_dir() else p.parent) / SIMULATED_JSON
    if sim.is_file():
        try:
            info["simulated"] = json.loads(sim.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            pass
    info["files"] = [os.path.abspath(f) for f in files]
    info["used_sha256"] = {os.path.abspath(files[i]): sha256_file(files[i]) for i in sorted(used)}
    return info


def _wav_name(utt: str) -> str:
    bad = set('/\\\0"') | {c for c in utt if c.isspace()}
    if not utt or utt in (".", "..") or bad & set(utt):
        raise ConditionError(f"utterance id {utt!r} cannot be a file name")
    return f"{utt}.wav"


def make_condition(
    src: str | os.PathLike,
    out: str | os.PathLike,
    spec: ConditionSpec,
    *,
    noise_list: str | os.PathLike | None = None,
    rir_list: str | os.PathLike | None = None,
    wav_dir: str | os.PathLike | None = None,
    force: bool = False,
    verify: bool = False,
    say: Callable[[str], None] = print,
) -> ConditionResult:
    """Write the data dir ``out``: ``src`` under ``spec`` (see the module docstring).

    ``noise_list`` is needed for the noise conditions, ``rir_list`` for the reverb ones (a list
    file or a folder); ``wav_dir`` is where the WAVs go (default ``<out>/wav``). Skips the work
    (after saying so) when the stamp of ``<out>/wav.scp`` says it is up to date, unless
    ``force``; ``verify`` compares audio by SHA-256 instead of size and time.
    """
    src_dir = require_data_dir(src, need="wav.scp")
    out_dir = Path(out)
    if out_dir.absolute() == src_dir.absolute():
        raise ConditionError(f"{out_dir}: the output data dir must differ from the source")
    wavs = Path(wav_dir) if wav_dir is not None else out_dir / "wav"
    if spec.condition == "clean" and (noise_list or rir_list):
        say(f"{TOOL}: condition clean: --noise-list / --rir-list are not used")
    if spec.noise and noise_list is None:
        raise ConditionError(f"condition {spec.condition} needs --noise-list (a list or folder)")
    if spec.reverb and rir_list is None:
        raise ConditionError(f"condition {spec.condition} needs --rir-list (a list or folder)")
    noise_files = read_file_list(noise_list, "--noise-list") if spec.noise else []
    rir_files = read_file_list(rir_list, "--rir-list") if spec.reverb else []
    dd = DataDir(src_dir)
    utts = dd.utterances()
    if not utts:
        raise ConditionError(f"{src_dir}: no utterances")
    names = {u.utt_id: _wav_name(u.utt_id) for u in utts}
    outputs = [os.path.abspath(wavs / names[u.utt_id]) for u in utts]

    options = {
        "condition": spec.condition,
        "snr": list(spec.snr) if spec.noise else None,
        "seed": spec.seed,
        "wav_dir": str(wavs.absolute()),
        "noise_files": [os.path.abspath(f) for f in noise_files],
        "rir_files": [os.path.abspath(f) for f in rir_files],
        "max_ir_len": MAX_IR_LEN if spec.reverb else None,
        "peak": PEAK,
    }
    inputs = {name: input_entry(src_dir / name) for name in ("wav.scp", "segments")}
    for what, lst, needed in (("noise_list", noise_list, spec.noise),
                              ("rir_list", rir_list, spec.reverb)):  # fmt: skip
        if needed and lst is not None and Path(lst).is_file():
            inputs[what] = input_entry(lst)
    src_audio = audio_files(dd.wav_scp.values())
    used = [*src_audio, *options["noise_files"], *options["rir_files"], *outputs]
    stamp = make_stamp(TOOL, options=options, inputs=inputs, audio=audio_table(used, verify=verify))
    scp = out_dir / "wav.scp"
    if up_to_date(TOOL, scp, stamp, force=force, verify=verify, log=say):
        return ConditionResult(out_dir, wavs, len(utts))

    noises = load_bank(noise_files, "--noise-list", str(noise_list)) if spec.noise else None
    rirs = load_bank(rir_files, "--rir-list", str(rir_list), MAX_IR_LEN) if spec.reverb else None
    out_dir.mkdir(parents=True, exist_ok=True)
    wavs.mkdir(parents=True, exist_ok=True)
    draws: dict[str, dict[str, Any]] = {}
    used_noises: set[int] = set()
    used_rirs: set[int] = set()
    for u, path in zip(utts, outputs):
        x = read_audio(u.source, utt=u.utt_id, start=u.start, end=u.end)
        d = draw(spec, u.utt_id, x.shape[0], noises, rirs)
        y, d = contaminate(x, d, noises, rirs)
        write_audio(path, y.astype(np.float32))
        entry = {k: v for k, v in asdict(d).items() if v is not None}
        if d.noise is not None:
            entry["noise"] = noise_files[d.noise]
            used_noises.add(d.noise)
        if d.rir is not None:
            entry["rir"] = rir_files[d.rir]
            used_rirs.add(d.rir)
        draws[u.utt_id] = entry
    _copy_tables(src_dir, out_dir)
    info = {
        "condition": spec.condition,
        "source": str(src_dir.absolute()),
        "seed": spec.seed,
        "snr_db": list(spec.snr) if spec.noise else None,
        "noises": _list_info(noise_list, noise_files, used_noises)
        if noise_list and spec.noise
        else None,
        "rirs": _list_info(rir_list, rir_files, used_rirs) if rir_list and spec.reverb else None,
        "method": {
            "reverb": "pase.distortions.functional.reverberate (direct-path delay removed, "
            f"energy kept, RIR truncated to {MAX_IR_LEN} samples)",
            "noise": "pase.distortions.functional.add_at_snr (clean energy kept), noise looped "
            "when shorter; added after the reverberation",
            "seeding": "per utterance and component: PCG64(SHA-256('<seed>/<component>/<utt>'))",
            "output": f"16-bit PCM WAV, peak limited to {PEAK}",
        },
        "utterances": draws,
    }
    write_json_atomic(out_dir / "condition.json", info)
    write_text_atomic(scp, "".join(f"{u.utt_id} {p}\n" for u, p in zip(utts, outputs)))
    stamp = make_stamp(TOOL, options=options, inputs=inputs, audio=audio_table(used, verify=verify))
    write_stamp(scp, stamp)
    say(f"{TOOL}: {out_dir}: {len(utts)} utterances ({spec.condition}), audio in {wavs}")
    return ConditionResult(out_dir, wavs, len(utts))


def _copy_tables(src: Path, out: Path) -> None:
    """Copy the text files of data dir ``src`` into ``out`` but :data:`NOT_COPIED` and
    stamps; ``utt2spk`` with ``segments`` gone stays valid (wav.scp is per utterance now)."""
    for f in sorted(src.iterdir()):
        if not f.is_file() or f.name in NOT_COPIED or f.name.endswith(".stamp.json"):
            continue
        if f.name.startswith("."):
            continue
        shutil.copyfile(f, out / f.name)
    # the recordings of the source are gone: a per-utterance wav.scp needs no segments
    stale = out / "segments"
    if stale.exists():
        stale.unlink()


# --------------------------------------------------------------------------------------------
# simulated noises and impulse responses (when no real ones are given)
# --------------------------------------------------------------------------------------------
SIMULATED_JSON = "simulated.json"
_NOISE_KINDS = (("white", 0.0), ("pink", 1.0), ("brown", 2.0))


@dataclass(frozen=True)
class SimulatedFiles:
    """Where :func:`simulate_files` put its lists (``noise.list``, ``rir.list``)."""

    noise_list: Path
    rir_list: Path


def simulate_files(
    out: str | os.PathLike,
    *,
    seed: int = 0,
    num_noises: int = 6,
    num_rirs: int = 6,
    noise_seconds: float = 10.0,
    force: bool = False,
    say: Callable[[str], None] = print,
) -> SimulatedFiles:
    """Seeded noises and room impulse responses in ``out`` (``noises/``, ``rirs/``, the lists
    ``noise.list`` and ``rir.list``, and ``simulated.json`` saying how they were made).

    Noises cycle white, pink and brown (:func:`pase.corpus.synth_common.colored_noise`, mean
    removed, peak 0.5, 16-bit); RIRs are :func:`pase.corpus.synth_common.simulated_rir` with
    RT60 spread evenly over 0.2-0.9 s (24-bit). A rerun with the same settings and untouched
    files does nothing.
    """
    from pase.corpus.synth_common import colored_noise, simulated_rir
    from pase.io.atomic import atomic_open

    if num_noises < 1 or num_rirs < 1 or noise_seconds <= 0:
        raise ConditionError("simulated files: need at least one noise and one RIR")
    d = Path(out)
    noise_names = [f"noise_{i:02d}_{_NOISE_KINDS[i % 3][0]}.wav" for i in range(num_noises)]
    rt60s = [0.2 + 0.7 * i / max(1, num_rirs - 1) for i in range(num_rirs)]
    rir_names = [f"rir_{i:02d}_rt{round(t * 1000)}ms.wav" for i, t in enumerate(rt60s)]
    settings = {
        "tool": "pase.distortions.conditions.simulate_files",
        "seed": seed,
        "noises": {"kinds": [_NOISE_KINDS[i % 3][0] for i in range(num_noises)],
                   "seconds": noise_seconds, "peak": 0.5,
                   "how": "pase.corpus.synth_common.colored_noise (1/f^k: white 0, pink 1, "
                   "brown 2)"},
        "rirs": {"rt60_s": [round(t, 3) for t in rt60s],
                 "how": "pase.corpus.synth_common.simulated_rir (direct path, 5 early "
                 "reflections, exponentially decaying noise tail)"},
    }  # fmt: skip
    files = [str((d / "noises" / n).absolute()) for n in noise_names]
    files += [str((d / "rirs" / n).absolute()) for n in rir_names]
    stamp = make_stamp(
        "pase-synth-distortions", options=settings, inputs={}, audio=audio_table(files)
    )
    result = SimulatedFiles(d / "noise.list", d / "rir.list")
    marker = d / SIMULATED_JSON
    lists_ok = result.noise_list.is_file() and result.rir_list.is_file()
    if lists_ok and up_to_date("pase-synth-distortions", marker, stamp, force=force, log=say):
        return result
    rng = np.random.default_rng(seed)
    (d / "noises").mkdir(parents=True, exist_ok=True)
    (d / "rirs").mkdir(parents=True, exist_ok=True)
    n = int(noise_seconds * SAMPLE_RATE)
    for i, name in enumerate(noise_names):
        x = np.asarray(colored_noise(rng, n, _NOISE_KINDS[i % 3][1]), dtype=np.float64)
        x = x - x.mean()
        write_audio(d / "noises" / name, (0.5 * x / np.max(np.abs(x))).astype(np.float32))
    import soundfile as sf

    for name, rt60 in zip(rir_names, rt60s):
        with atomic_open(d / "rirs" / name, "wb") as f:
            sf.write(f, simulated_rir(rng, rt60), SAMPLE_RATE, format="WAV", subtype="PCM_24")
    write_text_atomic(result.noise_list, "".join(f"noises/{n}\n" for n in noise_names))
    write_text_atomic(result.rir_list, "".join(f"rirs/{n}\n" for n in rir_names))
    write_json_atomic(marker, settings)
    stamp = make_stamp(
        "pase-synth-distortions", options=settings, inputs={}, audio=audio_table(files)
    )
    write_stamp(marker, stamp)
    say(f"pase-synth-distortions: {num_noises} noises and {num_rirs} RIRs in {d}")
    return result


def read_condition(data_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The ``condition.json`` of a data dir made by :func:`make_condition` (None: none)."""
    p = Path(data_dir) / "condition.json"
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConditionError(f"{p}: unreadable ({e})") from e


__all__ = [
    "CONDITIONS",
    "ConditionError",
    "ConditionResult",
    "ConditionSpec",
    "Draw",
    "SimulatedFiles",
    "contaminate",
    "draw",
    "load_bank",
    "make_condition",
    "read_condition",
    "read_file_list",
    "simulate_files",
    "utterance_rng",
]
