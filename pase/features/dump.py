"""Parallel, resumable feature dumping to Kaldi ark/scp (``pase-dump-feats``, recipe stage 4).

Layout of ``<dump>`` (ESPnet's ``dump/<feats>/<set>``; a valid Kaldi data dir)::

    wav.scp utt2spk spk2utt text utt2num_samples ...   copied from the source data dir
    feats.scp            merged, sorted; the last file written (its presence = complete)
    utt2num_frames feat_dim frame_shift feats_type dump_info.json
    skipped_utts         with --skip-short: the utterances left out (``<utt> <samples>``)
    cmvn.ark [cmvn.scp]  --cmvn global|speaker (stats of these features, not applied), or
    applied_cmvn.ark [applied_cmvn.scp]  the stats applied when --apply-cmvn
    .pase_dump.json      what the dump was made from (the stamp, with the size, mtime and
                         with --verify sha256 of every audio file); marks the folder as ours
    split<N>utt/<1..N>   the job inputs
    data/jobs.json       what every job does
    data/feats.<n>.{ark,scp} utt2num_frames.<n> done.<n>   job outputs
    log/dump.<n>.log     one log per job (launcher header/footer)

How it runs: the data dir is copied and split into ``nj`` parts by utterance; the launcher
(``--cmd``, e.g. ``utils/run.pl`` or ``utils/slurm.pl --mem 4G``) runs ``JOB=1:nj`` jobs of
``python -m pase.features.dump --spec data/jobs.json --job JOB``; a job writes its ark/scp
atomically and then its marker ``done.<n>``. No corpus path goes through a shell: the job
reads its inputs from ``jobs.json``. A job whose marker exists does nothing, so a rerun after
a crash or ``kill`` redoes only unfinished jobs. Then every part is verified (each utterance
exactly once, frames = the encoder's ``num_frames(samples)`` or Kaldi's frame count, one
feature dimension, every ark entry readable); a part that fails is redone. The scps are
merged; ``feats.scp`` is written last and atomically.

Safety: the dump dir must not be, or contain, the data dir, no input (audio, checkpoint,
config, cmvn stats) may lie inside it, and an existing dump dir is only reused or cleared when
it carries our stamp. One dump at a time per folder (a lock naming the holder), and a job of an
earlier, killed dump that still runs stops a rerun until it ends. Temporary files of killed
runs are removed at start.

Staleness: the stamp holds hashes of the data dir's files, the size and mtime of every audio
file (``verify=True``: their sha256), the resolved frontend config, the checkpoint's and the
cmvn stats' sha256, the options that change the features and the pase version. When any of
them changed, the dump is redone from scratch and the log says what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import kaldiio
import numpy as np

from pase.constants import segment_samples
from pase.features import cmvn as cmvn_lib
from pase.features.kaldi import KaldiFeatures
from pase.io.atomic import write_json_atomic, write_text_atomic
from pase.io.audio import audio_info
from pase.io.datadir import (
    DataDir,
    read_kv,
    split_data_dir,
    subset_data_dir,
    validate_data_dir,
    write_kv,
)
from pase.io.lock import LOCK_NAME, LockedError, OutputLock
from pase.io.provenance import audio_changes, audio_table, sha256_file
from pase.io.tables import WSpecifier, input_files, matrix_writer, read_input, write_features
from pase.version import __version__

FEAT_TYPES = ("pase", "mfcc", "fbank")
CMVN_TYPES = ("none", "global", "speaker")
STAMP = ".pase_dump.json"
LEGACY_STAMP = ".dump_stamp"
#: options that do not change the features (how and where jobs run)
_RUN_OPTIONS = ("cmd", "nj", "num_threads", "device")
#: files of a data dir that are outputs of feature tools, not inputs of a dump
_NOT_INPUTS = {"feats.scp", "cmvn.scp", "utt2num_frames", "feat_dim", "frame_shift", "feats_type"}
_TEMP = re.compile(r"^\..+\.tmp$")
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


class DumpError(ValueError):
    """A dump that cannot run or did not produce what was expected."""


@dataclass
class DumpOptions:
    """Options of a dump.

    ``pase_*`` options are ``pase-extract``'s; ``kaldi`` holds the mfcc/fbank pipeline as
    :class:`pase.features.kaldi.KaldiFeatures` fields (e.g. ``{"deltas": 2}``; ``feat_type``
    comes from ``feat_type``). All but ``cmd``, ``nj``,
    ``num_threads`` and ``device`` are part of the stamp.
    """

    feat_type: str = "pase"
    nj: int = 4
    cmd: str = "utils/run.pl"
    pase_cfg: str = "PASE+"
    pase_ckpt: str | None = None
    device: str = "cpu"
    mode: str | None = None
    chunk_seconds: float = 20.0
    peak_norm: bool = False
    num_threads: int = 1
    kaldi: dict[str, Any] = field(default_factory=dict)
    cmvn: str = "none"
    apply_cmvn: bool = False
    norm_vars: bool = False
    cmvn_stats: str | None = None
    dtype: str = "float32"
    compress: int | None = None
    skip_short: bool = False
    channel: int | str | None = None

    def check(self) -> None:
        if self.feat_type not in FEAT_TYPES:
            raise DumpError(f"--feat-type must be one of {FEAT_TYPES}, got {self.feat_type!r}")
        if self.cmvn not in CMVN_TYPES:
            raise DumpError(f"--cmvn must be one of {CMVN_TYPES}, got {self.cmvn!r}")
        if self.nj < 1:
            raise DumpError(f"--nj must be >= 1, got {self.nj}")
        if self.dtype not in ("float32", "float16"):
            raise DumpError(f"--dtype must be float32 or float16, got {self.dtype!r}")
        if self.dtype == "float16" and self.compress is not None:
            raise DumpError("choose float16 or Kaldi compression, not both")
        if self.apply_cmvn and self.cmvn == "none" and not self.cmvn_stats:
            raise DumpError("--apply-cmvn needs --cmvn global|speaker or --cmvn-stats FILE")
        if self.pase_ckpt and not Path(self.pase_ckpt).is_file():
            raise DumpError(f"--ckpt {self.pase_ckpt}: no such file")
        if self.cmvn_stats and not Path(self.cmvn_stats).is_file():
            raise DumpError(f"--cmvn-stats {self.cmvn_stats}: no such file")
        if self.feat_type != "pase":
            self.kaldi_features  # noqa: B018 - raises on bad options

    @property
    def kaldi_features(self) -> KaldiFeatures:
        """The mfcc/fbank pipeline of ``feat_type`` and ``kaldi``."""
        try:
            return KaldiFeatures.from_dict({**self.kaldi, "feat_type": self.feat_type})
        except (TypeError, ValueError) as e:
            raise DumpError(f"bad Kaldi feature options {self.kaldi}: {e}") from e

    @property
    def post_process(self) -> bool:
        """Whether features are rewritten after extraction (cmvn applied and/or float16)."""
        return self.apply_cmvn or self.dtype == "float16"


@dataclass
class DumpResult:
    """What a dump produced."""

    dump_dir: Path
    num_utterances: int
    num_frames: int
    feat_dim: int
    jobs_run: list[int]
    skipped: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- what a dump depends on
def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _audio_files(utts: Iterable) -> dict[str, str]:
    """Distinct audio files behind the utterances (the files named in pipes too), sorted,
    each with the first utterance that reads it."""
    out: dict[str, str] = {}
    for u in utts:
        for p in sorted(input_files(None, [u])):
            out.setdefault(str(p), u.utt_id)
    return dict(sorted(out.items()))


def _audio_table(files: dict[str, str], verify: bool) -> dict[str, dict[str, Any]]:
    """:func:`pase.io.provenance.audio_table` of ``files``; a missing file is an error naming
    its utterance."""
    table = audio_table(files, verify=verify)
    for f, entry in table.items():
        if entry.get("missing"):
            raise DumpError(f"utterance {files[f]!r} ({f}): audio file does not exist")
    return table


def _data_files(src: Path) -> dict[str, str]:
    """sha256 of the data dir's own files (not the feature tables tools write there)."""
    return {
        f.name: sha256_file(f)
        for f in sorted(src.iterdir())
        if f.is_file() and not f.name.startswith(".") and f.name not in _NOT_INPUTS
    }


def compute_stamp(src: Path, opts: DumpOptions) -> dict[str, Any]:
    """Everything the features of a dump depend on besides the audio files (see the module
    docstring)."""
    stamp: dict[str, Any] = {
        "pase_version": __version__,
        "data": _data_files(src),
        "options": {k: v for k, v in asdict(opts).items() if k not in _RUN_OPTIONS},
    }
    stamp["options"].pop("pase_ckpt")
    stamp["options"].pop("cmvn_stats")
    # the resolved pipeline, so that defaults spelt out or left implicit compare equal
    stamp["options"]["kaldi"] = opts.kaldi_features.to_dict() if opts.feat_type != "pase" else {}
    stamp["cmvn_stats_sha256"] = sha256_file(opts.cmvn_stats) if opts.cmvn_stats else None
    if opts.feat_type == "pase":
        from pase.models.frontend import load_config

        stamp["frontend_config"] = _digest(load_config(opts.pase_cfg))
        stamp["checkpoint_sha256"] = sha256_file(opts.pase_ckpt) if opts.pase_ckpt else None
    return stamp


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two stamps (without the audio), in words (empty: nothing)."""
    out = []
    names = {
        "pase_version": "the pase version",
        "frontend_config": "the frontend config contents",
        "checkpoint_sha256": "the checkpoint contents",
        "cmvn_stats_sha256": "the cmvn stats contents",
    }
    for key, what in names.items():
        if old.get(key) != new.get(key):
            out.append(what)
    if old.get("data") != new.get("data"):
        od, nd = old.get("data") or {}, new["data"]
        changed = sorted(k for k in {*od, *nd} if od.get(k) != nd.get(k))
        out.append(f"the data dir files ({', '.join(changed)})")
    oo, no = old.get("options") or {}, new["options"]
    for k in sorted({*oo, *no}):
        if oo.get(k) != no.get(k):
            out.append(f"option {k}: {oo.get(k)!r} -> {no.get(k)!r}")
    return out


# ---------------------------------------------------------------------- safety checks
def _is_ours(dump: Path) -> bool:
    if (dump / LEGACY_STAMP).is_file():
        return True
    try:
        return json.loads((dump / STAMP).read_text()).get("tool") == "pase-dump-feats"
    except (OSError, ValueError, AttributeError):
        return False


def check_dump_dir(src: Path, dump: Path, inputs: Iterable[Path]) -> None:
    """Refuse a dump dir that is or contains the data dir, that holds an input, or that
    exists with files not written by a dump.

    Raises:
        DumpError: naming the paths.
    """
    s, d = src.resolve(), dump.resolve()
    if d == s:
        raise DumpError(f"{dump}: the dump dir is the data dir itself; choose another folder")
    if d in s.parents:
        raise DumpError(
            f"{dump}: the dump dir contains the data dir {src}; dumping there could remove it. "
            "Choose a folder outside it (e.g. dump/<feats>/<set>)"
        )
    for p in inputs:
        r = Path(p).resolve()
        if d == r or d in r.parents:
            raise DumpError(
                f"{p}: an input of this dump lies inside the dump dir {dump}, which a rerun may "
                "clear; move it or dump elsewhere"
            )
    if dump.exists() and not dump.is_dir():
        raise DumpError(f"{dump}: exists and is not a folder")
    if dump.is_dir() and not _is_ours(dump):
        own = [p.name for p in dump.iterdir() if p.name != LOCK_NAME]
        if own:
            shown = ", ".join(sorted(own)[:5]) + (" ..." if len(own) > 5 else "")
            raise DumpError(
                f"{dump}: exists and was not written by pase-dump-feats (it holds {shown}); "
                "refusing to overwrite it. Choose a new or empty folder"
            )


def _remove_temps(dump: Path, log: Callable[[str], None]) -> None:
    """Delete temporary files (``.<name>.<random>.tmp``) that killed runs left behind."""
    found = [p for p in dump.rglob(".*.tmp") if p.is_file() and _TEMP.match(p.name)]
    for p in found:
        p.unlink(missing_ok=True)
    if found:
        log(f"{dump}: removed {len(found)} temporary file(s) of an interrupted run")


def _job_lock(out: Path, n: int) -> OutputLock:
    return OutputLock(out, f"dump job {n}", log=lambda m: None, name=f".job.{n}.lock")


def _check_jobs_stopped(out: Path) -> None:
    """Refuse to go on while a job of an earlier (killed) dump still runs."""
    if not out.is_dir():
        return
    for f in sorted(out.glob(".job.*.lock")):
        n = int(f.name.split(".")[2])
        try:
            _job_lock(out, n).acquire().release()
        except LockedError as e:
            raise DumpError(f"a job of an earlier dump still runs: {e}") from None


# ---------------------------------------------------------------------- frames and jobs
def expected_samples(data: Path, log: Callable[[str], None] = print) -> dict[str, int]:
    """Samples of every utterance: ``utt2num_samples`` when present, else from ``segments``
    bounds or the audio headers (pipes are run)."""
    f = data / "utt2num_samples"
    if f.is_file():
        return {k: int(v) for k, v in read_kv(f).items()}
    dd = DataDir(data)
    log(f"reading {len(dd)} audio headers for the frame-count check (no utt2num_samples)")
    out: dict[str, int] = {}
    rec_len: dict[str, int] = {}
    for u in dd.utterances():
        if dd.segments is None:
            out[u.utt_id] = audio_info(u.source, u.utt_id).num_samples
            continue
        # as pase.io.audio.read_audio cuts a segment (capped at the recording's end)
        rec = dd.segments[u.utt_id][0]
        if rec not in rec_len:
            rec_len[rec] = audio_info(u.source, u.utt_id).num_samples
        b, e = segment_samples(u.start, u.end, rec_len[rec])
        out[u.utt_id] = min(e, rec_len[rec]) - b
    return out


def frame_counter(opts: DumpOptions) -> tuple[Callable[[int], int], int]:
    """``(samples -> frames, shortest input in samples)`` of the chosen features."""
    if opts.feat_type == "pase":
        from pase.models.frontend import wf_builder

        model = wf_builder(opts.pase_cfg)
        return model.num_frames, model.min_input_samples
    feats = opts.kaldi_features
    return feats.num_frames, feats.min_samples


def _shell_word(s: str) -> str | None:
    """A word that a Kaldi launcher (arguments with whitespace double-quoted, then ``bash
    -c``) turns back into ``s``; None when there is none."""
    if _SHELL_SAFE.match(s):
        return s
    if not re.search(r"\s", s):
        return shlex.quote(s)  # used as is by the launcher, unquoted by bash
    if not re.search(r'["$`\\]', s):
        return s  # the launcher double-quotes it
    return None


def _job_var(words: list[str]) -> str:
    for var in ("JOB", "TASK", "PART", "PASE_JOB", "PASE_DUMP_JOB"):
        if not any(var in w for w in words):
            return var
    raise DumpError("cannot choose a job variable: every candidate occurs in the paths")


def launch_command(opts: DumpOptions, spec: Path, log_dir: Path, nj: int) -> list[str]:
    """The launcher command line running jobs ``1..nj`` of ``spec`` (see the module
    docstring): only shell-safe words, whatever the paths."""
    python = _shell_word(sys.executable)
    if python is None:
        raise DumpError(
            f"the Python interpreter path {sys.executable!r} contains both whitespace and "
            "shell quoting characters; jobs cannot be launched from it"
        )
    word = _shell_word(str(spec))
    spec_args = ["--spec", word] if word is not None else ["--spec-hex", str(spec).encode().hex()]
    var = _job_var([python, *spec_args, str(log_dir)])
    return [
        *shlex.split(opts.cmd),
        f"{var}=1:{nj}",
        str(log_dir / f"dump.{var}.log"),
        python,
        "-m",
        "pase.features.dump",
        *spec_args,
        "--job",
        var,
    ]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the launcher gets SIGTERM (and stops its jobs) if this process dies, even by
    # SIGKILL, so that a rerun never races with jobs of a killed dump.
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_job(spec_file: str | os.PathLike, n: int) -> int:
    """Job ``n`` of a dump (what the launcher runs): extract part ``n`` into
    ``feats.<n>.{ark,scp}`` and ``utt2num_frames.<n>``, then create ``done.<n>``."""
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    opts = DumpOptions(**spec["options"])
    out, part = Path(spec["out"]), Path(spec["split"]) / str(n)
    marker = out / f"done.{n}"
    try:
        lock = _job_lock(out, n).acquire()
    except LockedError as e:
        print(f"dump job {n}: {e}", file=sys.stderr)
        return 1
    try:
        if marker.is_file():
            print(f"dump job {n}: {marker} exists, nothing to do", file=sys.stderr)
            return 0
        utts = read_input(part)
        if opts.feat_type == "pase":
            import torch

            from pase.extract import encoder_function, load_encoder

            torch.set_num_threads(opts.num_threads)
            model = load_encoder(opts.pase_cfg, opts.pase_ckpt, opts.device)
            encode = encoder_function(
                model,
                mode=opts.mode,
                chunk_seconds=opts.chunk_seconds,
                peak_normalize=opts.peak_norm,
            )
        else:
            encode = opts.kaldi_features
        res = write_features(
            utts,
            WSpecifier(out / f"feats.{n}.ark", out / f"feats.{n}.scp"),
            encode,
            compression_method=None if opts.post_process else opts.compress,
            utt2num_frames=out / f"utt2num_frames.{n}",
            min_samples=spec["min_samples"],
            protect=input_files(part),
            channel=opts.channel,
            log=lambda m: print(f"dump job {n}: {m}", file=sys.stderr, flush=True),
        )
        write_text_atomic(marker, "done\n")
        print(f"dump job {n}: {len(res.frames)} utterances", file=sys.stderr)
        return 0
    except (ValueError, OSError, ImportError) as e:
        print(f"dump job {n}: error: {e}", file=sys.stderr)
        return 1
    finally:
        lock.release()


def _verify_job(
    n: int, out: Path, part: Path, samples: dict[str, int], frames_of: Callable[[int], int]
) -> tuple[dict[str, str], dict[str, int], int]:
    """Check job ``n``'s outputs, reading every matrix; returns (scp entries, frames, dim)."""
    scp, u2nf, ark = out / f"feats.{n}.scp", out / f"utt2num_frames.{n}", out / f"feats.{n}.ark"
    for f in (scp, u2nf, ark):
        if not f.is_file():
            raise DumpError(f"job {n}: {f} is missing")
    try:
        entries = read_kv(scp)
        frames = {k: int(v) for k, v in read_kv(u2nf).items()}
    except ValueError as e:
        raise DumpError(f"job {n}: unreadable table ({e})") from e
    want = set(read_kv(part / "utt2spk"))
    if set(entries) != want or set(frames) != want:
        missing = sorted(want - set(entries))[:3]
        extra = sorted(set(entries) - want)[:3]
        raise DumpError(
            f"job {n}: {scp} does not hold its utterances (missing {missing}, unexpected {extra})"
        )
    dims = set()
    for utt, where in entries.items():
        exp = frames_of(samples[utt])
        if frames[utt] != exp:
            raise DumpError(
                f"job {n}: utterance {utt!r} has {frames[utt]} frames, expected {exp} for "
                f"{samples[utt]} samples"
            )
        try:
            mat = kaldiio.load_mat(where)
        except Exception as e:  # any failure of the reader means a damaged archive
            raise DumpError(
                f"job {n}: utterance {utt!r}: unreadable ark entry {where} ({e})"
            ) from e
        if mat.ndim != 2 or mat.shape[0] != exp:
            raise DumpError(
                f"job {n}: utterance {utt!r}: ark entry has shape {mat.shape}, "
                f"expected {exp} frames"
            )
        dims.add(mat.shape[1])
    if len(dims) != 1:
        raise DumpError(f"job {n}: feature dimensions differ within the job: {sorted(dims)}")
    return entries, frames, dims.pop()


# ---------------------------------------------------------------------- the dump
def dump_features(
    data_dir: str | os.PathLike,
    dump_dir: str | os.PathLike,
    opts: DumpOptions,
    *,
    force: bool = False,
    verify: bool = False,
    log: Callable[[str], None] = print,
) -> DumpResult:
    """Dump features of ``data_dir`` into ``dump_dir`` (see the module docstring).

    Args:
        force: redo everything even when the stamp matches.
        verify: track the audio by content (sha256 of every file) instead of size and mtime.
    """
    opts.check()
    src = Path(data_dir)
    dump = Path(dump_dir).resolve()
    validate_data_dir(src, no_text=True, no_feats=True)
    utterances = DataDir(src).utterances()
    audio_files = _audio_files(utterances)
    extra = [p for p in (opts.pase_ckpt, opts.cmvn_stats) if p]
    if opts.feat_type == "pase" and Path(opts.pase_cfg).is_file():
        extra.append(opts.pase_cfg)
    check_dump_dir(src, dump, [*map(Path, audio_files), *map(Path, extra)])
    with OutputLock(dump, "pase-dump-feats", log=log):
        _check_jobs_stopped(dump / "data")
        _remove_temps(dump, log)
        return _dump(src, dump, opts, audio_files, force, verify, log)


def _start_over(dump: Path) -> None:
    for name in ("data", "log"):
        if (dump / name).is_dir():
            shutil.rmtree(dump / name)
    for p in dump.glob("split*"):
        if p.is_dir():
            shutil.rmtree(p)
    for name in (
        "feats.scp",
        ".complete",
        "skipped_utts",
        LEGACY_STAMP,
        "cmvn.ark",
        "cmvn.scp",
        "applied_cmvn.ark",
        "applied_cmvn.scp",
    ):
        (dump / name).unlink(missing_ok=True)


def _dump(
    src: Path,
    dump: Path,
    opts: DumpOptions,
    audio_files: dict[str, str],
    force: bool,
    verify: bool,
    log: Callable[[str], None],
) -> DumpResult:
    """The dump, with the lock held: compare the stamp, (re)prepare, run and verify the jobs,
    cmvn and post-processing, merge."""
    audio = _audio_table(audio_files, verify)
    stamp = compute_stamp(src, opts)
    old: dict[str, Any] = {}
    old_audio: dict[str, Any] = {}
    if (dump / STAMP).is_file():
        saved = json.loads((dump / STAMP).read_text())
        old, old_audio = saved.get("stamp") or {}, saved.get("audio") or {}
    changes = _differences(old, stamp) + audio_changes(old_audio, audio, verify)
    complete = (dump / ".complete").is_file() and (dump / "feats.scp").is_file()
    if not force and not changes and complete:
        _write_stamp(dump, stamp, audio)  # mtimes may have moved under --verify
        info = json.loads((dump / "dump_info.json").read_text())
        log(f"{dump}: up to date ({info['num_utterances']} utterances)")
        return DumpResult(
            dump, info["num_utterances"], info["num_frames"], info["feat_dim"], [], _skipped(dump)
        )
    frames_of, min_samples = frame_counter(opts)
    if force or changes or not (dump / "utt2num_samples").is_file():
        if force and (old or (dump / LEGACY_STAMP).is_file()):
            log(f"{dump}: --force: redoing the dump")
        elif old and changes:
            log(f"{dump}: redoing the dump; changed: {'; '.join(changes)}")
        elif (dump / LEGACY_STAMP).is_file():
            log(f"{dump}: made by an older pase version, redoing it")
        _start_over(dump)
        _copy_data_dir(src, dump, opts.skip_short, min_samples, log)
        _write_stamp(dump, stamp, audio)
    samples = {k: int(v) for k, v in read_kv(dump / "utt2num_samples").items()}
    spec_file, nj = _write_job_spec(dump, opts, min_samples, log)
    merged, frames, dim, jobs_run = _run_and_verify(
        dump, opts, spec_file, nj, samples, frames_of, log
    )
    stats = _cmvn_stats(dump, opts, merged, log)
    if opts.post_process:
        merged = _post_process(dump / "data", nj, merged, stats, opts)
    return _finish(dump, opts, stamp, merged, frames, dim, stats, sorted(set(jobs_run)), log)


def _skipped(dump: Path) -> list[str]:
    f = dump / "skipped_utts"
    return list(read_kv(f)) if f.is_file() else []


def _copy_data_dir(
    src: Path, dump: Path, skip_short: bool, min_samples: int, log: Callable[[str], None]
) -> None:
    """Copy the data dir into the dump dir with ``utt2num_samples``; utterances too short
    for one frame are an error, or with ``skip_short`` left out and listed."""
    samples = expected_samples(src, log)
    short = {u: n for u, n in samples.items() if n < min_samples}
    if short and not skip_short:
        shown = ", ".join(f"{u!r} ({n} samples)" for u, n in sorted(short.items())[:5])
        raise DumpError(
            f"{len(short)} utterance(s) of {src} are shorter than one frame "
            f"({min_samples} samples): {shown}; remove them or pass --skip-short"
        )
    keep = sorted(set(samples) - set(short))
    if not keep:
        raise DumpError(f"{src}: every utterance is shorter than {min_samples} samples")
    subset_data_dir(src, dump, utterances=keep)
    for name in _NOT_INPUTS:
        (dump / name).unlink(missing_ok=True)
    write_kv(dump / "utt2num_samples", {k: str(samples[k]) for k in keep})
    if short:
        write_kv(dump / "skipped_utts", {k: str(v) for k, v in short.items()})
        log(f"left out {len(short)} utterance(s) shorter than {min_samples} samples "
            f"(listed in {dump}/skipped_utts)")  # fmt: skip


def _write_job_spec(
    dump: Path, opts: DumpOptions, min_samples: int, log: Callable[[str], None]
) -> tuple[Path, int]:
    """Split the dump dir into parts and write ``data/jobs.json``; returns (its path, nj)."""
    out = dump / "data"
    utts = read_kv(dump / "utt2spk")
    nj = min(opts.nj, len(utts))
    if nj < opts.nj:
        log(f"only {len(utts)} utterances: using {nj} jobs instead of {opts.nj}")
    spec_file = out / "jobs.json"
    if spec_file.is_file() and json.loads(spec_file.read_text()).get("nj") != nj:
        log(f"{dump}: the number of jobs changed, redoing the unmerged parts")
        shutil.rmtree(out)
    split_data_dir(dump, nj, per_utt=True)  # deterministic: the same parts on every run
    out.mkdir(exist_ok=True)
    spec = {"options": asdict(opts), "split": str(dump / f"split{nj}utt"), "out": str(out),
            "nj": nj, "min_samples": min_samples}  # fmt: skip
    write_json_atomic(spec_file, spec)
    return spec_file, nj


def _run_and_verify(
    dump: Path,
    opts: DumpOptions,
    spec_file: Path,
    nj: int,
    samples: dict[str, int],
    frames_of: Callable[[int], int],
    log: Callable[[str], None],
) -> tuple[dict[str, str], dict[str, int], int, list[int]]:
    """Run the unfinished jobs, verify every part, redo the damaged ones once; returns the
    merged scp entries, frames per utterance, the feature dimension and the jobs run."""
    out, split = dump / "data", dump / f"split{nj}utt"
    jobs_run: list[int] = []
    for attempt in (1, 2):
        todo = [n for n in range(1, nj + 1) if not (out / f"done.{n}").is_file()]
        if todo:
            jobs_run += todo
            log(
                f"running {len(todo)} of {nj} {opts.feat_type} jobs with {opts.cmd} "
                f"(logs: {dump}/log/dump.*.log)"
            )
            cmd = launch_command(opts, spec_file, dump / "log", nj)
            rc = subprocess.run(cmd, check=False, preexec_fn=_die_with_parent).returncode
            failed = [n for n in range(1, nj + 1) if not (out / f"done.{n}").is_file()]
            if rc != 0 or failed:
                raise DumpError(
                    f"{len(failed)} / {nj} dump jobs failed ({failed[:10]}), see "
                    f"{dump}/log/dump.*.log; rerun to redo only those"
                )
        bad = []
        merged: dict[str, str] = {}
        frames: dict[str, int] = {}
        dims: set[int] = set()
        for n in range(1, nj + 1):
            try:
                e, f, d = _verify_job(n, out, split / str(n), samples, frames_of)
            except DumpError as err:
                (out / f"done.{n}").unlink(missing_ok=True)  # redone now or by the next run
                if attempt == 2:
                    raise
                log(f"{err}; redoing job {n}")
                bad.append(n)
                continue
            for utt in e:
                if utt in merged:
                    raise DumpError(f"utterance {utt!r} written by two jobs")
            merged.update(e)
            frames.update(f)
            dims.add(d)
        if not bad:
            break
    utts = read_kv(dump / "utt2spk")
    if set(merged) != set(utts):
        raise DumpError(f"{len(set(utts) - set(merged))} utterances missing from the dump")
    if len(dims) != 1:
        raise DumpError(f"feature dimensions differ between jobs: {sorted(dims)}")
    return merged, frames, dims.pop(), jobs_run


Stats = np.ndarray | dict[str, np.ndarray]


def _cmvn_stats(
    dump: Path, opts: DumpOptions, merged: dict[str, str], log: Callable[[str], None]
) -> Stats | None:
    """Given, global or per-speaker cmvn stats of the dumped features, written as
    ``cmvn.*`` (or ``applied_cmvn.*`` with ``apply_cmvn``)."""
    for name in ("cmvn.ark", "cmvn.scp", "applied_cmvn.ark", "applied_cmvn.scp"):
        (dump / name).unlink(missing_ok=True)

    def all_feats():
        for utt in sorted(merged):
            yield utt, kaldiio.load_mat(merged[utt])

    stats: Stats | None = None
    if opts.cmvn_stats:
        stats = cmvn_lib.read_stats(opts.cmvn_stats)
    elif opts.cmvn == "global":
        log("computing global cmvn stats")
        stats = cmvn_lib.global_stats(m for _, m in all_feats())
    elif opts.cmvn == "speaker":
        log("computing per-speaker cmvn stats")
        stats = cmvn_lib.speaker_stats(all_feats(), read_kv(dump / "utt2spk"))
    prefix = _cmvn_prefix(opts)
    if isinstance(stats, np.ndarray):
        cmvn_lib.write_global_stats(dump / f"{prefix}.ark", stats)
    elif stats is not None:
        cmvn_lib.write_speaker_stats(dump / f"{prefix}.ark", dump / f"{prefix}.scp", stats)
    return stats


def _cmvn_prefix(opts: DumpOptions) -> str:
    return "applied_cmvn" if opts.apply_cmvn else "cmvn"


def _post_process(
    out: Path, nj: int, merged: dict[str, str], stats: Stats | None, opts: DumpOptions
) -> dict[str, str]:
    """Rewrite every part normalised (``apply_cmvn``) and/or as float16, resumably (marker
    ``done_post.<n>``); returns the merged scp entries of the rewritten parts."""
    u2s = read_kv(out.parent / "utt2spk")
    for n in range(1, nj + 1):
        marker = out / f"done_post.{n}"
        if marker.is_file():
            continue
        wspec = WSpecifier(out / f"post.{n}.ark", out / f"post.{n}.scp")
        float16 = opts.dtype == "float16"
        with matrix_writer(wspec, compression_method=opts.compress, float16=float16) as w:
            for utt in read_kv(out / f"feats.{n}.scp"):
                mat = kaldiio.load_mat(merged[utt])
                if opts.apply_cmvn:
                    assert stats is not None
                    mat = cmvn_lib.apply_cmvn(
                        mat, cmvn_lib.stats_for(stats, utt, u2s), opts.norm_vars
                    )
                w.write(utt, mat)
        write_text_atomic(marker, "done\n")
    rewritten: dict[str, str] = {}
    for n in range(1, nj + 1):
        rewritten.update(read_kv(out / f"post.{n}.scp"))
    return rewritten


def _finish(
    dump: Path,
    opts: DumpOptions,
    stamp: dict[str, Any],
    merged: dict[str, str],
    frames: dict[str, int],
    dim: int,
    stats: Stats | None,
    jobs_run: list[int],
    log: Callable[[str], None],
) -> DumpResult:
    """Write the data-dir tables and ``dump_info.json``, then ``feats.scp`` (last: its
    presence means the dump is complete) and ``.complete``."""
    skipped = _skipped(dump)
    prefix = _cmvn_prefix(opts)
    write_kv(dump / "utt2num_frames", {k: str(v) for k, v in frames.items()})
    write_text_atomic(dump / "feat_dim", f"{dim}\n")
    write_text_atomic(dump / "frame_shift", "0.01\n")
    write_text_atomic(dump / "feats_type", "extracted\n")
    info = {
        "num_utterances": len(merged),
        "num_frames": int(sum(frames.values())),
        "feat_dim": dim,
        "feat_type": opts.feat_type,
        "options": {k: v for k, v in asdict(opts).items() if k != "cmd"},
        "cmvn_file": f"{prefix}.ark" if stats is not None else None,
        "skipped_utterances": len(skipped),
    }
    write_json_atomic(dump / "dump_info.json", info)
    write_kv(dump / "feats.scp", merged)
    validate_data_dir(dump, no_text=True)
    write_text_atomic(dump / ".complete", _digest(stamp) + "\n")
    log(
        f"{dump}/feats.scp: {len(merged)} utterances, {info['num_frames']} frames of dim {dim}"
        + (f"; {prefix}.ark ({opts.cmvn})" if stats is not None else "")
        + (f"; {len(skipped)} too short left out" if skipped else "")
    )
    return DumpResult(dump, len(merged), info["num_frames"], dim, jobs_run, skipped)


def _write_stamp(dump: Path, stamp: dict[str, Any], audio: dict[str, Any]) -> None:
    write_json_atomic(dump / STAMP, {"tool": "pase-dump-feats", "stamp": stamp, "audio": audio})


def _job_main(argv: list[str]) -> int:
    # python -m pase.features.dump --spec <jobs.json> | --spec-hex <hex> --job <n>
    if len(argv) != 4 or argv[0] not in ("--spec", "--spec-hex") or argv[2] != "--job":
        print("usage: python -m pase.features.dump --spec <jobs.json> --job <n>", file=sys.stderr)
        return 2
    spec = argv[1] if argv[0] == "--spec" else bytes.fromhex(argv[1]).decode()
    return run_job(spec, int(argv[3]))


if __name__ == "__main__":
    sys.exit(_job_main(sys.argv[1:]))
