"""Former shared plumbing of the ``pase-asr-*`` commands: the script skeleton is
:func:`pase.bin.cli.run`, the data-dir helpers live in :mod:`pase.asr.speakers` (re-exported
here for old imports)."""

from __future__ import annotations

from pase.asr.speakers import read_utt2spk, split_by_speaker

__all__ = ["read_utt2spk", "split_by_speaker"]
