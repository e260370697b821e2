"""Options shared by several ``pase-*`` commands, defined once: the channel choice for
multi-channel audio, the rerun options (``--force``, ``--verify``), ``--skip-short``, and the
table-writing step of the extraction commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import numpy as np

from pase.io.audio import parse_channel
from pase.io.datadir import Utterance
from pase.io.tables import WSpecifier, input_files, write_features


def channel_type(text: str) -> int | str:
    """argparse ``type`` of ``--channel``: a 0-based index or ``mix``."""
    try:
        return parse_channel(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def add_channel(p: argparse._ActionsContainer, help: str | None = None) -> None:
    """``--channel N|mix`` (default None: every file must be mono)."""
    p.add_argument(
        "--channel",
        type=channel_type,
        default=None,
        help=help
        or "multi-channel audio: 0-based channel to keep, or 'mix' (average); default: mono only",
    )


def add_rerun_options(p: argparse._ActionsContainer, what: str = "recompute") -> None:
    """``--force`` and ``--verify`` of the commands that skip up-to-date outputs."""
    p.add_argument("--force", action="store_true", help=f"{what} even if up to date")
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare audio files by SHA-256 content hash for the up-to-date check (default: "
        "size and modification time)",
    )


def add_skip_short(p: argparse._ActionsContainer) -> None:
    """``--skip-short``: leave out utterances too short for one frame instead of failing."""
    p.add_argument(
        "--skip-short",
        action="store_true",
        help="leave out (and report) utterances too short for one frame instead of failing",
    )


def write_table(
    prog: str,
    args: argparse.Namespace,
    utterances: Sequence[Utterance],
    wspec: WSpecifier,
    encode: Callable[[np.ndarray], np.ndarray],
    min_samples: int,
    what: str = "",
) -> None:
    """The extraction commands' last step: :func:`write_features` with the shared options
    (``input``, ``compression_method``, ``utt2num_frames``, ``skip_short``, ``channel``), then
    a one-line summary on stderr."""
    res = write_features(
        utterances,
        wspec,
        encode,
        compression_method=args.compression_method,
        utt2num_frames=args.utt2num_frames,
        min_samples=min_samples,
        skip_short=args.skip_short,
        protect=input_files(args.input),
        channel=args.channel,
        log=lambda m: print(f"{prog}: {m}", file=sys.stderr),
    )
    print(
        f"{prog}: wrote {len(res.frames)} utterances, {sum(res.frames.values())} frames{what} "
        f"to {wspec.ark or 'standard output'}"
        + (f"; left out {len(res.skipped)} too short" if res.skipped else ""),
        file=sys.stderr,
    )
