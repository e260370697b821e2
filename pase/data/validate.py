"""Check every audio item before training: missing, empty, unreadable, truncated, other rates,
NaN/Inf samples, several channels without a channel choice, segments outside the recording.

:func:`validate_items` fills in ``num_samples`` and either raises
:class:`AudioValidationError` naming every bad utterance and its path, or
(``skip_bad=True``) drops and reports them. Each recording is checked once by
:func:`pase.io.audio.check_audio_source`:

- headers are read, and for compressed formats (FLAC, OGG, ...) the last frames decoded;
  libsndfile silently shortens a WAV / NIST file whose data ends early, so for those the
  sample count declared in the header is compared with what the file holds;
- NaN/Inf: float-encoded files (WAV/AIFF/... ``FLOAT``/``DOUBLE``, the only encodings that can
  hold NaN or Inf) are read entirely, and ``cmd |`` sources are run and decoded entirely; so
  the default check (what the trainer runs before step 1) finds every NaN/Inf sample while
  integer PCM and FLAC corpora still cost a header read each;
- ``full=True`` decodes every file entirely (also finds corrupt frames in the middle of a
  compressed file; as slow as reading the corpus once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from pase.constants import segment_samples
from pase.data.items import AudioItem
from pase.io.audio import SAMPLE_RATE, AudioCheck, channel_problem, check_audio_source

log = logging.getLogger(__name__)


class AudioValidationError(ValueError):
    """Some items are unusable; ``bad`` lists them."""

    def __init__(self, bad: Sequence[BadItem], where: str = "") -> None:
        self.bad = list(bad)
        head = f"{where}: " if where else ""
        lines = [f"  {b.item.describe()}: {b.reason}" for b in self.bad[:20]]
        more = f"\n  ... and {len(self.bad) - 20} more" if len(self.bad) > 20 else ""
        super().__init__(
            f"{head}{len(self.bad)} unusable audio item(s) (fix them, or skip them "
            f"explicitly with --skip-bad-audio):\n" + "\n".join(lines) + more
        )


@dataclass(frozen=True)
class BadItem:
    """An unusable item and why."""

    item: AudioItem
    reason: str


@dataclass
class AudioValidationReport:
    """Usable items (with ``num_samples`` set) and the bad ones."""

    good: list[AudioItem] = field(default_factory=list)
    bad: list[BadItem] = field(default_factory=list)


def _item_result(item: AudioItem, check: AudioCheck, min_samples: int) -> tuple[int, str | None]:
    if check.problem is not None:
        return 0, check.problem
    problem = channel_problem(check.channels, item.channel)
    if problem is not None:
        return 0, problem
    frames = check.num_samples
    n = frames
    if item.is_segment:
        b, e = segment_samples(item.start, item.end, frames)
        if e <= b:
            return 0, f"segment [{item.start}, {item.end}] s is empty (end <= start)"
        if b < 0 or b >= frames or e > frames + round(0.01 * SAMPLE_RATE):
            return 0, (
                f"segment [{item.start}, {item.end}] s lies outside the recording "
                f"({frames / SAMPLE_RATE:.3f} s)"
            )
        n = min(e, frames) - b
    if n < min_samples:
        return 0, (
            f"too short: {n} samples ({n / SAMPLE_RATE * 1000:.1f} ms), at least "
            f"{min_samples} needed"
        )
    return n, None


def validate_items(
    items: Sequence[AudioItem],
    *,
    skip_bad: bool = False,
    num_workers: int = 4,
    where: str = "",
    full: bool = False,
    min_samples: int = 1,
) -> AudioValidationReport:
    """Check every item (each recording once); return the usable items with their lengths.

    Args:
        items: the items; ``item.channel`` is the channel choice of each (None: mono only).
        skip_bad: drop (and log) bad items instead of raising.
        num_workers: threads checking recordings.
        where: prefix of the error message (e.g. the data dir).
        full: decode every file entirely (see the module docstring; float files and pipes
            are always read entirely).
        min_samples: shortest usable item in samples (default 1: only empty ones are bad).

    Raises:
        AudioValidationError: some items are bad and ``skip_bad`` is False (all of them are
            listed, utterance id and path).
    """
    sources = sorted({it.source for it in items})
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        firsts = {it.source: it.utt_id for it in reversed(items)}
        checked = dict(
            zip(
                sources,
                pool.map(lambda s: check_audio_source(s, utt=firsts[s], full=full), sources),
                strict=True,
            )
        )
    report = AudioValidationReport()
    for it in items:
        n, problem = _item_result(it, checked[it.source], min_samples)
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
