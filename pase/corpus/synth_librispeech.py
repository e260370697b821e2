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
from pase.io.atomic import write_json_atomic, write_text_atomic

#: (eSpeak voice, gender, pitch 0-99, rate wpm): distinct voices, cycled with offsets
VOICES: tuple[tuple[str, str, int, int], ...] = (
    ("en-us+m1", "m", 40, 150),
    ("en-us+f2", "f", 60, 160),
    ("en-gb+m3", "m", 30, 140),
    ("en-us+f4", "f", 70, 175),
    ("en-gb-scotland+m5", "m", 50, 155),
    ("en-us+f1", "f", 45, 145),
    ("en-us+m7", "m", 55, 185),
    ("en-gb+f3", "f", 65, 150),
    ("en-us+m2", "m", 25, 165),
    ("en-gb+f5", "f", 80, 170),
    ("en-us+m4", "m", 35, 135),
    ("en-gb-x-rp+f2", "f", 52, 180),
    ("en-us+m6", "m", 62, 160),
    ("en-us-nyc+m3", "m", 45, 175),
    ("en-029+f4", "f", 58, 150),
    ("en-gb+m8", "m", 20, 150),
)

_WORDS = {
    "adj": "OLD YOUNG LITTLE GREAT DARK BRIGHT QUIET COLD WARM HEAVY GENTLE STRANGE GOLDEN "
    "SILENT DISTANT HONEST".split(),
    "noun": "MAN WOMAN CHILD HORSE RIVER HOUSE GARDEN LETTER WINDOW STORM SHIP FOREST CANDLE "
    "VILLAGE SOLDIER MORNING DOCTOR BRIDGE MOUNTAIN KITCHEN".split(),
    "verb": "FOUND CARRIED WATCHED FOLLOWED OPENED REMEMBERED LEFT ANSWERED BROUGHT PASSED "
    "MISSED CROSSED".split(),
    "prep": "ACROSS BEYOND BENEATH TOWARD AROUND BEHIND NEAR UNDER".split(),
    "adv": "SLOWLY|QUICKLY|SOFTLY|AGAIN|AT ONCE|ALL DAY|WITHOUT A WORD".split("|"),
    "name": "JOHN MARY THOMAS ELIZABETH HENRY MARGARET ARTHUR ALICE".split(),
    "aux": "DIDN'T COULDN'T WOULDN'T WASN'T".split(),
    "intr": "WAITED LAUGHED SLEPT LISTENED WANDERED TREMBLED".split(),
}
_TEMPLATES = (
    "THE {adj} {noun} {verb} THE {noun} {prep} THE {noun}",
    "{name} {verb} A {adj} {noun} AND {intr} {adv}",
    "IT {aux} SEEM THAT THE {noun} {intr} {prep} THE {adj} {noun}",
    "WHEN THE {noun} {intr} {name} {verb} THE {adj} {noun}",
    "{name} {intr} {prep} THE {noun} WHILE THE {adj} {noun} {intr}",
    "THEY {verb} THE {noun} {adv} AND THE {adj} {noun} {aux} KNOW IT",
)


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


def sentence(rng: np.random.Generator) -> str:
    """One random sentence of the grammar (upper case)."""
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    out = []
    for part in template.split():
        if part.startswith("{"):
            words = _WORDS[part.strip("{}")]
            out.append(words[int(rng.integers(len(words)))])
        else:
            out.append(part)
    return " ".join(out)


def _unique_ints(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    return [int(x) for x in rng.choice(np.arange(lo, hi), size=n, replace=False)]


def _rir(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """Direct path at a 1-5 ms delay, a few early reflections, and Gaussian noise decaying by
    60 dB over ``rt60`` seconds; peak (direct path) 1."""
    n = int(min(1.0, 1.2 * rt60) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    delay = int(rng.integers(16, 80))
    h = np.zeros(n)
    h[delay] = 1.0
    for _ in range(5):
        k = delay + int(rng.integers(40, 800))
        if k < n:
            h[k] += rng.uniform(-0.6, 0.6)
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60)
    tail[: delay + 40] = 0.0
    h += 0.3 * tail
    return (h / np.max(np.abs(h))).astype(np.float32)


def _colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    f[0] = f[1]
    x = np.fft.irfft(spec / f ** (exponent / 2.0), n)
    return x


def _noises(rng: np.random.Generator, settings: SynthSettings, babble: np.ndarray) -> dict:
    n = int(settings.noise_seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    kinds = {
        "white": lambda: rng.standard_normal(n),
        "pink": lambda: _colored_noise(rng, n, 1.0),
        "brown": lambda: _colored_noise(rng, n, 2.0),
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
    from scipy.signal import firwin

    out = {"filter_16_to_8.npy": firwin(101, 4000, fs=SAMPLE_RATE).astype(np.float32)}
    for i in range(settings.num_bandrop_filters):
        lo = float(rng.uniform(200, 5000))
        hi = lo + float(rng.uniform(300, 1500))
        h = firwin(129, [lo, hi], fs=SAMPLE_RATE, pass_zero="bandstop")
        out[f"bandrop_{i:02d}_{int(lo)}_{int(hi)}.npy"] = h.astype(np.float32)
    return out


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
    readers = _unique_ints(rng, total_spk, 100, 9999)
    chapters = _unique_ints(
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
        sf.write(str(paths.rirs / name), _rir(rng, rt60), SAMPLE_RATE, subtype="PCM_24")
        rir_names.append(name)
    paths.filters.mkdir(parents=True)
    filters = _filters(rng, settings)
    for name, h in filters.items():
        np.save(paths.filters / name, h, allow_pickle=False)
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
