"""The ``pase-*`` command-line vocabulary (docs/cli.md) and the script skeleton, defined once.

Naming rule: long options are kebab-case (``--feat-type``); the first long option string of
an argument is its name, every other one an alias. Aliases are

- the old spellings of our own options (:data:`DEPRECATED`, :data:`COMMAND_ALIASES`): accepted,
  not listed with the option in ``--help`` but named at its end;
- in the commands that stand for an original PASE script (:data:`ORIGINAL_SPELLING`), the
  snake_case spelling of every option (``--fe_cfg`` = ``--fe-cfg``) and a few original names:
  listed beside the name.

Shared options (``add_*``) give one concept one flag everywhere; :func:`run` is the skeleton
of every command: parse, call the library, and on a known error print ``<prog>: error: <msg>``
and return 1 (no traceback).
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# light (the standard library only)
from pase.allocator import use_fast_allocator
from pase.io.lock import LockedError

if TYPE_CHECKING:  # the rest of the library is imported when used, after parsing: building a
    # parser (``--help``) imports neither torch nor numpy (tests/test_cli_help_fast.py)
    import numpy as np

    from pase.io.datadir import Utterance
    from pase.io.tables import WSpecifier

#: old spellings of our own options, accepted by every command with the option: alias -> name
DEPRECATED: dict[str, str] = {
    "--cfg": "--fe-cfg",
    "--pase-cfg": "--fe-cfg",
    "--pase-ckpt": "--ckpt",
    "--jobs": "--nj",
    "--threads": "--num-threads",
    "--compression-method": "--compress",
    "--skip-bad": "--skip-bad-audio",
    "--dev-spk": "--dev-spk-list",
    "--test-spk": "--test-spk-list",
    "--data": "--data-dir",
    "--train-data": "--train-data-dir",
    "--dev-data": "--dev-data-dir",
}
#: aliases of one command only: (command, alias) -> (name, "original" or "deprecated")
COMMAND_ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("pase-make-data-cfg", "--val_ratio"): ("--valid-spk-ratio", "original"),
    ("pase-make-data-cfg", "--num_workers"): ("--nj", "deprecated"),  # header-reading threads
    ("pase-asr-results", "--feats"): ("--feat-type", "deprecated"),  # elsewhere: a feats.scp
    ("pase-train", "--hop"): ("--hop-size", "original"),  # make_trainset_statistics' name
}
#: commands that stand for an original PASE script: every option also takes its snake_case
#: spelling (the original's flags are snake_case), e.g. ``--data_root`` for ``--data-root``
ORIGINAL_SPELLING: dict[str, str] = {
    "pase-train": "train.py",
    "pase-make-stats": "make_trainset_statistics.py",
    "pase-make-data-cfg": "unsupervised_data_cfg_librispeech.py",
    "pase-prepare-openslr-rirs": "data/prep/prepare_openslr_rirs_cfg.py",
}
#: old command names, still installed: alias -> name
COMMAND_RENAMES: dict[str, str] = {
    "pase-timit-prepare": "pase-prepare-timit",
    "pase-timit-synth": "pase-synth-timit",
}

#: errors every command reports in one line (all of pase's input errors are ValueErrors)
ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, LockedError)
#: a command's own known errors: the classes, or a function returning them, called after
#: parsing (so that naming errors of a torch-importing module keeps ``--help`` light)
Errors = Sequence[type[BaseException]] | Callable[[], Sequence[type[BaseException]]]

_KEBAB = re.compile(r"^--[a-z0-9]+(-[a-z0-9]+)*$")


def is_kebab(option: str) -> bool:
    """``--feat-type`` yes; ``--feat_type``, ``--featType``, ``-f`` no."""
    return bool(_KEBAB.match(option))


def snake(option: str) -> str:
    """``--data-root`` -> ``--data_root`` (the original PASE's spelling)."""
    return "--" + option[2:].replace("-", "_")


def option_name(action: argparse.Action) -> str | None:
    """The name of an optional argument: its first long option string (None: positional)."""
    return next((s for s in action.option_strings if s.startswith("--")), None)


def aliases(action: argparse.Action) -> list[str]:
    """The long option strings of ``action`` other than its name."""
    name = option_name(action)
    return [s for s in action.option_strings if s.startswith("--") and s != name]


def alias_kind(prog: str, name: str, alias: str) -> str | None:
    """``"original"``, ``"deprecated"`` or None (not an alias the vocabulary allows)."""
    if prog in ORIGINAL_SPELLING and alias == snake(name) and alias != name:
        return "original"
    own = COMMAND_ALIASES.get((prog, alias))
    if own is not None and own[0] == name:
        return own[1]
    if DEPRECATED.get(alias) == name:
        return "deprecated"
    return None


def hidden_aliases(prog: str, action: argparse.Action) -> list[str]:
    """The aliases ``--help`` does not list: all but the original PASE's spellings."""
    name = option_name(action) or ""
    return [a for a in aliases(action) if alias_kind(prog, name, a) != "original"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Lists an option under its name and original PASE spellings; its old spellings are named
    in the epilog instead."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        hidden = hidden_aliases(self._prog, action)
        if hidden:
            action = copy.copy(action)
            action.option_strings = [s for s in action.option_strings if s not in hidden]
        return super()._format_action_invocation(action)


class DefaultsHelpFormatter(HelpFormatter):
    """:class:`HelpFormatter` that also shows each option's default, once: not when its help
    already speaks of its default, nor when there is none (None)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            not action.option_strings
            or action.default in (None, argparse.SUPPRESS)
            or "default" in text.lower()
        ):
            return text
        return f"{text} (default: %(default)s)"


def alias_note(parser: argparse.ArgumentParser) -> str:
    """The epilog lines on the aliases of ``parser``'s options ("" when none)."""
    prog = parser.prog
    lines = []
    if prog in ORIGINAL_SPELLING:
        lines.append(
            "  the snake_case spellings (--data_root) are the flags of the original PASE's\n"
            f"  {ORIGINAL_SPELLING[prog]}; every option takes both spellings"
        )
    for action in parser._actions:
        name = option_name(action)
        lines += [f"  {a} = {name} (old spelling)" for a in hidden_aliases(prog, action)]
    if not lines:
        return ""
    return "\naliases (see docs/cli.md):\n" + "\n".join(lines) + "\n"


class VocabularyMixin:
    """Parser behaviour of the vocabulary: the aliases note in ``--help``, and an abbreviated
    option is ambiguous only between different options (not between an option's spellings)."""

    def format_help(self) -> str:
        return super().format_help() + alias_note(self)  # type: ignore[misc,arg-type]

    def _get_option_tuples(self, option_string: str) -> list[tuple]:
        seen: set[int] = set()
        out = []
        for t in super()._get_option_tuples(option_string):  # type: ignore[misc]
            if id(t[0]) not in seen:
                seen.add(id(t[0]))
                out.append(t)
        return out


class ArgumentParser(VocabularyMixin, argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with the vocabulary's help and abbreviations."""


P = TypeVar("P", bound=argparse.ArgumentParser)


def with_vocabulary(parser_class: type[P]) -> type[P]:
    """``parser_class`` (e.g. configargparse's) with :class:`VocabularyMixin`."""
    return type(f"Pase{parser_class.__name__}", (VocabularyMixin, parser_class), {})  # type: ignore[return-value]


def parser(prog: str, doc: str | None, *, examples: bool = False, **kw: Any) -> ArgumentParser:
    """A command's parser: the first line of ``doc`` is the description; with ``examples``
    the rest of ``doc`` (examples, details) is the epilog, else the whole doc is shown."""
    doc = (doc or "").strip("\n")
    if examples:
        first, _, rest = doc.partition("\n")
        kw.setdefault("description", first)
        kw.setdefault("epilog", rest.strip("\n") or None)
    else:
        kw.setdefault("description", doc)
    kw.setdefault("formatter_class", HelpFormatter)
    return ArgumentParser(prog=prog, **kw)


# --------------------------------------------------------------------------- script skeleton
def error(prog: str, e: BaseException | str) -> int:
    """Print ``<prog>: error: <e>`` on stderr; return 1 (the exit status)."""
    print(f"{prog}: error: {e}", file=sys.stderr)
    return 1


def setup_logging(verbose: bool = False) -> None:
    """INFO (or DEBUG) messages to stderr, Kaldi-like prefix."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def call(prog: str, fn: Callable[[], int | None], errors: Errors = ()) -> int:
    """``fn()``'s exit status; :data:`ERRORS` and ``errors`` (see :data:`Errors`) become one
    line and status 1."""
    known = tuple(errors if isinstance(errors, Sequence) else errors())
    try:
        return int(fn() or 0)
    except (*ERRORS, *known) as e:
        return error(prog, e)


def run(
    p: argparse.ArgumentParser,
    fn: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None = None,
    *,
    errors: Errors = (),
    log: bool = False,
    jemalloc: bool = False,
) -> int:
    """The skeleton of a command: parse ``argv``, (``log``: set up logging, ``--verbose``
    for DEBUG), then ``fn(args)`` through :func:`call`. Only parsing happens before
    ``fn``: a command imports the library it calls in ``fn`` (and ``errors``), so that
    ``--help`` is fast. ``jemalloc``: a command run from the command line (``argv`` None)
    restarts itself once with jemalloc preloaded when installed (:mod:`pase.allocator`)."""
    args = p.parse_args(argv)
    if log:
        setup_logging(getattr(args, "verbose", False))

    def go() -> int | None:
        if jemalloc and argv is None:
            use_fast_allocator()
        return fn(args)

    return call(p.prog, go, errors)


# --------------------------------------------------------------------------- shared options
Container = argparse._ActionsContainer


def old_spellings(name: str) -> list[str]:
    """The :data:`DEPRECATED` aliases of ``name``."""
    return [alias for alias, n in DEPRECATED.items() if n == name]


def add(
    p: Container,
    name: str,
    *,
    old: Sequence[str] | None = None,
    original: bool = False,
    **kw: Any,
) -> argparse.Action:
    """``p.add_argument(name, *aliases, **kw)``. Aliases: ``old`` (default: the old spellings
    of ``name``, :data:`DEPRECATED`) and with ``original`` the snake_case spelling."""
    flags = [name]
    if original and snake(name) != name:
        flags.append(snake(name))
    flags += [o for o in (old_spellings(name) if old is None else old) if o not in flags]
    return p.add_argument(*flags, **kw)


def add_fe_cfg(
    p: Container,
    *,
    default: str | None = "PASE+",
    old: Sequence[str] | None = None,
    original: bool = False,
    **kw: Any,
) -> argparse.Action:
    """``--fe-cfg``: the frontend (encoder) config."""
    kw.setdefault("help", "frontend config: PASE, PASE+ or a frontend .cfg file")
    return add(p, "--fe-cfg", old=old, original=original, default=default, **kw)


def add_ckpt(p: Container, **kw: Any) -> argparse.Action:
    """``--ckpt``: an encoder checkpoint (``FE_e199.ckpt``, original or ours)."""
    kw.setdefault("help", "encoder checkpoint (e.g. FE_e199.ckpt); seeded random weights if absent")
    return add(p, "--ckpt", **kw)


def add_nj(p: Container, *, default: int | None = 4, **kw: Any) -> argparse.Action:
    """``--nj``: how many jobs (processes or threads) run in parallel."""
    kw.setdefault("help", f"parallel jobs (default {default})")
    return add(p, "--nj", type=int, default=default, **kw)


def add_num_threads(p: Container, *, default: int | None = None, **kw: Any) -> argparse.Action:
    """``--num-threads``: torch CPU threads of one process (0 or unset: torch's default)."""
    kw.setdefault("help", "torch CPU threads (default: torch's)")
    return add(p, "--num-threads", type=int, default=default, **kw)


def add_device(
    p: Container, *, default: str | None = "cpu", original: bool = False, **kw: Any
) -> argparse.Action:
    """``--device``: cpu, cuda, cuda:N or auto."""
    kw.setdefault("help", "cpu, cuda, cuda:N or auto")
    return add(p, "--device", original=original, default=default, **kw)


def add_compress(p: Container) -> argparse.Action:
    """``--compress METHOD``: Kaldi matrix compression of the written features."""
    return add(
        p,
        "--compress",
        type=int,
        metavar="METHOD",
        help="Kaldi matrix compression method (e.g. 2), readable by Kaldi",
    )


def add_seed(p: Container, *, default: int = 0, original: bool = False, **kw: Any) -> None:
    """``--seed``: the seed of everything random the command does."""
    kw.setdefault("help", f"random seed (default {default})")
    add(p, "--seed", original=original, type=int, default=default, **kw)


def add_verbose(p: Container) -> None:
    """``--verbose``: DEBUG log messages."""
    p.add_argument("--verbose", action="store_true", help="debug messages")


def channel_type(text: str) -> int | str:
    """argparse ``type`` of ``--channel``: a 0-based index or ``mix``."""
    from pase.io.audio import parse_channel

    try:
        return parse_channel(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def add_channel(p: Container, help: str | None = None) -> None:
    """``--channel N|mix`` (default None: every file must be mono)."""
    p.add_argument(
        "--channel",
        type=channel_type,
        default=None,
        help=help
        or "multi-channel audio: 0-based channel to keep, or 'mix' (average); default: mono only",
    )


def add_force(p: Container, what: str = "recompute") -> None:
    """``--force``: redo the work even if its outputs are up to date."""
    p.add_argument("--force", action="store_true", help=f"{what} even if up to date")


def add_rerun_options(p: Container, what: str = "recompute") -> None:
    """``--force`` and ``--verify`` of the commands that skip up-to-date outputs."""
    add_force(p, what)
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare audio files by SHA-256 content hash for the up-to-date check (default: "
        "size and modification time)",
    )


def add_skip_short(p: Container) -> None:
    """``--skip-short``: leave out utterances too short for one frame instead of failing."""
    p.add_argument(
        "--skip-short",
        action="store_true",
        help="leave out (and report) utterances too short for one frame instead of failing",
    )


def add_skip_bad_audio(p: Container, *, original: bool = False) -> None:
    """``--skip-bad-audio``: drop (and report) unusable audio files instead of failing."""
    add(
        p,
        "--skip-bad-audio",
        original=original,
        action="store_true",
        help="drop (and report) missing/empty/truncated/non-16 kHz files instead of failing",
    )


def add_full_check(p: Container, *, original: bool = False, help: str | None = None) -> None:
    """``--full-check``: decode every audio file entirely instead of its header and end."""
    add(
        p,
        "--full-check",
        original=original,
        action="store_true",
        help=help
        or "decode every file entirely (default: headers and the last frames of compressed "
        "files, which finds truncated files)",
    )


def add_table_options(p: Container) -> None:
    """The output options of the extraction commands (see :func:`write_table`)."""
    add_compress(p)
    p.add_argument("--utt2num-frames", type=Path, help="also write utt2num_frames here")
    add_channel(p)
    add_skip_short(p)


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
    (``input``, ``compress``, ``utt2num_frames``, ``skip_short``, ``channel``), then a
    one-line summary on stderr."""
    from pase.io.tables import input_files, write_features

    res = write_features(
        utterances,
        wspec,
        encode,
        compression_method=args.compress,
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
