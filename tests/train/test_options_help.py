"""``pase-train --help`` as a newcomer reads it: every option explained, its default shown
once, booleans as flags (``--amp``, ``--no-amp``) that still take the original's
``--tensorboard False``, on the command line and in a YAML config."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pase.bin import cli
from pase.bin.train import build_parser
from pase.train.options import BoolFlag, parse_options

REQUIRED = ["--net-cfg", "workers", "--data-cfg", "d.json"]


def _options(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions if not isinstance(a, argparse._HelpAction)]


BOOLS = [a for a in _options(build_parser()) if isinstance(a, BoolFlag)]


def parse(*words: str) -> argparse.Namespace:
    return parse_options([*REQUIRED, *words], build_parser())


def test_every_option_has_help() -> None:
    missing = [a.option_strings[0] for a in _options(build_parser()) if not (a.help or "").strip()]
    assert missing == []


def test_each_default_is_shown_once() -> None:
    p = build_parser()
    formatter = p._get_formatter()
    for a in _options(p):
        shown = formatter._expand_help(a) if a.help else ""  # type: ignore[attr-defined]
        assert shown.lower().count("default") <= 1, (a.option_strings, shown)
        if a.default not in (None, argparse.SUPPRESS) and a.option_strings:
            assert "default" in shown.lower(), a.option_strings  # ... and shown
    text = p.format_help()
    assert "(default: 100)" in text and "(default: None)" not in text
    assert "(default: valid size // chunk // batch)" in " ".join(text.split())


def test_the_formatter_leaves_a_default_the_help_gives() -> None:
    p = argparse.ArgumentParser(formatter_class=cli.DefaultsHelpFormatter)
    p.add_argument("--a", default=3, help="a (default: three)")
    p.add_argument("--b", default=4, help="b")
    p.add_argument("--c", help="c")
    text = " ".join(p.format_help().split())
    assert "a (default: three) " in text and "b (default: 4)" in text
    assert "(default: None)" not in text


def test_the_booleans_are_flags() -> None:
    names = {cli.option_name(a) for a in BOOLS}
    assert {"--tensorboard", "--random-scale", "--validate-audio", "--amp", "--skip-bad-audio",
            "--no-continue", "--no-cuda", "--allow-config-change"} <= names  # fmt: skip
    text = build_parser().format_help()
    assert "--amp [BOOL]" in text and "--no-amp" in text and "--no-no-cuda" not in text


@pytest.mark.parametrize("action", BOOLS, ids=lambda a: a.dest)
def test_each_boolean_takes_every_spelling(action: BoolFlag) -> None:
    name = cli.option_name(action)
    assert name is not None
    dest = action.dest
    assert getattr(parse(), dest) is action.default
    for words, value in [
        ([name], True),
        ([name, "True"], True),
        ([name, "true"], True),
        ([name, "False"], False),
        ([f"{name}=no"], False),
        ([*action.option_strings[-1:], "False"], False),  # the snake_case spelling
        ([name, "--seed", "5"], True),  # the flag alone before another option
    ]:
        assert getattr(parse(*words), dest) is value, words
    if not name.startswith("--no-"):
        assert getattr(parse(name, "--no-" + name[2:]), dest) is False
        assert getattr(parse("--no-" + name[2:], name), dest) is True  # the last one wins
    with pytest.raises(SystemExit):
        parse(name, "maybe")


def test_yaml_booleans_and_flags_over_them(tmp_path: Path) -> None:
    cfg = tmp_path / "train.yaml"
    cfg.write_text("tensorboard: false\nrandom_scale: true\namp: true\nno-continue: True\n")
    a = parse("--config", str(cfg))
    assert (a.tensorboard, a.random_scale, a.amp, a.no_continue) == (False, True, True, True)
    a = parse("--config", str(cfg), "--tensorboard", "--no-random-scale", "--amp", "false")
    assert (a.tensorboard, a.random_scale, a.amp) == (True, False, False)
    cfg.write_text("no-tensorboard: true\n")
    assert parse("--config", str(cfg)).tensorboard is False
