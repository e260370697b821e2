"""A small synthetic corpus laid out exactly like VoxCeleb1 (identification), made with eSpeak NG.

:func:`make_synthetic_voxceleb` writes, under ``out_dir``::

    wav/<speaker>/<video>/<nnnnn>.wav    16 kHz mono 16-bit; speaker ids id1NNNN, YouTube-like
                                         11-character video ids, utterances 00001... per video
    iden_split.txt                       "<set> <speaker>/<video>/<nnnnn>.wav", set 1 train,
                                         2 dev, 3 test; every speaker in all three sets
    synth_speakers.tsv                   speaker, eSpeak voice, gender, pitch, rate, pitch range
    synth_videos.tsv                     speaker, video, RT60 of its impulse response (or -),
                                         noise colour and SNR (or -), peak level
    .complete                            JSON stamp of the settings; a rerun with the same
                                         settings is a no-op

Speakers are eSpeak voices and variants of :data:`pase.corpus.synth_common.VOICES` with pitch,
rate and pitch-range offsets drawn from the seed, never the exact (voice, pitch, rate) of a
synthetic LibriSpeech speaker (``pase-synth-librispeech`` uses the table's values, plus 7 / 9
per cycle through the table), so they are unseen by an encoder pre-trained on that corpus.
Each "video" is one recording channel: a simulated room impulse response and/or coloured noise
at an SNR, and a level, shared by its utterances (random sentences of the common grammar).
Dev and test utterances of a speaker come from different videos where possible. Everything
is a function of the settings: two runs give identical files.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pase.constants import SAMPLE_RATE
from pase.corpus.espeak import SynthRequest, synthesize_many
from pase.corpus.synth_common import VOICES, colored_noise, sentence, simulated_rir, unique_ints
from pase.io.atomic import write_json_atomic, write_text_atomic

#: characters of YouTube video ids
_VIDEO_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_NOISE_KINDS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


@dataclass(frozen=True)
class VoxSynthSettings:
    """Everything that determines the corpus (stored in the ``.complete`` stamp)."""

    num_speakers: int = 12
    videos: int = 3  # per speaker
    utterances: int = 4  # per video
    dev_per_speaker: int = 2
    test_per_speaker: int = 2
    sentences: int = 1  # per utterance
    seed: int = 0
    snr_db: tuple[float, float] = (5.0, 20.0)
    rt60: tuple[float, float] = (0.2, 0.8)
    version: int = 1

    def check(self) -> None:
        if min(self.num_speakers, self.videos, self.utterances, self.sentences) < 1:
            raise ValueError("speakers, videos, utterances and sentences must be >= 1")
        if min(self.dev_per_speaker, self.test_per_speaker) < 1:
            raise ValueError("every speaker needs at least one dev and one test utterance")
        if self.videos * self.utterances <= self.dev_per_speaker + self.test_per_speaker:
            raise ValueError(
                f"{self.videos} videos x {self.utterances} utterances leave no training "
                f"utterance after {self.dev_per_speaker} dev + {self.test_per_speaker} test"
            )

    def to_json(self) -> dict:
        d = asdict(self)
        d["snr_db"], d["rt60"] = list(self.snr_db), list(self.rt60)
        return d


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: its id and eSpeak voice settings."""

    id: str
    voice: str
    gender: str
    pitch: int
    rate: int
    pitch_range: int


@dataclass(frozen=True)
class Channel:
    """One video's recording channel."""

    rt60: float | None  # simulated impulse response, or None
    noise: str | None  # white / pink / brown, or None
    snr_db: float
    level: float  # output peak


@dataclass(frozen=True)
class VoxSynthCorpus:
    """Paths and sizes of a generated corpus."""

    root: Path
    wav: Path
    split_file: Path
    num_utterances: int
    seconds: float


def draw_speakers(rng: np.random.Generator, n: int) -> list[Speaker]:
    """``n`` speakers: distinct ``id1NNNN``-style ids and eSpeak settings (see the module doc)."""
    ids = unique_ints(rng, n, 10001, 100000)
    order = rng.permutation(len(VOICES))
    out = []
    for i in range(n):
        voice, gender, base_pitch, base_rate = VOICES[int(order[i % len(VOICES)])]
        cycle = i // len(VOICES)
        while True:
            dp = int(rng.choice([-1, 1]) * rng.integers(4, 16)) + 9 * cycle
            dr = int(rng.choice([-1, 1]) * rng.integers(6, 26)) + 11 * cycle
            pitch = int(np.clip(base_pitch + dp, 0, 99))
            rate = int(np.clip(base_rate + dr, 80, 300))
            # never a synthetic LibriSpeech speaker: (pitch, rate) = base + (7, 9) * cycle
            if not any(
                (pitch, rate) == (min(99, base_pitch + 7 * c), base_rate + 9 * c) for c in range(8)
            ):
                break
        out.append(
            Speaker(f"id{ids[i]:05d}", voice, gender, pitch, rate, int(rng.integers(30, 80)))
        )
    return out


def _video_ids(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        v = "".join(_VIDEO_CHARS[int(k)] for k in rng.integers(len(_VIDEO_CHARS), size=11))
        if v not in out:
            out.append(v)
    return out


def _channel(rng: np.random.Generator, s: VoxSynthSettings) -> Channel:
    reverb = bool(rng.random() < 0.7)
    noisy = bool(rng.random() < 0.7) or not reverb
    rt60 = float(rng.uniform(*s.rt60)) if reverb else None
    kinds = list(_NOISE_KINDS)
    noise = kinds[int(rng.integers(len(kinds)))] if noisy else None
    return Channel(rt60, noise, float(rng.uniform(*s.snr_db)), float(rng.uniform(0.2, 0.8)))


def _split(rng: np.random.Generator, s: VoxSynthSettings) -> dict[tuple[int, int], int]:
    """(video, utterance) -> set number for one speaker: dev and test picks alternate over
    the videos in a random order, the rest is training."""
    sets = {(v, u): 1 for v in range(s.videos) for u in range(s.utterances)}
    order = [int(v) for v in rng.permutation(s.videos)]
    picks = [2, 3] * max(s.dev_per_speaker, s.test_per_speaker)
    want = {2: s.dev_per_speaker, 3: s.test_per_speaker}
    k = 0
    for set_no in picks:
        if want[set_no] == 0:
            continue
        free = []
        for j in range(s.videos):  # the next video (in the order) with a training utterance left
            v = order[(k + j) % s.videos]
            free = [u for u in range(s.utterances) if sets[(v, u)] == 1]
            if free:
                break
        k += 1
        sets[(v, free[int(rng.integers(len(free)))])] = set_no
        want[set_no] -= 1
    return sets


def _apply_channel(rng: np.random.Generator, x: np.ndarray, ch: Channel, rir) -> np.ndarray:
    from scipy.signal import fftconvolve

    y = x.astype(np.float64)
    if rir is not None:
        y = fftconvolve(y, rir)[: y.shape[0]]
    if ch.noise is not None:
        n = colored_noise(rng, y.shape[0], _NOISE_KINDS[ch.noise])
        p_sig = float(np.mean(y**2)) or 1e-12
        p_noise = float(np.mean(n**2)) or 1e-12
        y = y + n * np.sqrt(p_sig / p_noise / 10 ** (ch.snr_db / 10))
    return (ch.level * y / max(float(np.max(np.abs(y))), 1e-9)).astype(np.float32)


def make_synthetic_voxceleb(
    out_dir: str | os.PathLike,
    settings: VoxSynthSettings | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    log=print,
) -> VoxSynthCorpus:
    """Generate (or find already generated) the synthetic VoxCeleb1-layout corpus."""
    s = settings or VoxSynthSettings()
    s.check()
    root = Path(out_dir).resolve()
    stamp = root / ".complete"
    split_file = root / "iden_split.txt"
    if not force and stamp.is_file():
        try:
            done = json.loads(stamp.read_text())
            if done.get("settings") == s.to_json():
                log(f"synthetic VoxCeleb up to date in {root}")
                return VoxSynthCorpus(
                    root, root / "wav", split_file, done["utterances"], done["seconds"]
                )
        except (ValueError, KeyError, AttributeError):
            pass
    if (root / "wav").exists():
        shutil.rmtree(root / "wav")
    for f in (stamp, split_file, root / "synth_speakers.tsv", root / "synth_videos.tsv"):
        if f.exists():
            f.unlink()
    rng = np.random.default_rng(s.seed)
    speakers = draw_speakers(rng, s.num_speakers)
    plan: list[tuple[Speaker, str, int, int, int]] = []  # speaker, video, video no, utt, set
    channels: dict[tuple[str, str], Channel] = {}
    requests: list[SynthRequest] = []
    for spk in speakers:
        videos = _video_ids(rng, s.videos)
        sets = _split(rng, s)
        for v, video in enumerate(videos):
            channels[(spk.id, video)] = _channel(rng, s)
            for u in range(s.utterances):
                text = " ".join(sentence(rng) for _ in range(s.sentences)).lower()
                requests.append(
                    SynthRequest(text, spk.voice, spk.rate, spk.pitch, pitch_range=spk.pitch_range)
                )
                plan.append((spk, video, v, u, sets[(v, u)]))
    log(f"synthesising {len(requests)} utterances of {len(speakers)} voices with eSpeak NG")
    audio = synthesize_many(requests, SAMPLE_RATE, jobs=jobs)
    rirs = {
        key: None if ch.rt60 is None else simulated_rir(rng, ch.rt60)
        for key, ch in channels.items()
    }
    lines, total = [], 0
    for (spk, video, _, u, set_no), (wav, _) in zip(plan, audio):
        ch = channels[(spk.id, video)]
        rel = f"{spk.id}/{video}/{u + 1:05d}.wav"
        path = root / "wav" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        y = _apply_channel(rng, wav, ch, rirs[(spk.id, video)])
        sf.write(str(path), y, SAMPLE_RATE, subtype="PCM_16")
        total += y.shape[0]
        lines.append((rel, set_no))
    write_text_atomic(split_file, "".join(f"{n} {rel}\n" for rel, n in sorted(lines)))
    rows = ["speaker\tvoice\tgender\tpitch\trate\tpitch_range\n"]
    rows += [f"{p.id}\t{p.voice}\t{p.gender}\t{p.pitch}\t{p.rate}\t{p.pitch_range}\n"
             for p in speakers]  # fmt: skip
    write_text_atomic(root / "synth_speakers.tsv", "".join(rows))
    rows = ["speaker\tvideo\trt60\tnoise\tsnr_db\tlevel\n"]
    for (spk_id, video), ch in sorted(channels.items()):
        rt = "-" if ch.rt60 is None else f"{ch.rt60:.2f}"
        snr = "-" if ch.noise is None else f"{ch.snr_db:.1f}"
        rows.append(f"{spk_id}\t{video}\t{rt}\t{ch.noise or '-'}\t{snr}\t{ch.level:.2f}\n")
    write_text_atomic(root / "synth_videos.tsv", "".join(rows))
    seconds = total / SAMPLE_RATE
    write_json_atomic(
        stamp, {"settings": s.to_json(), "utterances": len(lines), "seconds": seconds}
    )
    counts = {n: sum(1 for _, k in lines if k == n) for n in (1, 2, 3)}
    log(
        f"synthetic VoxCeleb in {root}: {len(speakers)} speakers, {len(lines)} utterances "
        f"({counts[1]} train / {counts[2]} dev / {counts[3]} test), {seconds / 60:.1f} min"
    )
    return VoxSynthCorpus(root, root / "wav", split_file, len(lines), seconds)
