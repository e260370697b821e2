"""Kaldi data directories: ``wav.scp``, ``utt2spk``, optional ``segments`` and ``text``.

Contract (Kaldi's): one ``<key> <value>`` per line, keys unique and sorted (C locale),
utterance ids prefixed by their speaker id. ``segments`` lines are
``<utt> <recording> <start-s> <end-s>`` (end -1 = end of recording) and make ``wav.scp`` a
table of recordings instead of utterances.

Besides reading (:class:`DataDir`), this module holds the logic behind the Kaldi data-dir tools
in ``utils/``: :func:`validate_data_dir`, :func:`fix_data_dir`, :func:`split_data_dir`,
:func:`combine_data_dirs`, :func:`subset_data_dir` and the ``utt2spk`` <-> ``spk2utt``
conversions. Files are classified by what their keys are (utterances, speakers, recordings);
files this module does not know are left alone (and not copied into splits or subsets).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pase.io.atomic import atomic_open
from pase.io.audio import audio_instead_of


class DataDirError(ValueError):
    """A malformed Kaldi data directory file (the message names file and line)."""


def require_data_dir(path: str | os.PathLike, *, need: str | None = None) -> Path:
    """``path`` as a :class:`Path` if it is a folder (holding ``need``, when given).

    Raises:
        DataDirError: an audio file ("x.wav is an audio file, expected a Kaldi data dir"),
            another file, a missing folder, or a folder without ``need``.
    """
    d = Path(path)
    msg = audio_instead_of(d, "a Kaldi data dir (a folder with wav.scp, utt2spk, ...)")
    if msg is not None:
        raise DataDirError(msg)
    if d.is_file():
        raise DataDirError(f"{d} is a file, expected a Kaldi data dir (a folder)")
    if not d.is_dir():
        raise DataDirError(f"{d}: no such data dir")
    if need is not None and not (d / need).is_file():
        raise DataDirError(f"{d}: not a Kaldi data dir (no {need})")
    return d


def read_kv(path: str | os.PathLike, *, allow_empty: bool = False) -> dict[str, str]:
    """Read a Kaldi table file ``<key> <rest of line>`` into an ordered dict.

    Raises DataDirError on a duplicate key, (unless ``allow_empty``) a key without value, or a
    file that is not UTF-8 text (an audio file given instead is said to be one).
    """
    path = Path(path)
    msg = audio_instead_of(path, "a Kaldi table (text lines '<key> <value>')")
    if msg is not None:
        raise DataDirError(msg)
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        lines = _text_lines(f, path)
        for n, line in enumerate(lines, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value and not allow_empty:
                raise DataDirError(f"{path}:{n}: key {key!r} has no value")
            if key in out:
                raise DataDirError(f"{path}:{n}: duplicate key {key!r}")
            out[key] = value
    return out


def _text_lines(f, path: Path) -> list[str]:
    try:
        return f.readlines()
    except UnicodeDecodeError as e:
        raise DataDirError(f"{path}: not a UTF-8 text table ({e})") from e


def write_kv(path: str | os.PathLike, table: dict[str, str], *, sort: bool = True) -> None:
    """Write ``table`` as ``<key> <value>`` lines atomically (sorted by key by default)."""
    keys = sorted(table) if sort else list(table)
    with atomic_open(path, "w", encoding="utf-8") as f:
        for k in keys:
            v = table[k]
            f.write(f"{k} {v}\n" if v != "" else f"{k}\n")


@dataclass(frozen=True)
class Utterance:
    """One utterance of a data dir: its audio source and optional segment bounds (seconds)."""

    utt_id: str
    source: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


class DataDir:
    """A Kaldi data dir opened for reading.

    Attributes:
        path: the folder.
        wav_scp: recording (or utterance) id -> path or ``cmd |``.
        utt2spk: utterance id -> speaker id (empty dict when the file is absent).
        segments: utterance id -> (recording id, start s, end s), or None.
        text: utterance id -> transcript, or None.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = require_data_dir(path, need="wav.scp")
        wav = self.path / "wav.scp"
        self.wav_scp = read_kv(wav)
        u2s = self.path / "utt2spk"
        self.utt2spk = read_kv(u2s) if u2s.is_file() else {}
        seg = self.path / "segments"
        self.segments: dict[str, tuple[str, float, float]] | None = None
        if seg.is_file():
            self.segments = {}
            for utt, rest in read_kv(seg).items():
                fields = rest.split()
                try:
                    rec, b, e = fields[0], float(fields[1]), float(fields[2])
                except (IndexError, ValueError) as err:
                    raise DataDirError(
                        f"{seg}: utterance {utt!r}: expected '<rec> <start> <end>', got {rest!r}"
                    ) from err
                if rec not in self.wav_scp:
                    raise DataDirError(
                        f"{seg}: utterance {utt!r}: recording {rec!r} not in wav.scp"
                    )
                self.segments[utt] = (rec, b, e)
        txt = self.path / "text"
        self.text = read_kv(txt, allow_empty=True) if txt.is_file() else None

    def utterance_ids(self) -> list[str]:
        """Utterance ids in file order."""
        return list(self.segments) if self.segments is not None else list(self.wav_scp)

    def __len__(self) -> int:
        return len(self.utterance_ids())

    def utterance(self, utt_id: str) -> Utterance:
        """Where to read ``utt_id`` from."""
        spk = self.utt2spk.get(utt_id)
        if self.segments is not None:
            rec, b, e = self.segments[utt_id]
            return Utterance(utt_id, self.wav_scp[rec], spk, b, e)
        return Utterance(utt_id, self.wav_scp[utt_id], spk)

    def utterances(self) -> list[Utterance]:
        """All utterances in file order."""
        return [self.utterance(u) for u in self.utterance_ids()]


# --------------------------------------------------------------------------------------------
# File kinds. Values are the whole rest of the line (kept verbatim).

#: files keyed by utterance id
UTT_FILES = (
    "utt2spk",
    "text",
    "segments",
    "feats.scp",
    "utt2dur",
    "utt2num_frames",
    "utt2num_samples",
    "utt2lang",
    "utt2uniq",
    "utt2category",
)
#: files keyed by speaker id (``spk2utt`` is derived from ``utt2spk`` and handled apart)
SPK_FILES = ("spk2gender", "cmvn.scp")
#: files keyed by recording id when ``segments`` exists (else ``wav.scp`` is per utterance)
REC_FILES = ("wav.scp", "reco2file_and_channel", "reco2dur")
#: files copied verbatim into splits and subsets
PLAIN_FILES = ("frame_shift", "feat_dim", "feats_type")


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """``utt -> spk`` to ``spk -> [utt, ...]`` (speakers in order of first appearance)."""
    out: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        out.setdefault(spk, []).append(utt)
    return out


def spk2utt_to_utt2spk(spk2utt: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``spk -> [utt, ...]`` to ``utt -> spk``; an utterance under two speakers is an error."""
    out: dict[str, str] = {}
    for spk, utts in spk2utt.items():
        for utt in utts:
            if utt in out:
                raise DataDirError(
                    f"utterance {utt!r} listed under speakers {out[utt]!r} and {spk!r}"
                )
            out[utt] = spk
    return out


def read_spk2utt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read ``spk2utt`` (``<spk> <utt1> <utt2> ...``)."""
    return {k: v.split() for k, v in read_kv(path).items()}


def write_spk2utt(path: str | os.PathLike, spk2utt: Mapping[str, Sequence[str]]) -> None:
    """Write ``spk2utt`` atomically, speakers sorted."""
    write_kv(path, {k: " ".join(v) for k, v in spk2utt.items()})


def _raw_keys(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [ln.split(maxsplit=1)[0] for ln in _text_lines(f, path) if ln.strip()]


def utterance_keyed_files(path: str | os.PathLike) -> list[str]:
    """Names of the utterance-keyed files present in ``path`` (incl. ``wav.scp`` without
    ``segments``)."""
    d = Path(path)
    names = [n for n in UTT_FILES if (d / n).is_file()]
    if not (d / "segments").is_file() and (d / "wav.scp").is_file():
        names.append("wav.scp")
    return names


@dataclass
class DataDirReport:
    """Problems found by :func:`check_data_dir` (errors make the dir unusable)."""

    path: Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        lines = [f"{self.path}: {'OK' if self.ok else 'INVALID'}"]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def check_data_dir(
    path: str | os.PathLike,
    *,
    no_text: bool = False,
    no_feats: bool = False,
    no_wav: bool = False,
    no_spk_sort: bool = False,
    non_print: bool = False,
) -> DataDirReport:
    """Check a data dir as Kaldi's ``validate_data_dir.sh`` does.

    Errors: a required file missing (``utt2spk``, ``spk2utt``, ``wav.scp`` unless ``no_wav``,
    ``text`` unless ``no_text``, ``feats.scp`` when ``no_wav``); a file unsorted (C locale),
    with duplicate keys or malformed lines; utterance sets that differ between files;
    ``spk2utt`` inconsistent with ``utt2spk``; utterance ids not prefixed by their speaker
    (the utterance order must also be the speaker order, unless ``no_spk_sort``); segments
    pointing at missing recordings or with bad times; speaker files with other speakers;
    non-numeric ``utt2dur`` / ``utt2num_frames``; ``spk2gender`` values other than m/f;
    non-printable characters in ``text`` (unless ``non_print``, Kaldi's option to allow them).
    """
    d = Path(path)
    rep = DataDirReport(d)
    try:
        require_data_dir(d)
    except DataDirError as e:
        rep.errors.append(str(e))
        return rep
    tables: dict[str, dict[str, str]] = {}

    def load(name: str, required: bool) -> dict[str, str] | None:
        f = d / name
        if not f.is_file():
            if required:
                rep.errors.append(f"{name} is missing")
            return None
        try:
            t = read_kv(f, allow_empty=name == "text")
        except DataDirError as e:
            rep.errors.append(str(e))
            return None
        keys = _raw_keys(f)
        for a, b in itertools.pairwise(keys):
            if a.encode() > b.encode():
                rep.errors.append(f"{name} is not sorted (C locale): {a!r} before {b!r}")
                break
        tables[name] = t
        return t

    u2s = load("utt2spk", True)
    s2u = load("spk2utt", True)
    seg = load("segments", False)
    wav = load("wav.scp", not no_wav)
    text = load("text", not no_text)
    feats = load("feats.scp", no_wav and not no_feats)
    if u2s is None:
        return rep
    if not u2s:
        rep.errors.append("utt2spk is empty")
        return rep
    for utt, spk in u2s.items():
        if len(spk.split()) != 1:
            rep.errors.append(f"utt2spk: utterance {utt!r}: expected one speaker, got {spk!r}")
            break
    utts = set(u2s)
    if s2u is not None:
        try:
            derived = spk2utt_to_utt2spk({k: v.split() for k, v in s2u.items()})
        except DataDirError as e:
            rep.errors.append(f"spk2utt: {e}")
        else:
            if derived != u2s:
                diff = sorted(set(derived.items()) ^ set(u2s.items()))[:3]
                rep.errors.append(
                    f"spk2utt does not match utt2spk (e.g. {diff}); rebuild it with "
                    "utils/utt2spk_to_spk2utt.pl utt2spk > spk2utt"
                )
    if not no_spk_sort:
        order = list(u2s.items())  # sorted by utterance (checked above)
        for (u1, s1), (u2, s2) in itertools.pairwise(order):
            if s1.encode() > s2.encode():
                rep.errors.append(
                    f"utt2spk: sorting by utterance does not sort by speaker ({u1!r} of "
                    f"{s1!r} before {u2!r} of {s2!r}): prefix utterance ids with the speaker id"
                )
                break
        for utt, spk in u2s.items():
            if not utt.startswith(spk):
                rep.warnings.append(
                    f"utterance {utt!r} is not prefixed by its speaker {spk!r} (Kaldi expects it)"
                )
                break

    def same_utts(name: str, table: dict[str, str] | None) -> None:
        if table is None:
            return
        extra, missing = sorted(set(table) - utts), sorted(utts - set(table))
        if extra or missing:
            rep.errors.append(
                f"{name} and utt2spk have different utterances: {len(missing)} missing from "
                f"{name} (e.g. {missing[:3]}), {len(extra)} not in utt2spk (e.g. {extra[:3]}); "
                "utils/fix_data_dir.sh keeps the common ones"
            )

    if seg is not None:
        same_utts("segments", seg)
        for utt, rest in seg.items():
            f = rest.split()
            try:
                rec, b, e = f[0], float(f[1]), float(f[2])
            except (IndexError, ValueError):
                rep.errors.append(f"segments: utterance {utt!r}: bad line {rest!r}")
                break
            if wav is not None and rec not in wav:
                rep.errors.append(f"segments: utterance {utt!r}: recording {rec!r} not in wav.scp")
                break
            if b < 0 or (e != -1 and e <= b):
                rep.errors.append(f"segments: utterance {utt!r}: bad times {b} {e}")
                break
    elif wav is not None:
        same_utts("wav.scp", wav)
    same_utts("text", text)
    if not no_feats:
        same_utts("feats.scp", feats)
    for name in UTT_FILES:
        if name in ("utt2spk", "text", "segments", "feats.scp"):
            continue
        t = load(name, False)
        same_utts(name, t)
        if t is None or name not in ("utt2dur", "utt2num_frames", "utt2num_samples"):
            continue
        conv = float if name == "utt2dur" else int
        for utt, v in t.items():
            try:
                ok = conv(v) >= 0
            except ValueError:
                ok = False
            if not ok:
                rep.errors.append(f"{name}: utterance {utt!r}: bad value {v!r}")
                break
    speakers = set(u2s.values())
    for name in SPK_FILES:
        t = load(name, False)
        if t is None:
            continue
        if set(t) != speakers:
            missing, extra = sorted(speakers - set(t)), sorted(set(t) - speakers)
            rep.errors.append(
                f"{name} and utt2spk have different speakers: missing {missing[:3]}, "
                f"extra {extra[:3]}"
            )
        if name == "spk2gender":
            bad = [(k, v) for k, v in t.items() if v not in ("m", "f")]
            if bad:
                rep.errors.append(f"spk2gender: gender must be m or f, got {bad[:3]}")
    if text is not None:
        if not non_print:
            bad_chars = [u for u, v in text.items() if not v.isprintable()]
            if bad_chars:
                rep.errors.append(
                    f"text: non-printable characters in {len(bad_chars)} transcript(s), e.g. "
                    f"{bad_chars[:3]} (--non-print allows them)"
                )
        empty = [u for u, v in text.items() if not v]
        if empty:
            rep.warnings.append(f"text: {len(empty)} empty transcript(s), e.g. {empty[:3]}")
    if "utt2dur" not in tables:
        rep.warnings.append("no utt2dur")
    return rep


def validate_data_dir(path: str | os.PathLike, **kwargs: bool) -> DataDirReport:
    """:func:`check_data_dir` that raises :class:`DataDirError` listing every error."""
    rep = check_data_dir(path, **kwargs)
    if not rep.ok:
        raise DataDirError(str(rep))
    return rep


def _write_subset(src: Path, dest: Path, utts: Iterable[str]) -> int:
    """Write the part of data dir ``src`` holding ``utts`` into ``dest`` (may equal ``src``):
    utterance, speaker and recording files filtered and sorted, ``spk2utt`` rebuilt. Returns
    the number of utterances written."""
    keep = set(utts)
    tables = {n: read_kv(src / n, allow_empty=n == "text") for n in utterance_keyed_files(src)}
    u2s = {u: s for u, s in tables.get("utt2spk", {}).items() if u in keep}
    spks = set(u2s.values())
    has_seg = (src / "segments").is_file()
    recs = None
    if has_seg:
        recs = {v.split()[0] for u, v in tables["segments"].items() if u in keep}
    # read everything before writing anything: dest may be src
    rec_tables = {}
    if has_seg:
        rec_tables = {n: read_kv(src / n) for n in REC_FILES if (src / n).is_file()}
    spk_tables = {n: read_kv(src / n) for n in SPK_FILES if (src / n).is_file()}
    plain = {n: (src / n).read_bytes() for n in PLAIN_FILES if (src / n).is_file()}
    dest.mkdir(parents=True, exist_ok=True)
    if dest.resolve() != src.resolve():  # drop stale files of an earlier subset/split
        written = {*tables, *rec_tables, *spk_tables, *plain, "spk2utt"}
        for n in (*UTT_FILES, *SPK_FILES, *REC_FILES, *PLAIN_FILES, "spk2utt"):
            if n not in written and (dest / n).is_file():
                (dest / n).unlink()
    for n, t in tables.items():
        write_kv(dest / n, {u: v for u, v in t.items() if u in keep})
    for n, t in rec_tables.items():
        write_kv(dest / n, {r: v for r, v in t.items() if recs is not None and r in recs})
    for n, t in spk_tables.items():
        write_kv(dest / n, {s: v for s, v in t.items() if s in spks})
    if "utt2spk" in tables:
        write_spk2utt(dest / "spk2utt", utt2spk_to_spk2utt(dict(sorted(u2s.items()))))
    if dest.resolve() != src.resolve():
        for n, data in plain.items():
            (dest / n).write_bytes(data)
    return len(u2s) if "utt2spk" in tables else len(keep)


def fix_data_dir(path: str | os.PathLike, *, log: bool = True) -> tuple[int, int]:
    """Keep only utterances present in every utterance-keyed file (and whose recording
    exists), sort all files, rebuild ``spk2utt`` and filter speaker/recording files, as Kaldi's
    ``fix_data_dir.sh``. The original files are copied to ``<path>/.backup/`` first.

    Returns ``(kept, removed)`` utterance counts. Raises DataDirError when nothing is left.
    """
    d = require_data_dir(path, need="utt2spk")
    names = utterance_keyed_files(d)
    tables = {n: read_kv(d / n, allow_empty=n == "text") for n in names}
    all_utts = set().union(*(set(t) for t in tables.values()))
    keep = set.intersection(*(set(t) for t in tables.values()))
    if "segments" in tables and (d / "wav.scp").is_file():
        recs = read_kv(d / "wav.scp")
        keep = {u for u in keep if tables["segments"][u].split()[0] in recs}
    if not keep:
        raise DataDirError(f"{d}: no utterance is present in all of {', '.join(names)}")
    backup = d / ".backup"
    backup.mkdir(exist_ok=True)
    for n in (*names, "spk2utt", *SPK_FILES, *REC_FILES):
        if (d / n).is_file():
            shutil.copyfile(d / n, backup / n)
    kept = _write_subset(d, d, keep)
    removed = len(all_utts) - kept
    if log:
        print(
            f"fix_data_dir: {d}: kept {kept} utterances, removed {removed} (originals in {backup})",
            file=sys.stderr,
        )
    return kept, removed


def subset_data_dir(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    utterances: Iterable[str] | None = None,
    speakers: Iterable[str] | None = None,
) -> int:
    """Copy the utterances (or the speakers') of ``src`` into a new data dir ``dest``.

    Unknown ids are an error (named). Returns the number of utterances written.
    """
    s = require_data_dir(src, need="utt2spk")
    msg = audio_instead_of(dest, "a Kaldi data dir to write")
    if msg is not None:
        raise DataDirError(msg)
    u2s = read_kv(s / "utt2spk")
    if (utterances is None) == (speakers is None):
        raise ValueError("give exactly one of utterances= or speakers=")
    if utterances is not None:
        want = set(utterances)
        unknown = sorted(want - set(u2s))
        if unknown:
            raise DataDirError(f"{s}: unknown utterance(s) {unknown[:5]}")
    else:
        spk = set(speakers or ())
        unknown = sorted(spk - set(u2s.values()))
        if unknown:
            raise DataDirError(f"{s}: unknown speaker(s) {unknown[:5]}")
        want = {u for u, k in u2s.items() if k in spk}
    return _write_subset(s, Path(dest), want)


def _balanced_cuts(sizes: Sequence[int], n: int) -> list[int]:
    """Cut ``len(sizes)`` consecutive groups into ``n`` non-empty runs with near-equal sums;
    returns the ``n + 1`` boundaries."""
    total = sum(sizes)
    cum = [0]
    for x in sizes:
        cum.append(cum[-1] + x)
    cuts = [0]
    for k in range(1, n):
        lo, hi = cuts[-1] + 1, len(sizes) - (n - k)
        target = total * k / n
        best = min(range(lo, hi + 1), key=lambda j: (abs(cum[j] - target), j))
        cuts.append(best)
    cuts.append(len(sizes))
    return cuts


def split_utterances(
    utt2spk: dict[str, str],
    num_parts: int,
    *,
    per_utt: bool = False,
    allow_empty: bool = False,
    where: str = "utt2spk",
) -> list[list[str]]:
    """The sorted utterance ids of each of ``num_parts`` parts, as Kaldi's ``split_data.sh``:
    whole speakers per part (contiguous in sorted order, near-equal utterance counts) or,
    with ``per_utt``, near-equal runs of utterances. With ``allow_empty`` more parts than
    speakers (utterances) are allowed and the extra parts are empty; otherwise that is an
    error naming ``where``."""
    if num_parts < 1:
        raise DataDirError(f"{where}: number of parts must be >= 1, got {num_parts}")
    utts = sorted(utt2spk)
    if per_utt:
        if num_parts > len(utts) and not allow_empty:
            raise DataDirError(
                f"{where}: cannot split {len(utts)} utterances into {num_parts} parts"
            )
        cuts = [round(k * len(utts) / num_parts) for k in range(num_parts + 1)]
        return [utts[cuts[k] : cuts[k + 1]] for k in range(num_parts)]
    s2u = utt2spk_to_spk2utt(dict(sorted(utt2spk.items())))
    spks = sorted(s2u)
    if num_parts > len(spks):
        if not allow_empty:
            raise DataDirError(
                f"{where}: cannot split {len(spks)} speakers into {num_parts} parts "
                "(use --per-utt, or fewer jobs)"
            )
        return [s2u[s] for s in spks] + [[] for _ in range(num_parts - len(spks))]
    cuts = _balanced_cuts([len(s2u[s]) for s in spks], num_parts)
    return [[u for s in spks[cuts[k] : cuts[k + 1]] for u in s2u[s]] for k in range(num_parts)]


def split_data_dir(path: str | os.PathLike, num_parts: int, *, per_utt: bool = False) -> list[Path]:
    """Split a data dir into ``<path>/split<N>[utt]/<1..N>`` as Kaldi's ``split_data.sh``.

    By default whole speakers go to one part (contiguous speakers, near-equal utterance
    counts; needs at least N speakers); ``per_utt`` splits by utterance (sizes differ by at
    most one). Existing part dirs are rewritten. Returns the part dirs.
    """
    d = require_data_dir(path, need="utt2spk")
    groups = split_utterances(read_kv(d / "utt2spk"), num_parts, per_utt=per_utt, where=str(d))
    root = d / f"split{num_parts}{'utt' if per_utt else ''}"
    parts = []
    for k, group in enumerate(groups, 1):
        part = root / str(k)
        _write_subset(d, part, group)
        parts.append(part)
    return parts


def combine_data_dirs(
    dest: str | os.PathLike, sources: Sequence[str | os.PathLike], *, log: bool = True
) -> int:
    """Merge data dirs into ``dest`` (as Kaldi's ``combine_data.sh``).

    An utterance in two sources is an error naming both; speaker/recording entries may repeat
    with the same value. A utterance-keyed file missing from some source is dropped (with a
    message). Returns the number of utterances.
    """
    srcs = [Path(s) for s in sources]
    if not srcs:
        raise DataDirError("combine_data_dirs: no source data dirs")
    for s in srcs:
        require_data_dir(s, need="utt2spk")
    out = Path(dest)
    msg = audio_instead_of(out, "a Kaldi data dir to write")
    if msg is not None:
        raise DataDirError(msg)
    if out.resolve() in {s.resolve() for s in srcs}:
        raise DataDirError(f"{out}: destination is also a source")
    seg = [(s / "segments").is_file() for s in srcs]
    if any(seg) and not all(seg):
        raise DataDirError(
            "combine_data_dirs: some sources have segments and others not: "
            + ", ".join(str(s) for s, g in zip(srcs, seg) if not g)
        )
    kinds = [(n, "utt") for n in UTT_FILES] + [(n, "spk") for n in SPK_FILES]
    kinds += [(n, "rec") for n in REC_FILES] if all(seg) else [("wav.scp", "utt")]
    out.mkdir(parents=True, exist_ok=True)
    n_utts = 0
    for name, kind in kinds:
        have = [s for s in srcs if (s / name).is_file()]
        if not have:
            continue
        if len(have) < len(srcs):
            missing = [str(s) for s in srcs if s not in have]
            if log:
                print(f"combine_data: {name} dropped: absent from {missing}", file=sys.stderr)
            if (out / name).is_file():
                (out / name).unlink()
            continue
        merged: dict[str, str] = {}
        origin: dict[str, Path] = {}
        for s in have:
            for k, v in read_kv(s / name, allow_empty=name == "text").items():
                if k in merged and (kind == "utt" or merged[k] != v):
                    raise DataDirError(
                        f"combine_data_dirs: {name}: key {k!r} in both {origin[k]} and {s}"
                        + ("" if kind == "utt" else " with different values")
                    )
                merged[k] = v
                origin[k] = s
        write_kv(out / name, merged)
        if name == "utt2spk":
            n_utts = len(merged)
            write_spk2utt(out / "spk2utt", utt2spk_to_spk2utt(merged))
    return n_utts
