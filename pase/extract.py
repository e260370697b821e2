"""Feature extraction with a frozen encoder: loading, device choice, long-audio chunking,
streaming.

``extract_features`` is what dumping scripts and downstream recipes call for one waveform;
it returns Kaldi-style ``(T, C)`` float32 matrices at 100 frames/s. ``write_stream_features``
encodes raw PCM read from a stream as it arrives (``pase-extract --stream``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from pase.io.atomic import atomic_open
from pase.io.tables import WSpecifier, check_outputs, matrix_writer
from pase.models.frontend import WaveFe, apply_mode, wf_builder
from pase.models.streaming import StreamingEncoder

__all__ = [
    "PCM_FORMATS",
    "encoder_function",
    "extract_features",
    "load_encoder",
    "read_pcm",
    "resolve_device",
    "stream_features",
    "write_stream_features",
]

#: raw PCM sample formats: numpy dtype and the scale to [-1, 1] (s16le as soundfile reads
#: a 16-bit WAV: x / 32768)
PCM_FORMATS: dict[str, tuple[str, float]] = {"s16le": ("<i2", 1.0 / 32768), "f32le": ("<f4", 1.0)}


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to torch."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def load_encoder(
    cfg: str | os.PathLike | dict[str, Any] = "PASE+",
    ckpt: str | os.PathLike | None = None,
    device: str | torch.device | None = "cpu",
    verbose: bool = False,
    seed: int = 0,
) -> WaveFe:
    """Build the encoder of ``cfg`` ("PASE", "PASE+", a ``.cfg`` path or a dict), load
    ``ckpt`` (original or ours) and return it in eval mode on ``device``.

    Without ``ckpt`` the weights are random but drawn from ``seed`` (without touching the
    global RNG), so parallel jobs and separate runs get the same encoder.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = wf_builder(cfg)
    if ckpt is not None:
        model.load_pretrained(ckpt, load_last=True, verbose=verbose)
    return model.to(resolve_device(device)).eval()


@torch.no_grad()
def extract_features(
    model: WaveFe,
    wav: np.ndarray | torch.Tensor,
    *,
    mode: str | None = None,
    chunk_seconds: float | None = 20.0,
    peak_normalize: bool = False,
) -> np.ndarray:
    """Encode one waveform.

    Args:
        model: encoder in eval mode.
        wav: ``(L,)`` samples at the model's rate (16 kHz).
        mode: None or an original post-processing mode ("avg_norm", ...).
        chunk_seconds: encode in pieces of this many seconds with constant memory (same
            output as one pass; the features themselves take 1 KB per frame); None encodes
            in one pass.
        peak_normalize: divide by max |x| first (what the original downstream scripts did).

    Returns:
        ``(T, C)`` float32 features, ``T = model.num_frames(L)``.
    """
    x = torch.as_tensor(wav, dtype=torch.float32)
    if x.dim() != 1:
        raise ValueError(f"expected a 1-D waveform (L,), got shape {tuple(x.shape)}")
    if peak_normalize:
        peak = x.abs().max()
        if peak > 0:
            x = x / peak
    device = next(model.parameters()).device
    x = x.to(device).view(1, 1, -1)
    if chunk_seconds is None:
        return model(x, mode=mode)[0].t().contiguous().float().cpu().numpy()
    # pieces go straight into one time-major array: no concatenated copies of the features
    frames = max(1, int(chunk_seconds * model.sr / model.hop))
    out = np.empty((model.num_frames(x.shape[-1]), model.emb_dim), dtype=np.float32)
    for start, piece in model.iter_chunks(x, chunk_frames=frames):
        out[start : start + piece.shape[-1]] = piece[0].t().float().cpu().numpy()
    if mode is not None:
        out = apply_mode(torch.from_numpy(out).t().unsqueeze(0), mode)[0].t().contiguous().numpy()
    return out


def encoder_function(
    model: WaveFe,
    *,
    mode: str | None = None,
    chunk_seconds: float | None = 20.0,
    peak_normalize: bool = False,
) -> Callable[[np.ndarray], np.ndarray]:
    """``wav (L,) -> (T, C)``: :func:`extract_features` with these options fixed (what the
    feature-table writers take)."""

    def encode(wav: np.ndarray) -> np.ndarray:
        return extract_features(
            model, wav, mode=mode, chunk_seconds=chunk_seconds, peak_normalize=peak_normalize
        )

    return encode


# --------------------------------------------------------------------------- streaming
def read_pcm(
    stream: BinaryIO, fmt: str = "s16le", max_samples: int = 32000
) -> Iterator[np.ndarray]:
    """Samples of headerless mono PCM read from ``stream`` as they arrive.

    Each read returns what is available (``read1``: one read of the pipe or file), at most
    ``max_samples`` samples, so a slow producer (a microphone, a pipe) is passed on at once,
    and a file in pieces of ``max_samples`` (2 s: 0.1 s pieces made a 1 h file 6x slower).

    Args:
        stream: binary file object (``sys.stdin.buffer``, an open file or FIFO).
        fmt: a key of :data:`PCM_FORMATS` (``s16le``: 16-bit signed little-endian,
            ``f32le``: 32-bit float little-endian).
        max_samples: largest piece yielded, samples.

    Yields:
        ``(n,)`` float32 pieces, ``n >= 1``.

    Raises:
        ValueError: an unknown format, or the stream ends inside a sample.
    """
    if fmt not in PCM_FORMATS:
        raise ValueError(f"PCM format {fmt!r} unknown; use one of {sorted(PCM_FORMATS)}")
    dtype, scale = PCM_FORMATS[fmt]
    width = np.dtype(dtype).itemsize
    read = getattr(stream, "read1", stream.read)
    rest = b""
    while True:
        data = read(max_samples * width)
        if not data:
            break
        data = rest + data
        n = len(data) // width * width
        rest = data[n:]
        if n:
            x = np.frombuffer(data[:n], dtype=dtype).astype(np.float32)
            yield x * np.float32(scale) if scale != 1.0 else x
    if rest:
        raise ValueError(
            f"the {fmt} stream ends inside a sample ({len(rest)} trailing bytes; "
            f"{width} bytes per sample)"
        )


def stream_features(
    model: WaveFe, pieces: Iterable[np.ndarray | torch.Tensor]
) -> Iterator[np.ndarray]:
    """Encode one signal given in pieces, with :class:`~pase.models.streaming.
    StreamingEncoder`: after each piece the frames it completed, at the end the last ones.

    Yields:
        ``(n, C)`` float32 time-major frames (``n`` may be 0); together they are
        ``extract_features(model, concatenated pieces)`` (to float rounding).

    Raises:
        ValueError: the whole signal is shorter than ``model.min_input_samples``, or a
            piece is not finite.
    """
    stream = StreamingEncoder(model)
    for piece in pieces:
        yield stream.push(piece).t().float().cpu().numpy()
    yield stream.flush().t().float().cpu().numpy()


def write_stream_features(
    model: WaveFe,
    source: BinaryIO,
    wspec: WSpecifier,
    utt_id: str,
    *,
    fmt: str = "s16le",
    segment_frames: int | None = None,
    compression_method: int | None = None,
    utt2num_frames: Path | None = None,
    protect: Iterable[Path] = (),
) -> dict[str, int]:
    """Encode raw PCM from ``source`` as it arrives into the Kaldi table ``wspec``.

    Without ``segment_frames``: one matrix ``utt_id`` of every frame, written at the end of
    the stream (a Kaldi matrix states its row count first); the encoder's memory is constant,
    the frames take 1 KB each (PASE+). With ``segment_frames``: a matrix of that many frames
    as soon as they are ready, keyed ``<utt_id>-<first frame, 7 digits>``, the last one
    shorter; on standard output (``ark:-``) each is flushed at once.

    Returns:
        frames per written key.

    Raises:
        ValueError: a bad option, the stream is too short for one frame or ends inside a
            sample.
        OutputError: an output that would overwrite an input (``protect``).
    """
    if segment_frames is not None and segment_frames < 1:
        raise ValueError(f"segment_frames must be >= 1, got {segment_frames}")
    if not utt_id or any(c.isspace() for c in utt_id):
        raise ValueError(f"utterance id {utt_id!r} must be a non-empty word without spaces")
    check_outputs({"ark": wspec.ark, "scp": wspec.scp, "utt2num_frames": utt2num_frames}, protect)
    written: dict[str, int] = {}
    with matrix_writer(wspec, compression_method=compression_method) as w:
        pending: list[np.ndarray] = []
        held = 0
        done = 0

        def emit(frames: np.ndarray) -> None:
            nonlocal done
            key = utt_id if segment_frames is None else f"{utt_id}-{done:07d}"
            w.write(key, frames)
            written[key] = int(frames.shape[0])
            done += frames.shape[0]
            if wspec.ark is None:
                sys.stdout.buffer.flush()

        for frames in stream_features(model, read_pcm(source, fmt)):
            if frames.shape[0] == 0:
                continue
            pending.append(frames)
            held += frames.shape[0]
            while segment_frames is not None and held >= segment_frames:
                block = np.concatenate(pending)
                emit(block[:segment_frames])
                pending, held = [block[segment_frames:]], held - segment_frames
        if held:
            emit(np.concatenate(pending))
    if utt2num_frames is not None:
        with atomic_open(utt2num_frames, "w", encoding="utf-8") as u:
            u.writelines(f"{k} {v}\n" for k, v in written.items())
    return written
