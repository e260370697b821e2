"""A small synthetic corpus in the LDC TIMIT layout, for tests and demos (eSpeak NG speech).

``make_synthetic_timit(root)`` writes ``TRAIN|TEST/DR<n>/<SPK>/<UTT>.{WAV,PHN,WRD,TXT}`` with
NIST SPHERE 16 kHz 16-bit audio. Phone boundaries come from the synthesiser
(:func:`pase.corpus.espeak.synthesize`), its eSpeak phonemes mapped to TIMIT's 61 labels
(:data:`ESPEAK_TO_TIMIT`): stops and affricates get a closure + release (``pcl p``, ``tcl ch``),
r-coloured vowels a vowel + ``r``/``er``, the en-us flap ``dx``, edge silence ``h#`` and
internal pauses ``pau``. Test speakers are taken from Kaldi's dev and core-test lists so that
every split of :func:`pase.corpus.timit.prepare_timit` is non-empty; training speakers get
TIMIT-like ids. Each speaker is one eSpeak voice variant with its own pitch and rate.

``.WRD`` word boundaries are derived from eSpeak's own phonemisation (``espeak-ng -x``, one
group per word); when eSpeak merges words into one group (``on the``) no ``.WRD`` is written for
that sentence rather than inventing a split.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pase.constants import SAMPLE_RATE
from pase.corpus.espeak import PhoneEvent, SynthRequest, synthesize_many
from pase.corpus.timit import read_speaker_list

log = logging.getLogger(__name__)

MERGE = ()  # map a phoneme to MERGE to fold it into the preceding phone

# eSpeak NG en-us ASCII phoneme -> TIMIT labels with duration shares (None share = equal).
ESPEAK_TO_TIMIT: dict[str, tuple] = {
    # vowels and diphthongs
    "a": ("ae",), "aa": ("ae",), "a#": ("ax",), "A:": ("aa",), "A": ("aa",), "0": ("aa",),
    "A@": ("aa", "r"), "aI": ("ay",), "aI@": ("ay", "er"), "aI3": ("ay", "er"), "aU": ("aw",),
    "aU@": ("aw", "er"), "E": ("eh",), "E2": ("eh",), "E3": ("eh",), "e@": ("eh", "r"),
    "eI": ("ey",), "3:": ("er",), "3": ("axr",), "@": ("ax",), "@2": ("ax",), "@5": ("ax",),
    "@-": ("ax",), "@L": ("el",), "I": ("ih",), "I2": ("ix",), "I#": ("ix",), "i": ("iy",),
    "i:": ("iy",), "i@": ("ih", "r"), "i@3": ("ih", "r"), "O:": ("ao",), "O": ("ao",),
    "O2": ("ao",), "O@": ("ao", "r"), "o@": ("ao", "r"), "OI": ("oy",), "oU": ("ow",),
    "oU#": ("ow",), "U": ("uh",), "U@": ("uh", "r"), "u:": ("uw",), "u": ("uw",), "V": ("ah",),
    # stops and affricates: closure + release
    "p": ("pcl", "p"), "b": ("bcl", "b"), "t": ("tcl", "t"), "d": ("dcl", "d"),
    "k": ("kcl", "k"), "g": ("gcl", "g"), "tS": ("tcl", "ch"), "dZ": ("dcl", "jh"),
    "t#": ("dx",), "d#": ("dx",), "*": ("dx",), "?": ("q",),
    # fricatives, nasals, approximants
    "f": ("f",), "v": ("v",), "T": ("th",), "D": ("dh",), "s": ("s",), "z": ("z",),
    "S": ("sh",), "Z": ("zh",), "h": ("hh",), "x": ("hh",), "m": ("m",), "n": ("n",),
    "N": ("ng",), "m-": ("em",), "n-": ("en",), "l-": ("el",), "l": ("l",), "r": ("r",),
    "w": ("w",), "W": ("w",), "j": ("y",), "r-": MERGE, ";": MERGE,
}  # fmt: skip
CLOSURE_SHARE = 0.6
PAUSES = {"_", "_:", "_!", "_|", "_^_", "_!_", "_;"}
SA_SENTENCES = (
    "She had your dark suit in greasy wash water all year.",
    "Don't ask me to carry an oily rag like that.",
)
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
)


class SynthTimitError(ValueError):
    """A synthesis result that cannot be mapped to TIMIT labels (names phoneme and text)."""


def map_phone(name: str, where: str = "") -> tuple:
    """eSpeak phoneme -> TIMIT labels; unknown names retry without trailing ``#``/digits."""
    if name in ESPEAK_TO_TIMIT:
        return ESPEAK_TO_TIMIT[name]
    base = re.sub(r"[#0-9]+$", "", name)
    if base and base in ESPEAK_TO_TIMIT:
        return ESPEAK_TO_TIMIT[base]
    raise SynthTimitError(f"{where}: eSpeak phoneme {name!r} has no TIMIT mapping")


def to_timit_segments(
    events: list[PhoneEvent], pad_start: int, num_samples: int, where: str = ""
) -> list[tuple[int, int, str]]:
    """eSpeak phone segments (shifted by ``pad_start``) -> TIMIT ``(start, end, label)``.

    The result tiles ``[0, num_samples)``: leading and trailing silence (padding and eSpeak
    pauses at the edges) become ``h#``, inner pauses ``pau``.
    """
    segs: list[list] = []
    for ev in events:
        b, e = ev.start + pad_start, ev.end + pad_start
        if ev.name in PAUSES:
            labels: tuple = ("pau",)
        else:
            labels = map_phone(ev.name, where)
        if labels == MERGE:
            if segs:
                segs[-1][1] = e
            continue
        if len(labels) == 1:
            cuts = [b, e]
        elif labels[0].endswith("cl"):
            cuts = [b, b + max(1, round(CLOSURE_SHARE * (e - b))), e]
        else:
            cuts = [round(b + (e - b) * k / len(labels)) for k in range(len(labels) + 1)]
        for lab, lo, hi in zip(labels, cuts[:-1], cuts[1:]):
            if hi <= lo:
                continue
            if lab == "pau" and segs and segs[-1][2] == "pau":
                segs[-1][1] = hi
            else:
                segs.append([lo, hi, lab])
    if not segs or segs[0][2] != "pau":
        segs.insert(0, [0, segs[0][0] if segs else num_samples, "pau"])
    segs[0][0] = 0
    if segs[-1][2] != "pau":
        segs.append([segs[-1][1], num_samples, "pau"])
    segs[-1][1] = num_samples
    segs[0][2] = "h#"
    segs[-1][2] = "h#"
    return [(int(b), int(e), str(lab)) for b, e, lab in segs if e > b]


def word_groups(text: str, voice: str) -> list[int] | None:
    """Phones per word from ``espeak-ng -x`` (None when eSpeak merges or splits words)."""
    try:
        out = subprocess.run(
            ["espeak-ng", "-q", "-x", "--sep=.", "-v", voice, text],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    words = re.findall(r"[A-Za-z']+", text)
    groups = out.split()
    if len(groups) != len(words):
        return None
    return [len([p for p in g.split(".") if p.strip("',;")]) for g in groups]


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: TIMIT id, part, dialect folder and voice settings."""

    spk: str
    part: str  # "TRAIN" | "TEST"
    dialect: str
    voice: str
    pitch: int
    rate: int


def _speakers(n_train: int, n_dev: int, n_test: int, rng: np.random.Generator) -> list[Speaker]:
    dev = read_speaker_list(None, "timit_dev_spk.list")
    test = read_speaker_list(None, "timit_test_spk.list")
    if n_dev > len(dev) or n_test > len(test):
        raise ValueError(f"at most {len(dev)} dev and {len(test)} test speakers")
    taken = set(dev) | set(test)
    train: list[str] = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(train) < n_train:
        g = "fm"[len(train) % 2]
        spk = g + "".join(rng.choice(list(letters), 3)) + str(int(rng.integers(0, 10)))
        if spk not in taken:
            taken.add(spk)
            train.append(spk)
    out = []
    for part, ids in (("TRAIN", train), ("TEST", dev[:n_dev] + test[:n_test])):
        for spk in ids:
            variants = (
                ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
                if spk[0] == "m"
                else ("f1", "f2", "f3", "f4", "f5")
            )
            out.append(
                Speaker(
                    spk=spk,
                    part=part,
                    dialect=f"dr{int(rng.integers(1, 9))}",
                    voice=f"en-us+{variants[int(rng.integers(len(variants)))]}",
                    pitch=int(rng.integers(30, 71)),
                    rate=int(rng.integers(140, 191)),
                )
            )
    return out


def make_synthetic_timit(
    root: str | os.PathLike,
    *,
    train_speakers: int = 8,
    dev_speakers: int = 2,
    test_speakers: int = 2,
    utts_per_speaker: int = 6,
    seed: int = 0,
    upper_case: bool = True,
    noise_db: float = -50.0,
    jobs: int | None = None,
) -> dict[str, int]:
    """Write a TIMIT-layout corpus below ``root``; returns counts of speakers and utterances.

    Every speaker reads the two SA sentences and ``utts_per_speaker`` others, named
    ``SI<n>``/``SX<n>`` alternately. Waveforms get 0.1-0.2 s of silence at both ends and white
    noise ``noise_db`` dB below full scale (a quiet recording floor), then are scaled to peak
    0.5; all randomness comes from ``seed``.
    """
    rng = np.random.default_rng(seed)
    speakers = _speakers(train_speakers, dev_speakers, test_speakers, rng)
    jobs_list: list[tuple[Speaker, str, str]] = []
    for k, spk in enumerate(speakers):
        for i, text in enumerate(SA_SENTENCES):
            jobs_list.append((spk, f"sa{i + 1}", text))
        for i in range(utts_per_speaker):
            j = (k * utts_per_speaker + i) % len(SENTENCES)
            kind = "si" if i % 2 == 0 else "sx"
            jobs_list.append((spk, f"{kind}{100 + j}", SENTENCES[j]))
    results = synthesize_many(
        [SynthRequest(text, s.voice, s.rate, s.pitch) for s, _, text in jobs_list],
        sample_rate=SAMPLE_RATE,
        jobs=jobs,
    )
    groups_cache: dict[tuple[str, str], list[int] | None] = {}
    case = str.upper if upper_case else str.lower
    root = Path(root)
    n_utts = 0
    for (spk, name, text), (wav, events) in zip(jobs_list, results):
        where = f"{spk.spk}/{name} ({text!r}, {spk.voice})"
        pad0 = int(rng.integers(1600, 3200))
        pad1 = int(rng.integers(1600, 3200))
        x = np.concatenate([np.zeros(pad0, np.float32), wav, np.zeros(pad1, np.float32)])
        x = x + (10 ** (noise_db / 20)) * rng.standard_normal(x.shape[0]).astype(np.float32)
        x = (0.5 * x / np.max(np.abs(x))).astype(np.float32)
        segs = to_timit_segments(events, pad0, x.shape[0], where)
        d = root / case(spk.part) / case(spk.dialect) / case(spk.spk)
        d.mkdir(parents=True, exist_ok=True)
        base = d / case(name)
        sf.write(f"{base}.{case('wav')}", x, SAMPLE_RATE, format="NIST", subtype="PCM_16")
        with open(f"{base}.{case('phn')}", "w", encoding="ascii") as f:
            f.writelines(f"{b} {e} {lab}\n" for b, e, lab in segs)
        with open(f"{base}.{case('txt')}", "w", encoding="ascii") as f:
            f.write(f"0 {x.shape[0]} {text}\n")
        key = (text, spk.voice)
        if key not in groups_cache:
            groups_cache[key] = word_groups(text, spk.voice)
        wrd = _word_segments(text, groups_cache[key], events, pad0)
        if wrd is not None:
            with open(f"{base}.{case('wrd')}", "w", encoding="ascii") as f:
                f.writelines(f"{b} {e} {w}\n" for b, e, w in wrd)
        n_utts += 1
    return {"speakers": len(speakers), "utterances": n_utts}


def _word_segments(
    text: str, groups: list[int] | None, events: list[PhoneEvent], pad_start: int
) -> list[tuple[int, int, str]] | None:
    """Word spans from eSpeak's per-word phoneme counts and its phone events (samples)."""
    if groups is None:
        return None
    words = [w.lower() for w in re.findall(r"[A-Za-z']+", text)]
    speech = [(e.start + pad_start, e.end + pad_start) for e in events if e.name not in PAUSES]
    if sum(groups) != len(speech):
        return None
    out, k = [], 0
    for w, n in zip(words, groups):
        out.append((speech[k][0], speech[k + n - 1][1], w))
        k += n
    return out
