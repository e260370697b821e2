"""A small synthetic corpus laid out exactly like LibriSpeech, made on the spot with eSpeak NG.

:func:`make_synthetic_librispeech` writes, under ``out_dir``::

    LibriSpeech/SPEAKERS.TXT
    LibriSpeech/<subset>/<reader>/<chapter>/<reader>-<chapter>-<nnnn>.flac   (16 kHz, 16 bit)
    LibriSpeech/<subset>/<reader>/<chapter>/<reader>-<chapter>.trans.txt
    noises/*.wav          white, pink, brown, hum and babble noise (16 kHz)
    rirs/*.wav            synthetic room impulse responses (direct path + exponentially
                          decaying noise tail, RT60 0.2-0.9 s; 16 kHz 24-bit wav)
    filters/*.npy         band-stop FIRs and the 16->8 kHz low-pass FIR (1-D float arrays)
    overlap.lst           interfering-speech files (relative to the overlap subset folder)
    distortions.cfg       a PASE+ distortions config (original keys, PASE+ probabilities)
                          pointing at all of the above with absolute paths
    .complete             JSON stamp of the settings; a rerun with the same settings is a no-op

Every speaker has its own voice (eSpeak voice + variant, pitch, speaking rate), every subset
its own speakers, as in LibriSpeech. Transcripts are random sentences from a small grammar in
LibriSpeech's style (upper case, no punctuation but apostrophes). Everything is a function of
the settings and ``seed``: two runs give identical files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from pase.constants import SAMPLE_RATE
from pase.corpus.espeak import SynthRequest, synthesize_many
from pase.corpus.synth_common import (
    VOICES,
    colored_noise,
    sentence,
    simulated_rir,
    unique_ints,
)
from pase.distortions.fir import filter_bank, lowpass_fir, save_filters
from pase.io.atomic import write_json_atomic, write_text_atomic


@dataclass(frozen=True)
class SubsetSpec:
    """Size of one subset: speakers, chapters per speaker, utterances per chapter."""

    speakers: int
    chapters: int = 1
    utterances: int = 4


@dataclass(frozen=True)
class SynthSettings:
    """Everything that determines the corpus (stored in the ``.complete`` stamp)."""

    subsets: Mapping[str, SubsetSpec] = field(
        default_factory=lambda: {
            "train-clean-5": SubsetSpec(speakers=10, chapters=2, utterances=3),
            "dev-clean-2": SubsetSpec(speakers=3, chapters=1, utterances=4),
            "test-clean-2": SubsetSpec(speakers=3, chapters=1, utterances=4),
        }
    )
    seed: int = 0
    num_noises: int = 5
    noise_seconds: float = 4.0
    num_rirs: int = 6
    num_bandrop_filters: int = 4
    overlap_subset: str | None = "test-clean-2"
    version: int = 1

    def to_json(self) -> dict:
        d = asdict(self)
        d["subsets"] = {k: asdict(v) for k, v in self.subsets.items()}
        return d


@dataclass(frozen=True)
class SynthCorpus:
    """Paths of a generated corpus."""

    root: Path
    librispeech: Path
    noises: Path
    rirs: Path
    filters: Path
    distortions_cfg: Path
    subsets: tuple[str, ...]


def _paths(root: Path, settings: SynthSettings) -> SynthCorpus:
    return SynthCorpus(
        root=root,
        librispeech=root / "LibriSpeech",
        noises=root / "noises",
        rirs=root / "rirs",
        filters=root / "filters",
        distortions_cfg=root / "distortions.cfg",
        subsets=tuple(settings.subsets),
    )


def _noises(rng: np.random.Generator, settings: SynthSettings, babble: np.ndarray) -> dict:
    n = int(settings.noise_seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    kinds = {
        "white": lambda: rng.standard_normal(n),
        "pink": lambda: colored_noise(rng, n, 1.0),
        "brown": lambda: colored_noise(rng, n, 2.0),
        "hum": lambda: (
            sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 8))
            + 0.05 * rng.standard_normal(n)
        ),
        "babble": lambda: babble,
    }
    out = {}
    names = list(kinds)
    for i in range(settings.num_noises):
        kind = names[i % len(names)]
        x = np.asarray(kinds[kind](), dtype=np.float64)
        x = x - x.mean()
        out[f"noise_{i:02d}_{kind}.wav"] = (0.5 * x / np.max(np.abs(x))).astype(np.float32)
    return out


def _filters(rng: np.random.Generator, settings: SynthSettings) -> dict[str, np.ndarray]:
    """The 16->8 kHz low-pass FIR (4 kHz, 101 taps) and ``num_bandrop_filters`` band-stop
    FIRs (129 taps) of bands 300-1500 Hz wide starting at 200-5000 Hz."""
    bands = []
    for _ in range(settings.num_bandrop_filters):
        lo = float(rng.uniform(200, 5000))
        bands.append((lo, lo + float(rng.uniform(300, 1500))))
    return filter_bank(bands, lowpass=lowpass_fir(4000, 101), bandstop_taps=129)


def make_synthetic_librispeech(
    out_dir: str | os.PathLike,
    settings: SynthSettings | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    log=print,
) -> SynthCorpus:
    """Generate (or find already generated) the synthetic corpus under ``out_dir``."""
    settings = settings or SynthSettings()
    root = Path(out_dir).resolve()
    paths = _paths(root, settings)
    stamp = root / ".complete"
    if not force and stamp.is_file():
        try:
            if json.loads(stamp.read_text()) == settings.to_json():
                log(f"synthetic corpus up to date in {root}")
                return paths
        except ValueError:
            pass
    for sub in ("LibriSpeech", "noises", "rirs", "filters"):
        if (root / sub).exists():
            shutil.rmtree(root / sub)
    for f in (stamp, paths.distortions_cfg, root / "overlap.lst"):
        if f.exists():
            f.unlink()
    rng = np.random.default_rng(settings.seed)
    total_spk = sum(s.speakers for s in settings.subsets.values())
    readers = unique_ints(rng, total_spk, 100, 9999)
    chapters = unique_ints(
        rng, sum(s.speakers * s.chapters for s in settings.subsets.values()), 10000, 300000
    )
    speaker_rows: list[tuple[int, str, str, str]] = []  # reader, gender, subset, name
    requests: list[SynthRequest] = []
    targets: list[tuple[Path, str, str]] = []  # (flac path, utt id, text)
    minutes: dict[int, float] = {}
    spk_i = chap_i = 0
    for subset, spec in settings.subsets.items():
        for _ in range(spec.speakers):
            reader = readers[spk_i]
            voice, gender, pitch, rate = VOICES[spk_i % len(VOICES)]
            cycle = spk_i // len(VOICES)
            pitch = min(99, pitch + 7 * cycle)
            rate = rate + 9 * cycle
            spk_i += 1
            speaker_rows.append((reader, gender, subset, f"Synthetic {voice} p{pitch} r{rate}"))
            minutes[reader] = 0.0
            for _ in range(spec.chapters):
                chapter = chapters[chap_i]
                chap_i += 1
                cdir = paths.librispeech / subset / str(reader) / str(chapter)
                for k in range(spec.utterances):
                    utt = f"{reader}-{chapter}-{k:04d}"
                    text = sentence(rng)
                    requests.append(SynthRequest(text.lower(), voice, rate, pitch))
                    targets.append((cdir / f"{utt}.flac", utt, text))
    log(f"synthesising {len(requests)} utterances of {total_spk} voices with eSpeak NG")
    audio = synthesize_many(requests, SAMPLE_RATE, jobs=jobs)
    trans: dict[Path, list[str]] = {}
    for (path, utt, text), (wav, _) in zip(targets, audio):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), wav, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        reader = int(utt.split("-")[0])
        minutes[reader] += wav.shape[0] / SAMPLE_RATE / 60
        tpath = path.parent / f"{utt.rsplit('-', 1)[0]}.trans.txt"
        trans.setdefault(tpath, []).append(f"{utt} {text}\n")
    for tpath, lines in trans.items():
        write_text_atomic(tpath, "".join(lines))
    lines = [";ID  |SEX| SUBSET           |MINUTES| NAME\n"]
    lines += [
        f"{r:<5}| {g.upper()} | {sub:<17}| {minutes[r]:5.2f} | {name}\n"
        for r, g, sub, name in speaker_rows
    ]
    write_text_atomic(paths.librispeech / "SPEAKERS.TXT", "".join(lines))

    # noises: four synthetic kinds plus babble made of the first training utterances
    babble_len = int(settings.noise_seconds * SAMPLE_RATE)
    babble = np.zeros(babble_len)
    for wav, _ in audio[:6]:
        seg = np.resize(wav.astype(np.float64), babble_len)
        babble += seg * rng.uniform(0.5, 1.0)
    paths.noises.mkdir(parents=True)
    for name, x in _noises(rng, settings, babble).items():
        sf.write(str(paths.noises / name), x, SAMPLE_RATE, subtype="PCM_16")
    paths.rirs.mkdir(parents=True)
    rir_names = []
    for i in range(settings.num_rirs):
        rt60 = 0.2 + 0.7 * i / max(1, settings.num_rirs - 1)
        name = f"rir_{i:02d}_rt{round(rt60 * 1000)}ms.wav"
        sf.write(str(paths.rirs / name), simulated_rir(rng, rt60), SAMPLE_RATE, subtype="PCM_24")
        rir_names.append(name)
    filters = _filters(rng, settings)
    save_filters(paths.filters, filters)
    bandrop = sorted(n for n in filters if n.startswith("bandrop_"))

    cfg: dict = {
        "reverb_data_root": str(paths.rirs),
        "reverb_fmt": "wav",
        "reverb_irfiles": sorted(rir_names),
        "reverb_p": 0.5,
        "noises_dir": [str(paths.noises)],
        "noises_snrs": [0, 5, 10],
        "noises_p": 0.4,
        "clip_factors": [0.1, 0.3, 0.5],
        "clip_p": 0.2,
        "chop_factors": [[0.05, 0.025], [0.1, 0.05]],
        "chop_p": 0.2,
        "downsample_data_root": str(paths.filters),
        "downsample_fmt": "npy",
        "downsample_irfiles": ["filter_16_to_8.npy"],
        "downsample_p": 0.25,
        "bandrop_data_root": str(paths.filters),
        "bandrop_fmt": "npy",
        "bandrop_irfiles": bandrop,
        "bandrop_p": 0.35,
    }
    if settings.overlap_subset:
        odir = paths.librispeech / settings.overlap_subset
        if not odir.is_dir():
            raise ValueError(f"overlap_subset {settings.overlap_subset!r} is not a subset")
        files = sorted(str(p.relative_to(odir)) for p in odir.rglob("*.flac"))
        write_text_atomic(root / "overlap.lst", "".join(f"{f}\n" for f in files))
        cfg.update(
            overlap_dir=str(odir),
            overlap_list=str(root / "overlap.lst"),
            overlap_snrs=[5, 7.5, 10],
            overlap_reverb=True,
            overlap_p=0.1,
        )
    write_json_atomic(paths.distortions_cfg, cfg)
    write_json_atomic(stamp, settings.to_json())
    total = sum(w.shape[0] for w, _ in audio) / SAMPLE_RATE
    log(
        f"synthetic LibriSpeech in {paths.librispeech}: {len(audio)} utterances, "
        f"{total_spk} speakers, {total / 60:.1f} min; {settings.num_noises} noises, "
        f"{settings.num_rirs} RIRs, {len(filters)} filters; distortions: {paths.distortions_cfg}"
    )
    return paths
