"""Parallel, resumable feature dumping to Kaldi ark/scp (``pase-dump-feats``, recipe stage 4).

Layout of ``<dump>`` (ESPnet's ``dump/<feats>/<set>``; a valid Kaldi data dir)::

    wav.scp utt2spk spk2utt text utt2num_samples ...   copied from the source data dir
    feats.scp            merged, sorted; the last file written (its presence = complete)
    utt2num_frames feat_dim frame_shift feats_type dump_info.json
    cmvn.ark [cmvn.scp]  --cmvn global|speaker (stats of these features, not applied), or
    applied_cmvn.ark [applied_cmvn.scp]  the stats applied when --apply-cmvn
    split<N>utt/<1..N>   the job inputs
    data/feats.<n>.{ark,scp} utt2num_frames.<n> done.<n>   job outputs; done.<n> = verified
    log/dump.<n>.log     one log per job (launcher header/footer)

How it runs: the data dir is copied and split into ``nj`` parts by utterance; the launcher
(``--cmd``, e.g. ``utils/run.pl`` or ``utils/slurm.pl --mem 4G``) runs ``JOB=1:nj`` jobs, each
calling ``pase-extract`` (``--feat-type pase``) or ``pase-compute-feats`` (mfcc/fbank) on its
part; a job writes its ark/scp atomically and then its marker ``done.<n>``. A job whose marker
exists does nothing, so a rerun after a crash or ``kill`` redoes only unfinished jobs. Then
every part is verified (each utterance exactly once, frames = the encoder's
``num_frames(samples)`` or Kaldi's frame count, one feature dimension, ark entries readable)
and the scps are merged; ``feats.scp`` is written last and atomically, so an interrupted dump
never leaves a partial ``feats.scp``. A stamp of the source data and options guards the
markers: changed inputs or options restart the dump from scratch.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import kaldiio
import numpy as np

from pase.features import cmvn as cmvn_lib
from pase.io.atomic import atomic_open, write_json_atomic, write_text_atomic
from pase.io.audio import audio_info
from pase.io.datadir import (
    DataDir,
    read_kv,
    split_data_dir,
    subset_data_dir,
    validate_data_dir,
    write_kv,
)

FEAT_TYPES = ("pase", "mfcc", "fbank")
CMVN_TYPES = ("none", "global", "speaker")
_UNSAFE = re.compile(r"[\s\"'$`\\]")


class DumpError(ValueError):
    """A dump that cannot run or did not produce what was expected."""


@dataclass
class DumpOptions:
    """Options of a dump (all of them go into the resume stamp).

    ``pase_*`` options are ``pase-extract``'s; ``kaldi_args`` are extra ``pase-compute-feats``
    options (e.g. ``["--num-ceps", "13", "--deltas", "2"]``).
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
    kaldi_args: list[str] = field(default_factory=list)
    cmvn: str = "none"
    apply_cmvn: bool = False
    norm_vars: bool = False
    cmvn_stats: str | None = None
    dtype: str = "float32"
    compress: int | None = None

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
            raise DumpError(f"--pase-ckpt {self.pase_ckpt}: no such file")
        if self.cmvn_stats and not Path(self.cmvn_stats).is_file():
            raise DumpError(f"--cmvn-stats {self.cmvn_stats}: no such file")

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


def _safe(path: Path | str, what: str) -> str:
    s = str(path)
    if _UNSAFE.search(s):
        raise DumpError(f"{what} {s!r}: paths with spaces, quotes, '$' or '\\' are not supported")
    return s


def _stamp(src: Path, opts: DumpOptions) -> str:
    h = hashlib.sha256()
    for name in ("wav.scp", "segments", "utt2spk"):
        f = src / name
        if f.is_file():
            h.update(name.encode() + b"\0" + f.read_bytes())
    ckpt = Path(opts.pase_ckpt) if opts.pase_ckpt else None
    meta = asdict(opts)
    meta.pop("cmd")  # how jobs are launched does not change the result
    if ckpt is not None:
        st = ckpt.stat()
        meta["pase_ckpt_stat"] = [st.st_size, st.st_mtime_ns]
    h.update(json.dumps(meta, sort_keys=True).encode())
    return h.hexdigest()


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
        # as pase.io.audio.read_audio cuts a segment: [round(b * sr), round(e * sr)) capped
        rec = dd.segments[u.utt_id][0]
        if rec not in rec_len:
            rec_len[rec] = audio_info(u.source, u.utt_id).num_samples
        b = round((u.start or 0.0) * 16000)
        e = rec_len[rec] if u.end is None or u.end <= 0 else min(round(u.end * 16000), rec_len[rec])
        out[u.utt_id] = e - b
    return out


def frame_counter(opts: DumpOptions) -> Callable[[int], int]:
    """``samples -> frames`` of the chosen features."""
    if opts.feat_type == "pase":
        from pase.models.frontend import wf_builder

        return wf_builder(opts.pase_cfg).num_frames
    from pase.bin.compute_feats import build_parser
    from pase.features.kaldi import num_frames

    a = build_parser().parse_args(["--feat-type", opts.feat_type, *opts.kaldi_args, "-", "-"])
    length = int(16000 * a.frame_length_ms / 1000)
    shift = int(16000 * a.frame_shift_ms / 1000)
    return lambda n: num_frames(n, length, shift)


def job_command(opts: DumpOptions, part: Path, out: Path) -> list[str]:
    """Arguments of one job (``JOB`` is replaced by the launcher): the job wrapper of this
    module around ``pase-extract`` / ``pase-compute-feats``."""
    ark, scp = out / "feats.JOB.ark", out / "feats.JOB.scp"
    args = [
        sys.executable,
        "-m",
        "pase.features.dump",
        "--job",
        _safe(out / "done.JOB", "output"),
        opts.feat_type,
    ]
    if opts.feat_type == "pase":
        args += ["--cfg", opts.pase_cfg, "--device", opts.device]
        if opts.pase_ckpt:
            args += ["--ckpt", _safe(Path(opts.pase_ckpt).resolve(), "--pase-ckpt")]
        if opts.mode:
            args += ["--mode", opts.mode]
        args += ["--chunk-seconds", str(opts.chunk_seconds), "--num-threads", str(opts.num_threads)]
        if opts.peak_norm:
            args.append("--peak-norm")
    else:
        args += ["--feat-type", opts.feat_type, *opts.kaldi_args]
    if opts.compress is not None and not opts.post_process:
        args += ["--compression-method", str(opts.compress)]
    args += ["--utt2num-frames", str(out / "utt2num_frames.JOB"), str(part / "JOB")]
    args.append(f"ark,scp:{ark},{scp}")
    for a in args:
        if _UNSAFE.search(a):
            raise DumpError(f"option value {a!r}: spaces, quotes, '$' or '\\' are not supported")
    return args


def run_job(marker: str, feat_type: str, argv: list[str]) -> int:
    """One dump job: skip when ``marker`` exists, else extract and create the marker."""
    m = Path(marker)
    if m.is_file():
        print(f"dump job: {m} exists, nothing to do", file=sys.stderr)
        return 0
    if feat_type == "pase":
        from pase.bin.extract import main as extract
    else:
        from pase.bin.compute_feats import main as extract
    rc = extract(argv)
    if rc == 0:
        write_text_atomic(m, "done\n")
    return rc


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the launcher gets SIGTERM (and stops its jobs) if this process dies, even by
    # SIGKILL, so that a rerun never races with jobs of a killed dump.
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _read_scp_keys(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [ln.split(maxsplit=1)[0] for ln in f if ln.strip()]


def _verify_job(
    n: int, out: Path, part: Path, samples: dict[str, int], frames_of: Callable[[int], int]
) -> tuple[dict[str, str], dict[str, int], int]:
    """Check job ``n``'s outputs; returns (scp entries, frames, dim)."""
    scp, u2nf = out / f"feats.{n}.scp", out / f"utt2num_frames.{n}"
    for f in (scp, u2nf, out / f"feats.{n}.ark"):
        if not f.is_file():
            raise DumpError(f"job {n}: {f} is missing")
    entries = read_kv(scp)
    frames = {k: int(v) for k, v in read_kv(u2nf).items()}
    want = set(read_kv(part / "utt2spk"))
    if set(entries) != want or set(frames) != want:
        missing = sorted(want - set(entries))[:3]
        extra = sorted(set(entries) - want)[:3]
        raise DumpError(
            f"job {n}: {scp} does not hold its utterances (missing {missing}, unexpected {extra})"
        )
    for utt, t in frames.items():
        exp = frames_of(samples[utt])
        if t != exp:
            raise DumpError(
                f"job {n}: utterance {utt!r} has {t} frames, expected {exp} for "
                f"{samples[utt]} samples"
            )
    dims = set()
    for utt in (next(iter(entries)), next(reversed(entries))):
        mat = kaldiio.load_mat(entries[utt])
        if mat.ndim != 2 or mat.shape[0] != frames[utt]:
            raise DumpError(
                f"job {n}: utterance {utt!r}: ark entry has shape {mat.shape}, "
                f"utt2num_frames says {frames[utt]}"
            )
        dims.add(mat.shape[1])
    if len(dims) != 1:
        raise DumpError(f"job {n}: feature dimensions differ within the job: {sorted(dims)}")
    return entries, frames, dims.pop()


def _write_matrix_table(ark: Path, scp: Path, items, opts: DumpOptions) -> None:
    entries = []
    with atomic_open(ark, "wb") as f:
        for utt, mat in items:
            offset = f.tell() + len(utt.encode()) + 1
            if opts.dtype == "float16":
                kaldiio.save_ark(f, {utt: mat.astype(np.float16)}, write_function="numpy")
            else:
                kaldiio.save_ark(f, {utt: mat.astype(np.float32)}, compression_method=opts.compress)
            entries.append(f"{utt} {ark}:{offset}\n")
    with atomic_open(scp, "w", encoding="utf-8") as g:
        g.writelines(entries)


def dump_features(
    data_dir: str | os.PathLike,
    dump_dir: str | os.PathLike,
    opts: DumpOptions,
    *,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> DumpResult:
    """Dump features of ``data_dir`` into ``dump_dir`` (see the module docstring)."""
    opts.check()
    src = Path(data_dir)
    dump = Path(dump_dir).resolve()
    validate_data_dir(src, no_text=True, no_feats=True)
    if dump == src.resolve():
        raise DumpError(f"{dump}: the dump dir must differ from the data dir")
    stamp = _stamp(src, opts)
    stamp_file = dump / ".dump_stamp"
    out = dump / "data"
    if force or not stamp_file.is_file() or stamp_file.read_text().strip() != stamp:
        if dump.exists():
            log(f"{dump}: new inputs or options, starting over")
            for name in ("data", "log", "feats.scp", ".complete"):
                p = dump / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
            for p in dump.glob("split*"):
                shutil.rmtree(p)
        subset_data_dir(src, dump, utterances=read_kv(src / "utt2spk"))
        for name in ("feats.scp", "cmvn.scp", "utt2num_frames", "feat_dim"):
            if (dump / name).exists():
                (dump / name).unlink()
        samples = expected_samples(src, log)
        write_kv(dump / "utt2num_samples", {k: str(v) for k, v in samples.items()})
        write_text_atomic(stamp_file, stamp + "\n")
    elif (dump / ".complete").is_file() and (dump / "feats.scp").is_file():
        info = json.loads((dump / "dump_info.json").read_text())
        log(f"{dump}: already complete ({info['num_utterances']} utterances)")
        return DumpResult(dump, info["num_utterances"], info["num_frames"], info["feat_dim"], [])
    samples = {k: int(v) for k, v in read_kv(dump / "utt2num_samples").items()}
    utts = read_kv(dump / "utt2spk")
    nj = min(opts.nj, len(utts))
    if nj < opts.nj:
        log(f"only {len(utts)} utterances: using {nj} jobs instead of {opts.nj}")
    split = dump / f"split{nj}utt"
    split_data_dir(dump, nj, per_utt=True)  # deterministic: the same parts on every run
    out.mkdir(exist_ok=True)
    frames_of = frame_counter(opts)

    jobs_run: list[int] = []
    for attempt in (1, 2):
        todo = [n for n in range(1, nj + 1) if not (out / f"done.{n}").is_file()]
        if todo:
            jobs_run += todo
            log(
                f"running {len(todo)} of {nj} {opts.feat_type} jobs with {opts.cmd} "
                f"(logs: {dump}/log/dump.*.log)"
            )
            cmd = [
                *shlex.split(opts.cmd),
                f"JOB=1:{nj}",
                str(dump / "log" / "dump.JOB.log"),
                *job_command(opts, split, out),
            ]
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
                if attempt == 2:
                    raise
                log(f"{err}; redoing job {n}")
                (out / f"done.{n}").unlink()
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
    if set(merged) != set(utts):
        raise DumpError(f"{len(set(utts) - set(merged))} utterances missing from the dump")
    if len(dims) != 1:
        raise DumpError(f"feature dimensions differ between jobs: {sorted(dims)}")
    dim = dims.pop()

    # statistics, then optional rewriting (cmvn applied / float16)
    u2s = read_kv(dump / "utt2spk")

    def all_feats():
        for utt in sorted(merged):
            yield utt, kaldiio.load_mat(merged[utt])

    stats: np.ndarray | dict[str, np.ndarray] | None = None
    for name in ("cmvn.ark", "cmvn.scp", "applied_cmvn.ark", "applied_cmvn.scp"):
        if (dump / name).exists():
            (dump / name).unlink()
    if opts.cmvn_stats:
        stats = cmvn_lib.read_stats(opts.cmvn_stats)
    elif opts.cmvn == "global":
        log("computing global cmvn stats")
        stats = cmvn_lib.global_stats(m for _, m in all_feats())
    elif opts.cmvn == "speaker":
        log("computing per-speaker cmvn stats")
        stats = cmvn_lib.speaker_stats(all_feats(), u2s)
    prefix = "applied_cmvn" if opts.apply_cmvn else "cmvn"
    if isinstance(stats, np.ndarray):
        cmvn_lib.write_global_stats(dump / f"{prefix}.ark", stats)
    elif stats is not None:
        cmvn_lib.write_speaker_stats(dump / f"{prefix}.ark", dump / f"{prefix}.scp", stats)
    if opts.post_process:
        for n in range(1, nj + 1):
            marker = out / f"done_post.{n}"
            if marker.is_file():
                continue
            keys = _read_scp_keys(out / f"feats.{n}.scp")

            def items(keys=keys):
                for utt in keys:
                    mat = kaldiio.load_mat(merged[utt])
                    if opts.apply_cmvn:
                        assert stats is not None
                        mat = cmvn_lib.apply_cmvn(
                            mat, cmvn_lib.stats_for(stats, utt, u2s), opts.norm_vars
                        )
                    yield utt, mat

            _write_matrix_table(out / f"post.{n}.ark", out / f"post.{n}.scp", items(), opts)
            write_text_atomic(marker, "done\n")
        merged = {}
        for n in range(1, nj + 1):
            merged.update(read_kv(out / f"post.{n}.scp"))

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
    }
    write_json_atomic(dump / "dump_info.json", info)
    write_kv(dump / "feats.scp", merged)  # last: its presence means the dump is complete
    validate_data_dir(dump, no_text=True)
    write_text_atomic(dump / ".complete", stamp + "\n")
    log(
        f"{dump}/feats.scp: {len(merged)} utterances, {info['num_frames']} frames of dim {dim}"
        + (f"; {prefix}.ark ({opts.cmvn})" if stats is not None else "")
    )
    return DumpResult(dump, len(merged), info["num_frames"], dim, sorted(set(jobs_run)))


def _job_main(argv: list[str]) -> int:
    # python -m pase.features.dump --job <marker> <feat-type> <extractor args...>
    if len(argv) < 3 or argv[0] != "--job":
        print(
            "usage: python -m pase.features.dump --job <marker> <feat-type> <args...>",
            file=sys.stderr,
        )
        return 2
    return run_job(argv[1], argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(_job_main(sys.argv[1:]))
