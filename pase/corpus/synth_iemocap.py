"""A small synthetic corpus in the IEMOCAP release layout, made on the spot with eSpeak NG: the
stand-in of ``egs/iemocap/emo1`` where the real corpus is not at hand.

:func:`make_synthetic_iemocap` writes, under ``out_dir``::

    IEMOCAP_full_release/Session<N>/sentences/wav/<dialog>/<turn>.wav     16 kHz 16-bit mono
    IEMOCAP_full_release/Session<N>/dialog/EmoEvaluation/<dialog>.txt     the release's format
    IEMOCAP_full_release/Session<N>/dialog/transcriptions/<dialog>.txt    <turn> [start-end]: text
    .complete       JSON stamp of the settings; a rerun with the same settings is a no-op

Another run replaces the tree, and only a tree it made (marker file in it): an existing
``IEMOCAP_full_release`` with other contents, such as the real corpus, is never touched.

Each session has two actors, a female and a male eSpeak voice (other voices in every session),
and ``dialogs_per_session`` dialogs named as IEMOCAP's (``Ses01F_impro01``,
``Ses01M_script01_1``, ...) whose turns alternate between the two actors and are numbered per
actor (``Ses01F_impro01_F000``, ``..._M000``, ``..._F001``). Every actor speaks
``utts_per_emotion`` turns of each of the four classes, realised by eSpeak prosody around the
voice's own pitch and rate (:data:`EMOTION_PROSODY`): angry louder, faster, with a wide pitch
range; sad slower, lower, quieter, monotone, with pauses between words; happy higher and a
little faster with a wide range; neutral the voice's defaults. Every second happy turn is
labelled ``exc`` (merged into happy by the preparation), and ``other_per_speaker`` turns per
actor carry a code outside the four classes (``fru``, ``xxx``, ``sur``, ...) with a prosody
between sad and angry, so the preparation's filtering is exercised. Loudness is set after
synthesis (the RMS level, in dB, as eSpeak's amplitude parameter would: a linear gain).
Texts come from the grammar of :mod:`pase.corpus.synth_common`. Everything is a function of
the settings: two runs give identical files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pase.constants import SAMPLE_RATE
from pase.corpus.espeak import SynthRequest, synthesize_many
from pase.corpus.iemocap import Turn, write_evaluation
from pase.corpus.synth_common import VOICES, sentence
from pase.io.atomic import write_json_atomic, write_text_atomic


@dataclass(frozen=True)
class Prosody:
    """How an emotion changes a voice: ``pitch`` added to its base pitch (eSpeak's 0-99),
    ``rate`` a factor on its words per minute, eSpeak's ``pitch_range`` (0-99) and
    ``word_gap`` (10 ms units), and the level ``gain_db`` relative to neutral."""

    pitch: int
    rate: float
    pitch_range: int
    gain_db: float
    word_gap: int = 0


#: the four classes' prosody (the codes of the evaluation files)
EMOTION_PROSODY: dict[str, Prosody] = {
    "neu": Prosody(pitch=0, rate=1.0, pitch_range=50, gain_db=0.0),
    "hap": Prosody(pitch=18, rate=1.1, pitch_range=85, gain_db=2.0),
    "ang": Prosody(pitch=6, rate=1.25, pitch_range=95, gain_db=8.0),
    "sad": Prosody(pitch=-14, rate=0.75, pitch_range=15, gain_db=-8.0, word_gap=3),
}
#: codes outside the four classes, given to the ``other_per_speaker`` turns in turn
OTHER_CODES = ("fru", "xxx", "sur", "oth", "fea", "dis")
#: the evaluators' category names of each code (the ``C-E<n>:`` lines)
CATEGORY = {"neu": "Neutral", "hap": "Happiness", "exc": "Excited", "ang": "Anger",
            "sad": "Sadness", "fru": "Frustration", "sur": "Surprise", "fea": "Fear",
            "dis": "Disgust", "oth": "Other", "xxx": "Neutral"}  # fmt: skip
#: typical valence, activation, dominance (1-5) of each code
VAD = {"neu": (3.0, 2.5, 2.5), "hap": (4.0, 3.0, 3.0), "exc": (4.0, 3.5, 3.5),
       "ang": (1.5, 4.0, 4.0), "sad": (2.0, 2.0, 2.0), "fru": (2.0, 3.0, 3.0),
       "sur": (3.5, 3.5, 3.0), "fea": (2.0, 3.5, 2.0), "dis": (1.5, 3.0, 3.0),
       "oth": (3.0, 3.0, 3.0), "xxx": (2.5, 2.5, 2.5)}  # fmt: skip
NEUTRAL_RMS = 0.05  # RMS level of a neutral turn (-26 dBFS)
MARKER = ".pase_synth_iemocap"  # in the tree: a rerun may remove it


@dataclass(frozen=True)
class SynthIemocapSettings:
    """Everything that determines the corpus (stored in the ``.complete`` stamp)."""

    num_sessions: int = 5
    utts_per_emotion: int = 3  # per actor and class
    other_per_speaker: int = 1  # per actor: turns with a code outside the four classes
    dialogs_per_session: int = 2
    seed: int = 0
    version: int = 1

    def check(self) -> None:
        for name in ("num_sessions", "utts_per_emotion", "dialogs_per_session"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.other_per_speaker < 0:
            raise ValueError(f"other_per_speaker must be >= 0, got {self.other_per_speaker}")
        if self.num_sessions > 99:
            raise ValueError(f"num_sessions must be at most 99, got {self.num_sessions}")

    @property
    def num_turns(self) -> int:
        """Turns of the corpus: sessions x 2 actors x (4 x utts_per_emotion + other)."""
        return self.num_sessions * 2 * (4 * self.utts_per_emotion + self.other_per_speaker)


@dataclass(frozen=True)
class SynthIemocap:
    """Paths of a generated corpus: ``root`` is the release folder (``--iemocap``)."""

    out_dir: Path
    root: Path
    sessions: tuple[str, ...]


def _voices(gender: str) -> list[tuple[str, int, int]]:
    return [(v, p, r) for v, g, p, r in VOICES if g == gender]


def dialog_names(session: int, n: int) -> list[str]:
    """IEMOCAP-like dialog names of a session: improvisations led by the female actor,
    scripts led by the male one, alternately."""
    out = []
    for d in range(n):
        if d % 2 == 0:
            out.append(f"Ses{session:02d}F_impro{d // 2 + 1:02d}")
        else:
            out.append(f"Ses{session:02d}M_script{d // 2 + 1:02d}_1")
    return out


@dataclass(frozen=True)
class _Plan:
    name: str  # turn name
    dialog: str
    session: int
    code: str
    request: SynthRequest
    gain_db: float
    text: str


def _prosody(code: str, rng: np.random.Generator) -> Prosody:
    if code in EMOTION_PROSODY:
        return EMOTION_PROSODY[code]
    if code == "exc":
        return EMOTION_PROSODY["hap"]
    lo, hi, t = EMOTION_PROSODY["sad"], EMOTION_PROSODY["ang"], float(rng.uniform(0, 1))
    return Prosody(
        pitch=round(lo.pitch + t * (hi.pitch - lo.pitch)),
        rate=lo.rate + t * (hi.rate - lo.rate),
        pitch_range=round(lo.pitch_range + t * (hi.pitch_range - lo.pitch_range)),
        gain_db=lo.gain_db + t * (hi.gain_db - lo.gain_db),
    )


def _clip(x: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, round(x))))


def plan_session(session: int, settings: SynthIemocapSettings, rng: np.random.Generator) -> list:
    """The turns of one session (1-based), in dialog order: name, code and eSpeak request."""
    codes_of_actor: dict[str, list[str]] = {}
    for k, gender in enumerate("FM"):
        codes = []
        for emo in EMOTION_PROSODY:
            for i in range(settings.utts_per_emotion):
                codes.append("exc" if emo == "hap" and i % 2 == 1 else emo)
        for j in range(settings.other_per_speaker):
            codes.append(OTHER_CODES[(2 * (session - 1) + k + j) % len(OTHER_CODES)])
        codes_of_actor[gender] = [codes[i] for i in rng.permutation(len(codes))]
    dialogs = dialog_names(session, settings.dialogs_per_session)
    cycle = (session - 1) // 8
    voice = {}
    for gender in "FM":
        v, pitch, rate = _voices(gender.lower())[(session - 1) % 8]
        voice[gender] = (v, min(99, pitch + 7 * cycle), rate + 9 * cycle)
    plans: list[_Plan] = []
    for d, dialog in enumerate(dialogs):
        own = {g: codes_of_actor[g][d :: len(dialogs)] for g in "FM"}
        first = dialog[5]  # the marker actor opens the dialog
        order = [first, "M" if first == "F" else "F"]
        count = {"F": 0, "M": 0}
        while own["F"] or own["M"]:
            for g in order:
                if not own[g]:
                    continue
                code = own[g].pop(0)
                name = f"{dialog}_{g}{count[g]:03d}"
                count[g] += 1
                v, pitch, rate = voice[g]
                pr = _prosody(code, rng)
                text = sentence(rng)
                req = SynthRequest(
                    text.lower(),
                    v,
                    rate=_clip(rate * pr.rate * rng.uniform(0.95, 1.05), 80, 450),
                    pitch=_clip(pitch + pr.pitch + rng.integers(-3, 4), 0, 99),
                    pitch_range=_clip(pr.pitch_range + rng.integers(-5, 6), 0, 99),
                    word_gap=pr.word_gap,
                )
                gain = pr.gain_db + float(rng.uniform(-1.0, 1.0))
                plans.append(_Plan(name, dialog, session, code, req, gain, text))
    return plans


def _level(wav: np.ndarray, gain_db: float) -> np.ndarray:
    x = wav.astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    x *= NEUTRAL_RMS * 10 ** (gain_db / 20) / rms
    peak = float(np.max(np.abs(x)))
    if peak > 0.95:
        x *= 0.95 / peak
    return x.astype(np.float32)


def _vad(code: str, rng: np.random.Generator) -> tuple[float, float, float]:
    jitter = rng.integers(-1, 2, size=3) * 0.5
    return tuple(float(min(5.0, max(1.0, v + j))) for v, j in zip(VAD[code], jitter))  # type: ignore[return-value]


def _evaluator_lines(code: str, vad: tuple[float, float, float]) -> list[str]:
    cat = CATEGORY[code]
    other = "Frustration" if code == "xxx" else cat  # xxx: the evaluators disagree
    v, a, d = (round(x) for x in vad)
    return [f"C-E1:\t{cat};\t()", f"C-E2:\t{other};\t()", f"A-E1:\tval {v}; act {a}; dom  {d};\t()"]


def make_synthetic_iemocap(
    out_dir: str | os.PathLike,
    settings: SynthIemocapSettings | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> SynthIemocap:
    """Generate (or find already generated) the synthetic IEMOCAP tree under ``out_dir``."""
    settings = settings or SynthIemocapSettings()
    settings.check()
    out = Path(out_dir).resolve()
    root = out / "IEMOCAP_full_release"
    sessions = tuple(f"Session{s}" for s in range(1, settings.num_sessions + 1))
    paths = SynthIemocap(out, root, sessions)
    stamp = out / ".complete"
    if not force and stamp.is_file() and root.is_dir():
        try:
            if json.loads(stamp.read_text()) == asdict(settings):
                log(f"synthetic IEMOCAP up to date in {root}")
                return paths
        except ValueError:
            pass
    stamp.unlink(missing_ok=True)
    if root.exists():
        if any(root.iterdir()) and not (root / MARKER).is_file():
            raise ValueError(
                f"{root} exists and was not made by pase-synth-iemocap: not touched (a real "
                "IEMOCAP tree? give its parent folder to the recipe as --iemocap instead)"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by pase-synth-iemocap; removed by its reruns\n")
    rng = np.random.default_rng(settings.seed)
    plans = [p for s in range(1, settings.num_sessions + 1) for p in plan_session(s, settings, rng)]
    log(f"synthesising {len(plans)} turns of {2 * settings.num_sessions} voices with eSpeak NG")
    audio = synthesize_many([p.request for p in plans], SAMPLE_RATE, jobs=jobs)
    by_dialog: dict[tuple[int, str], list[tuple[_Plan, np.ndarray]]] = {}
    for p, (wav, _) in zip(plans, audio):
        by_dialog.setdefault((p.session, p.dialog), []).append((p, _level(wav, p.gain_db)))
    total = 0.0
    for (session, dialog), turns in by_dialog.items():
        sdir = root / f"Session{session}"
        wdir = sdir / "sentences" / "wav" / dialog
        wdir.mkdir(parents=True)
        t = float(rng.uniform(0.5, 1.5))
        evals, extra, trans = [], [], []
        for p, wav in turns:
            sf.write(str(wdir / f"{p.name}.wav"), wav, SAMPLE_RATE, subtype="PCM_16")
            dur = wav.shape[0] / SAMPLE_RATE
            vad = _vad(p.code, rng)
            evals.append(Turn(p.name, t, t + dur, p.code, vad))
            extra.append(_evaluator_lines(p.code, vad))
            text = p.text.capitalize() + "."
            trans.append(f"{p.name} [{t:08.4f}-{t + dur:08.4f}]: {text}\n")
            total += dur
            t += dur + float(rng.uniform(0.3, 1.2))
        ev = sdir / "dialog" / "EmoEvaluation"
        tr = sdir / "dialog" / "transcriptions"
        ev.mkdir(parents=True, exist_ok=True)
        tr.mkdir(parents=True, exist_ok=True)
        write_evaluation(ev / f"{dialog}.txt", evals, extra)
        write_text_atomic(tr / f"{dialog}.txt", "".join(trans))
    write_json_atomic(stamp, asdict(settings))
    log(
        f"synthetic IEMOCAP in {root}: {len(plans)} turns, {settings.num_sessions} sessions x 2 "
        f"actors, {total / 60:.1f} min"
    )
    return paths
