"""``pase-extract``: encode audio with a PASE/PASE+ encoder into a Kaldi ark/scp pair.

Examples::

    pase-extract --cfg PASE+ --ckpt FE_e199.ckpt data/test ark,scp:feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt wav.scp ark,scp:/abs/feats.ark,feats.scp
    pase-extract --ckpt FE_e199.ckpt files.lst ark,scp:feats.ark,feats.scp   # one path per line

``<input>`` is a Kaldi data dir (``wav.scp``, optional ``segments``), a ``wav.scp`` file
(``<utt> <path or cmd |>``) or a list of audio files (one path per line; the utterance id is
the file name without extension). Features are ``(T, C)`` float32 matrices at 100 frames/s.
The ark and scp are written under temporary names and renamed when every utterance is done,
so a crash never leaves a partial scp.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import torch

from pase.extract import extract_features, load_encoder
from pase.io.atomic import atomic_open
from pase.io.audio import read_audio
from pase.io.datadir import DataDir, Utterance, read_kv

MODES = ("avg_norm", "avg_concat", "avg_norm_concat")


def read_input(spec: str) -> list[Utterance]:
    """Utterances of a data dir, a ``wav.scp`` or a file list (see module docstring)."""
    path = Path(spec)
    if path.is_dir():
        return DataDir(path).utterances()
    if not path.is_file():
        raise ValueError(f"{spec}: no such data dir or file")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{spec}: empty")
    if len(lines[0].split()) == 1:  # a list of audio files
        utts: dict[str, Utterance] = {}
        for n, line in enumerate(lines, 1):
            uid = Path(line).stem
            if uid in utts:
                raise ValueError(f"{spec}:{n}: utterance id {uid!r} (from {line}) is repeated")
            utts[uid] = Utterance(uid, line)
        return list(utts.values())
    return [Utterance(k, v) for k, v in read_kv(path).items()]


def parse_wspecifier(spec: str) -> tuple[Path, Path | None]:
    """``ark,scp:A,S`` -> (A, S); ``ark:A`` -> (A, None)."""
    try:
        kinds, paths = spec.split(":", 1)
    except ValueError:
        raise ValueError(f"bad wspecifier {spec!r}; use ark,scp:feats.ark,feats.scp") from None
    kinds_l = [k for k in kinds.split(",") if k not in ("t", "b", "f", "nf", "p", "o")]
    files = paths.split(",")
    if kinds_l == ["ark", "scp"] and len(files) == 2:
        return Path(files[0]), Path(files[1])
    if kinds_l == ["ark"] and len(files) == 1:
        return Path(files[0]), None
    raise ValueError(f"bad wspecifier {spec!r}; use ark,scp:feats.ark,feats.scp or ark:feats.ark")


def write_features(
    utterances: list[Utterance],
    ark: Path,
    scp: Path | None,
    encode,
    compression_method: int | None = None,
    utt2num_frames: Path | None = None,
    log=print,
) -> dict[str, int]:
    """Encode every utterance (``encode(wav) -> (T, C)``) into ``ark`` (+ ``scp``) atomically.

    Returns utterance id -> frames. The ark is written to a temporary file and renamed at the
    end; the scp (and utt2num_frames) likewise, pointing at the final ark name.
    """
    seen: set[str] = set()
    frames: dict[str, int] = {}
    ark.parent.mkdir(parents=True, exist_ok=True)
    ark_ref = str(ark)
    start = time.time()
    audio_s = 0.0
    with atomic_open(ark, "wb") as f:
        entries = []
        for i, utt in enumerate(utterances, 1):
            if utt.utt_id in seen:
                raise ValueError(f"utterance {utt.utt_id!r} appears twice in the input")
            seen.add(utt.utt_id)
            wav = read_audio(utt.source, utt=utt.utt_id, start=utt.start, end=utt.end)
            feats = encode(wav)
            if not np.isfinite(feats).all():
                raise ValueError(f"utterance {utt.utt_id!r}: encoder produced NaN/Inf")
            offset = f.tell() + len(utt.utt_id.encode()) + 1
            kaldiio.save_ark(f, {utt.utt_id: feats}, compression_method=compression_method)
            entries.append(f"{utt.utt_id} {ark_ref}:{offset}\n")
            frames[utt.utt_id] = int(feats.shape[0])
            audio_s += wav.shape[0] / 16000
            if i % 100 == 0:
                log(f"{i}/{len(utterances)} utterances, RTF {(time.time() - start) / audio_s:.3f}")
        if scp is not None:
            with atomic_open(scp, "w", encoding="utf-8") as s:
                s.writelines(entries)
    if utt2num_frames is not None:
        with atomic_open(utt2num_frames, "w", encoding="utf-8") as u:
            u.writelines(f"{k} {v}\n" for k, v in frames.items())
    return frames


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pase-extract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="Kaldi data dir, wav.scp, or list of audio files")
    p.add_argument("wspecifier", help="ark,scp:feats.ark,feats.scp")
    p.add_argument("--cfg", default="PASE+", help="frontend config: PASE, PASE+ or a .cfg path")
    p.add_argument(
        "--ckpt", help="encoder checkpoint (e.g. FE_e199.ckpt); seeded random weights if absent"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights without --ckpt")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--mode", choices=MODES, help="original post-processing mode")
    p.add_argument("--chunk-seconds", type=float, default=30.0, help="long-audio piece length")
    p.add_argument("--peak-norm", action="store_true", help="divide each waveform by max |x|")
    p.add_argument("--compression-method", type=int, help="Kaldi compression (e.g. 2)")
    p.add_argument("--utt2num-frames", type=Path, help="also write utt2num_frames here")
    p.add_argument("--num-threads", type=int, help="torch CPU threads")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    try:
        ark, scp = parse_wspecifier(args.wspecifier)
        utts = read_input(args.input)
        if args.ckpt is None:
            print(
                f"pase-extract: WARNING: no --ckpt: random encoder weights (seed {args.seed})",
                file=sys.stderr,
            )
        model = load_encoder(args.cfg, args.ckpt, args.device, seed=args.seed)

        def encode(wav: np.ndarray) -> np.ndarray:
            return extract_features(
                model,
                wav,
                mode=args.mode,
                chunk_seconds=args.chunk_seconds,
                peak_normalize=args.peak_norm,
            )

        frames = write_features(
            utts,
            ark,
            scp,
            encode,
            args.compression_method,
            args.utt2num_frames,
            log=lambda m: print(f"pase-extract: {m}", file=sys.stderr),
        )
    except (ValueError, OSError) as e:
        print(f"pase-extract: error: {e}", file=sys.stderr)
        return 1
    print(
        f"pase-extract: wrote {len(frames)} utterances, {sum(frames.values())} frames to {ark}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
