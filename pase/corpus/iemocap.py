"""IEMOCAP -> one Kaldi data dir per session (emotion recognition), and the
leave-one-session-out folds of the recipe ``egs/iemocap/emo1``.

Input: the release tree (``IEMOCAP_full_release/``)::

    Session<N>/sentences/wav/<dialog>/<turn>.wav        16 kHz mono, one file per turn
    Session<N>/dialog/EmoEvaluation/<dialog>.txt        the evaluation of every turn

An evaluation file starts with the header ``% [START_TIME - END_TIME] TURN_NAME EMOTION
[V, A, D]``; each turn has one summary line ``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>
neu<TAB>[2.5000, 2.5000, 2.5000]`` followed by the single evaluators' lines (``C-E2:``,
``A-F1:``, ...), which are not read. Emotion codes: ``neu hap exc ang sad fru sur fea dis oth
xxx`` (``xxx``: no agreement). A turn name is ``Ses<NN><G>_<dialog rest>_<S><nnn>``: session
``NN``, ``G`` the actor wearing the markers in this dialog, ``S`` (``F``/``M``) the actor who
speaks this turn. The speaker is session + ``S`` (``Ses01F_impro01_M000`` is ``Ses01M``).

Output (``<out_dir>/Session<N>``): ``wav.scp`` (absolute paths), ``utt2spk``, ``spk2utt``,
``utt2emo`` (the class of each turn, the label file of ``pase-probe --labels utt2emo``),
``utt2num_samples``, ``utt2dur``, ``spk2gender``, sorted and validated; and
``<out_dir>/emotion_counts.tsv`` (per session: turns kept per class, dropped per code, bad
audio). Utterance ids are ``<speaker>-<turn>`` (``Ses01M-Ses01F_impro01_M000``): Kaldi wants
ids prefixed by their speaker, and a dialog's turns alternate between its two speakers.

Classes: the usual 4-class setup (:data:`FOUR_CLASS`): neutral, happy with excited merged into
it, angry, sad; turns with any other code are dropped and counted.

Problems stop the preparation with the file named: a missing session, ``EmoEvaluation`` or
``sentences/wav`` folder, an evaluation folder without evaluation files, a malformed summary
line, an unknown emotion code, a turn name that does not belong to its file or session, a
turn evaluated twice, an evaluated turn without its wav, and (for kept turns) unreadable,
multi-channel, non-16 kHz or too short audio. With ``skip_bad=True`` the turns with bad
audio are dropped and listed in the report instead.

Folds (:func:`loso_folds`, :func:`write_folds`): fold ``k`` tests on session ``k``, takes
the next session (``k mod 5 + 1``) as dev (the epoch is chosen there) and trains on the three
others.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pase.constants import SAMPLE_RATE
from pase.io.atomic import write_text_atomic
from pase.io.audio import check_audio_file, scp_path_entry
from pase.io.datadir import (
    combine_data_dirs,
    read_kv,
    utt2spk_to_spk2utt,
    validate_data_dir,
    write_kv,
    write_spk2utt,
)

SESSIONS = (1, 2, 3, 4, 5)
#: every emotion code of the release's summary lines
EMOTION_CODES = ("neu", "hap", "exc", "ang", "sad", "fru", "sur", "fea", "dis", "oth", "xxx")
#: the usual 4-class setup: code -> class (excited merged into happy); other codes dropped
FOUR_CLASS: Mapping[str, str] = {"neu": "neu", "hap": "hap", "exc": "hap", "ang": "ang",
                                 "sad": "sad"}  # fmt: skip
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
MIN_SECONDS = 0.25
TURN_RE = re.compile(r"^Ses(\d+)([FM])_(.+)_([FM])(\d+)$")
SUMMARY_RE = re.compile(
    r"^\[\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*\]\t(\S+)\t(\S+)\t\[([^\]]*)\]\s*$"
)


class IemocapError(ValueError):
    """An IEMOCAP tree that cannot be prepared (the message names the file)."""


@dataclass(frozen=True)
class Turn:
    """One summary line of an evaluation file: the turn's time in its dialog (seconds), its
    emotion code, valence / activation / dominance (1-5), and its line number (1-based)."""

    name: str
    start: float
    end: float
    emotion: str
    vad: tuple[float, float, float]
    line: int = 0

    @property
    def dialog(self) -> str:
        """The dialog (evaluation file stem, wav folder): the name without its last part."""
        return self.name.rsplit("_", 1)[0]


def parse_turn_name(name: str) -> tuple[int, str, str]:
    """``Ses01F_impro01_M000`` -> ``(1, "Ses01F_impro01", "M")``: session, dialog, the
    speaking actor's gender. Raises ValueError for another pattern."""
    m = TURN_RE.match(name)
    if m is None:
        raise ValueError(
            f"turn name {name!r} is not Ses<NN><F|M>_<dialog>_<F|M><nnn> (e.g. Ses01F_impro01_F000)"
        )
    return int(m.group(1)), name.rsplit("_", 1)[0], m.group(4)


def speaker_of(name: str) -> str:
    """The speaker of a turn: session and speaking actor (``Ses01F_impro01_M000`` -> ``Ses01M``)."""
    session, _, gender = parse_turn_name(name)
    return f"Ses{session:02d}{gender}"


def utterance_id(name: str) -> str:
    """The data-dir utterance id of a turn, prefixed by its speaker:
    ``Ses01M-Ses01F_impro01_M000``."""
    return f"{speaker_of(name)}-{name}"


def format_turn(turn: Turn) -> str:
    """The release's summary line of ``turn`` (no newline)."""
    v, a, d = turn.vad
    return (
        f"[{turn.start:.4f} - {turn.end:.4f}]\t{turn.name}\t{turn.emotion}\t"
        f"[{v:.4f}, {a:.4f}, {d:.4f}]"
    )


def read_evaluation(path: str | os.PathLike) -> list[Turn]:
    """The summary lines of one ``EmoEvaluation/<dialog>.txt``, in file order.

    Lines starting with ``[`` are summary lines and must parse; the header (``%``), the
    evaluators' lines and blank lines are skipped. Raises IemocapError naming ``path:line``
    for a malformed line, an unknown emotion code, a turn of another dialog (the file stem)
    or a turn listed twice.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise IemocapError(f"{p}: not a UTF-8 text file ({e})") from e
    turns: list[Turn] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.startswith("["):
            continue
        m = SUMMARY_RE.match(line)
        if m is None:
            raise IemocapError(
                f"{p}:{n}: not a summary line '[START - END]<TAB>TURN<TAB>EMOTION<TAB>[V, A, D]':"
                f" {line[:80]!r}"
            )
        start, end, name, code, vad_text = m.groups()
        if code not in EMOTION_CODES:
            raise IemocapError(
                f"{p}:{n}: unknown emotion code {code!r} for turn {name} "
                f"(IEMOCAP's codes: {' '.join(EMOTION_CODES)})"
            )
        try:
            _, dialog, _ = parse_turn_name(name)
        except ValueError as e:
            raise IemocapError(f"{p}:{n}: {e}") from None
        if dialog != p.stem:
            raise IemocapError(f"{p}:{n}: turn {name} belongs to dialog {dialog}, not {p.stem}")
        if name in seen:
            raise IemocapError(f"{p}:{n}: turn {name} already evaluated on line {seen[name]}")
        try:
            vad = tuple(float(x) for x in vad_text.split(","))
        except ValueError:
            vad = ()
        if len(vad) != 3:
            raise IemocapError(f"{p}:{n}: [V, A, D] of turn {name} is not 3 numbers: [{vad_text}]")
        if float(end) < float(start):
            raise IemocapError(f"{p}:{n}: turn {name} ends ({end}) before it starts ({start})")
        seen[name] = n
        turns.append(Turn(name, float(start), float(end), code, vad, n))  # type: ignore[arg-type]
    return turns


def write_evaluation(path: str | os.PathLike, turns: Sequence[Turn], extra: Sequence = ()) -> None:
    """Write an evaluation file in the release's format: the header, then per turn its
    summary line, ``extra[i]`` (the evaluators' lines of turn ``i``, when given) and a blank
    line."""
    lines = [HEADER, ""]
    for i, t in enumerate(turns):
        lines.append(format_turn(t))
        if i < len(extra):
            lines.extend(extra[i])
        lines.append("")
    write_text_atomic(path, "\n".join(lines) + "\n")


@dataclass
class IemocapReport:
    """What :func:`prepare_iemocap` kept and dropped, per session (``Session<N>``)."""

    kept: dict[str, Counter] = field(default_factory=dict)
    dropped: dict[str, Counter] = field(default_factory=dict)
    bad_audio: dict[str, list[str]] = field(default_factory=dict)
    unevaluated: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def num_utterances(self) -> int:
        """Turns written to the data dirs."""
        return sum(sum(c.values()) for c in self.kept.values())

    def table(self, classes: Sequence[str]) -> str:
        """Tab-separated counts: one row per session and a total row; columns: the classes,
        kept, then each dropped code and bad audio."""
        codes = sorted({c for d in self.dropped.values() for c in d})
        head = ["session", *classes, "kept", *(f"dropped_{c}" for c in codes), "bad_audio"]
        rows = ["\t".join(head)]
        tot: Counter = Counter()
        for s in self.kept:
            k, d, bad = self.kept[s], self.dropped.get(s, Counter()), len(self.bad_audio.get(s, []))
            vals = [*(k[c] for c in classes), sum(k.values()), *(d[c] for c in codes), bad]
            rows.append("\t".join([s, *map(str, vals)]))
            tot.update({i: v for i, v in enumerate(vals)})
        rows.append("\t".join(["total", *(str(tot[i]) for i in range(len(head) - 1))]))
        return "\n".join(rows) + "\n"

    def __str__(self) -> str:
        kept = Counter()
        for c in self.kept.values():
            kept.update(c)
        dropped = Counter()
        for c in self.dropped.values():
            dropped.update(c)
        s = (
            f"{self.num_utterances} turns in {len(self.kept)} sessions "
            f"({', '.join(f'{k} {v}' for k, v in sorted(kept.items()))}), "
            f"{self.seconds / 3600:.2f} h"
        )
        if dropped:
            s += f"; dropped {sum(dropped.values())} with other codes ("
            s += ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())) + ")"
        bad = [b for v in self.bad_audio.values() for b in v]
        if bad:
            s += f"; dropped {len(bad)} with bad audio: " + "; ".join(bad[:5])
            s += " ..." if len(bad) > 5 else ""
        return s


@dataclass(frozen=True)
class _Kept:
    turn: Turn
    wav: Path
    evaluation: Path


def _session_turns(
    root: Path, session: int, label_map: Mapping[str, str], rep: IemocapReport
) -> list[_Kept]:
    """The evaluated turns of one session with a class in ``label_map`` (others counted)."""
    name = f"Session{session}"
    sdir = root / name
    if not sdir.is_dir():
        raise IemocapError(f"{sdir}: no such session folder (expected {root}/Session1..5)")
    evdir = sdir / "dialog" / "EmoEvaluation"
    wavdir = sdir / "sentences" / "wav"
    for d, what in ((evdir, "evaluation"), (wavdir, "turn audio")):
        if not d.is_dir():
            raise IemocapError(f"{d}: no such folder (the {what} of {name})")
    files = sorted(p for p in evdir.glob("*.txt") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise IemocapError(f"{evdir}: no evaluation files (<dialog>.txt)")
    kept: list[_Kept] = []
    dropped: Counter = Counter()
    evaluated: set[str] = set()
    for f in files:
        for t in read_evaluation(f):
            s, _, _ = parse_turn_name(t.name)
            if s != session:
                raise IemocapError(f"{f}:{t.line}: turn {t.name} is not of session {session}")
            evaluated.add(t.name)
            if t.emotion not in label_map:
                dropped[t.emotion] += 1
                continue
            wav = wavdir / t.dialog / f"{t.name}.wav"
            if not wav.is_file():
                raise IemocapError(f"{f}:{t.line}: turn {t.name} has no audio file {wav}")
            kept.append(_Kept(t, wav, f))
    wavs = {p.stem for p in wavdir.glob("*/*.wav") if not p.name.startswith(".")}
    rep.unevaluated[name] = len(wavs - evaluated)
    rep.dropped[name] = dropped
    return kept


def _check(k: _Kept, min_samples: int, full: bool) -> tuple[_Kept, int, str | None]:
    c = check_audio_file(k.wav, sample_rate=SAMPLE_RATE, full=full)
    if c.problem is not None:
        return k, 0, f"{k.wav}: {c.problem}"
    if c.channels != 1:
        return k, 0, f"{k.wav}: has {c.channels} channels, IEMOCAP's turn wavs are mono"
    n = c.num_samples
    if n < min_samples:
        need = f"at least {min_samples} ({min_samples / SAMPLE_RATE:g} s) needed"
        return k, 0, f"{k.wav}: too short: {n} samples ({n / SAMPLE_RATE:.3f} s), {need}"
    return k, n, None


def prepare_iemocap(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    sessions: Sequence[int] = SESSIONS,
    label_map: Mapping[str, str] = FOUR_CLASS,
    min_seconds: float = MIN_SECONDS,
    skip_bad: bool = False,
    jobs: int = 4,
    full_check: bool = False,
) -> IemocapReport:
    """Write ``<out_dir>/Session<N>`` (one Kaldi data dir per session) and
    ``<out_dir>/emotion_counts.tsv`` from the IEMOCAP tree ``root``.

    Args:
        root: the release folder holding ``Session1`` ... ``Session5``.
        out_dir: where the session data dirs go (e.g. ``data``).
        sessions: session numbers to prepare.
        label_map: emotion code -> class; turns with other codes are dropped and counted.
        min_seconds: shortest usable turn, in seconds (shorter ones are bad audio).
        skip_bad: drop turns with bad audio (listed in the report) instead of stopping.
        jobs: threads checking the audio files.
        full_check: decode every wav entirely instead of its header.
    """
    src = Path(root)
    if not src.is_dir():
        raise IemocapError(f"{src}: no such IEMOCAP folder (the one holding Session1..5)")
    if not sessions:
        raise ValueError("no sessions given")
    unknown = sorted(set(label_map) - set(EMOTION_CODES))
    if unknown:
        raise ValueError(f"label_map: unknown emotion codes {unknown}")
    rep = IemocapReport()
    min_samples = max(1, round(min_seconds * SAMPLE_RATE))
    per_session: dict[str, list[_Kept]] = {}
    for s in sessions:
        per_session[f"Session{s}"] = _session_turns(src, s, label_map, rep)
    out = Path(out_dir)
    for name, kept in per_session.items():
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            checked = list(pool.map(lambda k: _check(k, min_samples, full_check), kept))
        rep.bad_audio[name] = []
        tables: dict[str, dict[str, str]] = {
            n: {} for n in ("wav.scp", "utt2spk", "utt2emo", "utt2num_samples", "utt2dur")
        }
        genders: dict[str, str] = {}
        counts: Counter = Counter()
        for k, n, problem in checked:
            if problem is not None:
                msg = f"{k.evaluation}:{k.turn.line}: turn {k.turn.name}: {problem}"
                if not skip_bad:
                    raise IemocapError(msg + " (--skip-bad-audio drops such turns)")
                rep.bad_audio[name].append(msg)
                continue
            utt, spk = utterance_id(k.turn.name), speaker_of(k.turn.name)
            cls = label_map[k.turn.emotion]
            tables["wav.scp"][utt] = scp_path_entry(k.wav.resolve())
            tables["utt2spk"][utt] = spk
            tables["utt2emo"][utt] = cls
            tables["utt2num_samples"][utt] = str(n)
            tables["utt2dur"][utt] = f"{n / SAMPLE_RATE:.4f}"
            genders[spk] = spk[-1].lower()
            counts[cls] += 1
            rep.seconds += n / SAMPLE_RATE
        if not tables["utt2spk"]:
            raise IemocapError(f"{src / name}: no usable turn with a class of {dict(label_map)}")
        rep.kept[name] = counts
        d = out / name
        if d.is_dir():  # a rerun: no stale files of an earlier preparation
            for n in ("wav.scp", "utt2spk", "spk2utt", "utt2emo", "utt2num_samples", "utt2dur",
                      "spk2gender", "text", "segments", "feats.scp", "cmvn.scp"):  # fmt: skip
                (d / n).unlink(missing_ok=True)
        d.mkdir(parents=True, exist_ok=True)
        for n, t in tables.items():
            write_kv(d / n, t)
        write_spk2utt(d / "spk2utt", utt2spk_to_spk2utt(tables["utt2spk"]))
        write_kv(d / "spk2gender", genders)
        validate_data_dir(d, no_text=True)
    classes = sorted(set(label_map.values()))
    write_text_atomic(out / "emotion_counts.tsv", rep.table(classes))
    return rep


# ------------------------------------------------------------------------------ folds


@dataclass(frozen=True)
class Fold:
    """One fold of a leave-one-group-out protocol: the groups (e.g. sessions) of each split."""

    name: str
    train: tuple[str, ...]
    dev: str
    test: str


def loso_folds(groups: Sequence[str], dev_offset: int = 1) -> list[Fold]:
    """Leave-one-group-out: fold ``k`` (1-based) tests on ``groups[k-1]``, takes
    ``groups[(k-1+dev_offset) % n]`` as dev and trains on the others (IEMOCAP: fold 1 tests on
    Session1, dev Session2, trains on Session3-5; fold 5 tests on Session5, dev Session1)."""
    n = len(groups)
    if len(set(groups)) != n:
        raise ValueError(
            f"groups given twice: {sorted(g for g in set(groups) if groups.count(g) > 1)}"
        )
    if n < 3:
        raise ValueError(f"leave-one-out with a dev group needs at least 3 groups, got {n}")
    if not 1 <= dev_offset < n:
        raise ValueError(f"dev_offset must be in [1, {n - 1}], got {dev_offset}")
    folds = []
    for i, test in enumerate(groups):
        dev = groups[(i + dev_offset) % n]
        train = tuple(g for g in groups if g not in (test, dev))
        folds.append(Fold(f"fold{i + 1}", train, dev, test))
    return folds


FOLD_MARKER = ".pase_fold"


def _write_split(
    dest: Path, feats_dirs: list[Path], labels: dict[str, str], label_file: str
) -> int:
    if dest.exists():
        if not (dest / FOLD_MARKER).is_file():
            raise IemocapError(f"{dest}: exists and was not made by pase-make-folds; not touched")
        shutil.rmtree(dest)
    n = combine_data_dirs(dest, feats_dirs, log=False)
    write_kv(dest / label_file, {u: labels[u] for u in read_kv(dest / "feats.scp")})
    (dest / FOLD_MARKER).write_text("made by pase-make-folds\n")
    return n


def write_folds(
    folds: Sequence[Fold],
    feats_dirs: Mapping[str, str | os.PathLike],
    label_dirs: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    labels: str = "utt2emo",
) -> dict[str, dict[str, int]]:
    """Write ``<out_dir>/<fold>/{train,dev,test}``: each the groups' feature dirs merged
    (``feats.scp``, ``utt2spk``, ``spk2utt``, ``utt2num_frames``, ...; Kaldi's
    ``combine_data.sh``) with the label file ``labels`` taken from the groups' ``label_dirs``
    (the feature dirs of ``pase-dump-feats`` do not carry it), plus ``<out_dir>/folds.tsv``.
    Every utterance with features needs a label. Returns fold -> split -> utterances."""
    out = Path(out_dir)
    groups = {g for f in folds for g in (*f.train, f.dev, f.test)}
    for g in sorted(groups):
        for what, table in (("features", feats_dirs), ("labels", label_dirs)):
            if g not in table:
                raise ValueError(f"no {what} dir for group {g!r}")
        if not (Path(feats_dirs[g]) / "feats.scp").is_file():
            raise IemocapError(f"{feats_dirs[g]}: no feats.scp (dump the features of {g} first)")
        if not (Path(label_dirs[g]) / labels).is_file():
            raise IemocapError(f"{label_dirs[g]}: no label file {labels}")
    table: dict[str, str] = {}
    for g in sorted(groups):
        lab_file = Path(label_dirs[g]) / labels
        lab = read_kv(lab_file)
        missing = [u for u in read_kv(Path(feats_dirs[g]) / "feats.scp") if u not in lab]
        if missing:
            raise IemocapError(
                f"{lab_file}: no label for {len(missing)} utterance(s) of "
                f"{Path(feats_dirs[g]) / 'feats.scp'} (e.g. {missing[:3]})"
            )
        table.update(lab)
    sizes: dict[str, dict[str, int]] = {}
    rows = ["fold\ttest\tdev\ttrain"]
    for f in folds:
        splits = {"train": list(f.train), "dev": [f.dev], "test": [f.test]}
        sizes[f.name] = {
            s: _write_split(out / f.name / s, [Path(feats_dirs[g]) for g in gs], table, labels)
            for s, gs in splits.items()
        }
        rows.append(f"{f.name}\t{f.test}\t{f.dev}\t{','.join(f.train)}")
    write_text_atomic(out / "folds.tsv", "\n".join(rows) + "\n")
    return sizes
