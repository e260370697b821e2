"""Check every audio item before training: missing, empty, unreadable, truncated, other rates.

:func:`validate_items` reads headers only (plus the last few frames of compressed formats),
fills in ``num_samples`` and either raises :class:`AudioValidationError` naming every bad
utterance and its path, or (``skip_bad=True``) drops and reports them.

Truncation: libsndfile silently shortens a WAV / NIST file whose data ends early, so for
those the sample count declared in the header is compared with what the file holds; for
other formats (FLAC, OGG, ...) the last frames are decoded.
"""

from __future__ import annotations

import logging
import os
import re
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import soundfile as sf

from pase.data.items import AudioItem
from pase.io.audio import SAMPLE_RATE, AudioError, audio_info, is_pipe

log = logging.getLogger(__name__)

_TAIL_FRAMES = 4096


class AudioValidationError(ValueError):
    """Some items are unusable; ``bad`` lists them."""

    def __init__(self, bad: Sequence[BadItem], where: str = "") -> None:
        self.bad = list(bad)
        head = f"{where}: " if where else ""
        lines = [f"  {b.item.describe()}: {b.reason}" for b in self.bad[:20]]
        more = f"\n  ... and {len(self.bad) - 20} more" if len(self.bad) > 20 else ""
        super().__init__(
            f"{head}{len(self.bad)} unusable audio item(s) (fix them, or skip them "
            f"explicitly with --skip_bad_audio):\n" + "\n".join(lines) + more
        )


@dataclass(frozen=True)
class BadItem:
    """An unusable item and why."""

    item: AudioItem
    reason: str


@dataclass
class ValidationReport:
    """Usable items (with ``num_samples`` set) and the bad ones."""

    good: list[AudioItem] = field(default_factory=list)
    bad: list[BadItem] = field(default_factory=list)


def _wav_declared_frames(path: str) -> int | None:
    """Frames declared by a RIFF/WAVE header (None if not a plain RIFF WAV or streamed)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            ch = f.read(8)
            if len(ch) < 8:
                return None
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size)
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
                if size % 2:
                    f.seek(1, os.SEEK_CUR)
            elif cid == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                f.seek(size + (size % 2), os.SEEK_CUR)


def _nist_declared_frames(path: str) -> int | None:
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head.startswith(b"NIST_1A"):
        return None
    m = re.search(rb"sample_count\s+-i\s+(\d+)", head)
    return int(m.group(1)) if m else None


def _check_file(path: str) -> tuple[int, str | None]:
    """(frames, problem) of one plain file at 16 kHz (frames at its own rate)."""
    if not os.path.exists(path):
        return 0, "file does not exist"
    if os.path.getsize(path) == 0:
        return 0, "empty file (0 bytes)"
    try:
        info = sf.info(path)
    except (RuntimeError, sf.LibsndfileError) as e:
        return 0, f"unreadable audio ({e})"
    if info.samplerate != SAMPLE_RATE:
        return info.frames, (
            f"sample rate is {info.samplerate} Hz, expected {SAMPLE_RATE} Hz "
            f"(resample, e.g. 'sox in.wav -r {SAMPLE_RATE} out.wav')"
        )
    if info.frames == 0:
        return 0, "no samples"
    declared = None
    if info.format == "WAV":
        declared = _wav_declared_frames(path)
    elif info.format == "NIST":
        declared = _nist_declared_frames(path)
    if declared is not None:
        if declared > info.frames:
            return info.frames, (
                f"truncated: header declares {declared} samples, file holds {info.frames}"
            )
        return info.frames, None
    try:
        with sf.SoundFile(path) as s:
            s.seek(max(0, s.frames - _TAIL_FRAMES))
            want = s.frames - s.tell()
            got = s.read(want, dtype="float32").shape[0]
        if got < want:
            return info.frames, f"truncated: header declares {info.frames} samples, decoded fewer"
    except (RuntimeError, sf.LibsndfileError) as e:
        return info.frames, f"truncated or corrupt (decoding the end failed: {e})"
    return info.frames, None


def _check_source(source: str, utt: str) -> tuple[int, str | None]:
    if not is_pipe(source):
        return _check_file(source)
    try:
        info = audio_info(source, utt=utt)
    except AudioError as e:
        return 0, str(e)
    if info.sample_rate != SAMPLE_RATE:
        return info.num_samples, f"sample rate is {info.sample_rate} Hz, expected {SAMPLE_RATE} Hz"
    if info.num_samples == 0:
        return 0, "no samples"
    return info.num_samples, None


def _item_result(item: AudioItem, frames: int, problem: str | None) -> tuple[int, str | None]:
    if problem is not None:
        return 0, problem
    if not item.is_segment:
        return frames, None
    b = round((item.start or 0.0) * SAMPLE_RATE)
    e = frames if item.end is None or item.end <= 0 else round(item.end * SAMPLE_RATE)
    if b < 0 or e <= b or b >= frames or e > frames + round(0.01 * SAMPLE_RATE):
        return 0, (
            f"segment [{item.start}, {item.end}] s lies outside the recording "
            f"({frames / SAMPLE_RATE:.3f} s)"
        )
    return min(e, frames) - b, None


def validate_items(
    items: Sequence[AudioItem],
    *,
    skip_bad: bool = False,
    num_workers: int = 4,
    where: str = "",
) -> ValidationReport:
    """Check every item (each recording once); return the usable items with their lengths.

    Raises:
        AudioValidationError: some items are bad and ``skip_bad`` is False (all of them are
            listed, utterance id and path).
    """
    sources = sorted({it.source for it in items})
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        firsts = {it.source: it.utt_id for it in reversed(items)}
        checked = dict(
            zip(sources, pool.map(lambda s: _check_source(s, firsts[s]), sources), strict=True)
        )
    report = ValidationReport()
    for it in items:
        n, problem = _item_result(it, *checked[it.source])
        if problem is None:
            report.good.append(replace(it, num_samples=n))
        else:
            report.bad.append(BadItem(it, problem))
    if report.bad:
        if not skip_bad:
            raise AudioValidationError(report.bad, where)
        for b in report.bad:
            log.warning("skipping %s: %s", b.item.describe(), b.reason)
    return report
