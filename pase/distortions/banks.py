"""Banks of 1-D signals used by the distortions: impulse responses, FIR filters, noises, speech.

Files are ``.wav`` / ``.flac`` (read with soundfile; 16 kHz required, first channel used) or
``.npy`` (``np.load(..., allow_pickle=False)``; a 1-D array, taken to be at 16 kHz). Every file
is checked when the bank is built (exists, readable, right rate, non-empty). A bank whose
samples fit in ``memory_mb`` is loaded into memory at construction (and also checked for
NaN/Inf and all-zero content); a larger bank stays on disk and reads only what each batch needs
(one impulse response, or one chunk-long noise segment, per selected example).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from pase.constants import SAMPLE_RATE
from pase.distortions.options import DistortionConfigError

Tensor = torch.Tensor

_AUDIO_EXT = (".wav", ".flac")


class WaveBank:
    """An indexed set of 1-D float32 signals with known lengths (in samples).

    Args:
        paths: the files.
        key: the config key the files came from (named in every error).
        source: the config name (named in every error).
        max_len: keep only the first ``max_len`` samples of each file (e.g. 24000 for IRs).
        memory_mb: load everything into memory when the (truncated) samples fit in this many
            MiB; otherwise read on demand.
        device: where an in-memory bank is kept (default CPU).
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike],
        *,
        key: str,
        source: str = "<dict>",
        max_len: int | None = None,
        memory_mb: float = 512.0,
        device: torch.device | str | None = None,
    ) -> None:
        self.key = key
        self.source = source
        self.paths = [os.fspath(p) for p in paths]
        self.max_len = max_len
        if not self.paths:
            raise self._error(None, "no files")
        lengths = np.array([self._probe(p) for p in self.paths], dtype=np.int64)
        if max_len is not None:
            lengths = np.minimum(lengths, max_len)
        self.lengths = lengths
        self.in_memory = float(lengths.sum()) * 4 <= memory_mb * 2**20
        self._flat: Tensor | None = None
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])
        if self.in_memory:
            flat = np.empty(int(lengths.sum()), dtype=np.float32)
            for i, p in enumerate(self.paths):
                sig = self._read(p, 0, int(lengths[i]))
                if not np.any(sig):
                    raise self._error(p, "all samples are zero")
                flat[self._offsets[i] : self._offsets[i + 1]] = sig
            self._flat = torch.from_numpy(flat).to(device or "cpu")

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        where = "in memory" if self.in_memory else "on disk"
        return f"WaveBank({self.key}: {len(self)} files, {int(self.lengths.sum())} samples {where})"

    # ------------------------------------------------------------------------------------------
    def _error(self, path: str | None, msg: str) -> DistortionConfigError:
        what = f"{path!r}: " if path is not None else ""
        return DistortionConfigError(
            f"distortions config {self.source!r}, key {self.key!r}: {what}{msg}"
        )

    def _probe(self, path: str) -> int:
        """Length in samples of ``path``, checking that it exists and has the right format."""
        if not os.path.isfile(path):
            raise self._error(path, "file does not exist")
        ext = os.path.splitext(path)[1].lower()
        try:
            if ext == ".npy":
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                n = self._check_array(path, arr).shape[0]
            elif ext in _AUDIO_EXT:
                info = sf.info(path)
                if info.samplerate != SAMPLE_RATE:
                    raise self._error(
                        path, f"sample rate is {info.samplerate} Hz, expected {SAMPLE_RATE} Hz"
                    )
                n = int(info.frames)
            else:
                raise self._error(path, "unsupported file type (use .wav, .flac or .npy)")
        except DistortionConfigError:
            raise
        except (OSError, ValueError, RuntimeError, sf.LibsndfileError) as e:
            raise self._error(path, f"unreadable ({e})") from e
        if n == 0:
            raise self._error(path, "contains no samples")
        return n

    def _check_array(self, path: str, arr: np.ndarray) -> np.ndarray:
        if arr.dtype.kind not in "fiu":
            raise self._error(path, f"expected a numeric array, got dtype {arr.dtype}")
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.reshape(-1)
        if arr.ndim != 1:
            raise self._error(path, f"expected a 1-D array, got shape {arr.shape}")
        return arr

    def _read(self, path: str, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of ``path`` as float32 (checked for NaN/Inf)."""
        try:
            if path.lower().endswith(".npy"):
                arr = self._check_array(path, np.load(path, mmap_mode="r", allow_pickle=False))
                sig = np.array(arr[start:stop], dtype=np.float32)  # a writable copy
            else:
                data, _ = sf.read(path, start=start, stop=stop, dtype="float32", always_2d=True)
                sig = data[:, 0]
        except DistortionConfigError:
            raise
        except (OSError, ValueError, RuntimeError, sf.LibsndfileError) as e:
            raise self._error(path, f"unreadable ({e})") from e
        if not np.isfinite(sig).all():
            raise self._error(path, "contains NaN or Inf samples")
        return sig

    def _item(self, i: int, start: int, stop: int) -> Tensor:
        """Samples ``[start, stop)`` of item ``i`` (clipped to its length), on the bank device."""
        n = int(self.lengths[i])
        start, stop = min(start, n), min(stop, n)
        if self._flat is not None:
            o = int(self._offsets[i])
            return self._flat[o + start : o + stop]
        return torch.from_numpy(np.ascontiguousarray(self._read(self.paths[i], start, stop)))

    # ------------------------------------------------------------------------------------------
    def stack(self, indices: Sequence[int] | Tensor) -> tuple[Tensor, Tensor]:
        """Whole items (truncated to ``max_len``) zero-padded to a common length.

        Returns ``(signals (n, K), lengths (n,))`` with ``K`` the longest selected length.
        """
        idx = [int(i) for i in indices]
        lens = torch.tensor([int(self.lengths[i]) for i in idx], dtype=torch.long)
        k = int(lens.max()) if idx else 0
        out = torch.zeros(len(idx), k, device=self._device)
        for row, i in enumerate(idx):
            out[row, : lens[row]] = self._item(i, 0, int(lens[row]))
        return out, lens

    def segments(
        self, indices: Sequence[int] | Tensor, starts: Sequence[int] | Tensor, length: int
    ) -> Tensor:
        """``length``-sample segments ``[start, start + length)`` of the selected items,
        zero-padded where an item ends early: ``(n, length)``."""
        idx = [int(i) for i in indices]
        out = torch.zeros(len(idx), length, device=self._device)
        for row, (i, s) in enumerate(zip(idx, starts)):
            seg = self._item(i, int(s), int(s) + length)
            out[row, : seg.shape[0]] = seg
        return out

    @property
    def _device(self) -> torch.device:
        return self._flat.device if self._flat is not None else torch.device("cpu")


# --------------------------------------------------------------------------------------------
# file lists
# --------------------------------------------------------------------------------------------
def _fail(source: str, key: str, msg: str) -> DistortionConfigError:
    return DistortionConfigError(f"distortions config {source!r}, key {key!r}: {msg}")


def _resolve(path: str, base_dir: str | os.PathLike | None) -> str:
    p = Path(os.path.expanduser(path))
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return os.fspath(p)


def root_files(
    root: str,
    names: Sequence[str],
    fmt: str,
    *,
    key: str,
    source: str = "<dict>",
    base_dir: str | os.PathLike | None = None,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Files of a ``*_data_root`` + ``*_irfiles`` pair: ``root/name`` for each name, or, for an
    empty list, every ``*.{fmt}`` in ``root`` (sorted) minus the paths in ``exclude``."""
    root_path = _resolve(root, base_dir)
    if names:
        return [os.path.join(root_path, n) for n in names]
    root_key = key.replace("_irfiles", "_data_root")
    if not os.path.isdir(root_path):
        raise _fail(source, root_key, f"directory {root_path!r} does not exist")
    skip = {os.path.realpath(p) for p in exclude}
    found = [
        p
        for p in sorted(glob.glob(os.path.join(glob.escape(root_path), f"*.{fmt}")))
        if os.path.realpath(p) not in skip
    ]
    if not found:
        raise _fail(source, key, f"is empty and there are no *.{fmt} files in {root_path!r}")
    return found


def dir_files(
    dirs: Sequence[str],
    *,
    key: str,
    source: str = "<dict>",
    base_dir: str | os.PathLike | None = None,
) -> list[str]:
    """Every ``.wav`` / ``.flac`` / ``.npy`` file directly inside each of ``dirs`` (sorted)."""
    out: list[str] = []
    for d in dirs:
        path = _resolve(d, base_dir)
        if not os.path.isdir(path):
            raise _fail(source, key, f"directory {path!r} does not exist")
        found = sorted(
            p
            for ext in ("wav", "flac", "npy")
            for p in glob.glob(os.path.join(glob.escape(path), f"*.{ext}"))
        )
        if not found:
            raise _fail(source, key, f"directory {path!r} has no .wav/.flac/.npy files")
        out.extend(found)
    return out


def list_files(
    list_file: str,
    root: str,
    *,
    key: str,
    source: str = "<dict>",
    base_dir: str | os.PathLike | None = None,
) -> list[str]:
    """Files named in a plain list (one file name per line, relative to ``root``)."""
    path = _resolve(list_file, base_dir)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(source, key, f"cannot read list {path!r} ({e})") from e
    root_path = _resolve(root, base_dir)
    names = [ln.strip() for ln in lines if ln.strip()]
    if not names:
        raise _fail(source, key, f"list {path!r} is empty")
    return [os.path.join(root_path, n) for n in names]
