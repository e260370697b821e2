"""utils/parse_options.sh: Kaldi's option semantics."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.utils.helpers import UTILS

SCRIPT = """#!/usr/bin/env bash
nj=4
foo_bar=default
use_gpu=false
empty=
help_message="Usage: $0 [--nj N] [--foo-bar X] <in> <out>"
. {utils}/parse_options.sh || exit 1
printf 'nj=%s\\nfoo_bar=%s\\nuse_gpu=%s\\n' "$nj" "$foo_bar" "$use_gpu"
printf 'empty=%s\\nnargs=%s\\n' "$empty" "$#"
for a in "$@"; do printf 'arg=%s\\n' "$a"; done
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.sh"
    if not script.exists():
        script.write_text(SCRIPT.format(utils=UTILS))
        script.chmod(0o755)
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, cwd=tmp_path, timeout=30
    )


def parsed(p: subprocess.CompletedProcess) -> tuple[dict[str, str], list[str]]:
    assert p.returncode == 0, p.stderr
    vals, args = {}, []
    for line in p.stdout.splitlines():
        k, _, v = line.partition("=")
        if k == "arg":
            args.append(v)
        else:
            vals[k] = v
    return vals, args


def test_defaults_and_positionals(tmp_path: Path) -> None:
    vals, args = parsed(run(tmp_path, "in", "out dir"))
    assert vals == {"nj": "4", "foo_bar": "default", "use_gpu": "false", "empty": "", "nargs": "2"}
    assert args == ["in", "out dir"]


def test_dashes_become_underscores_and_values_keep_spaces(tmp_path: Path) -> None:
    vals, args = parsed(
        run(tmp_path, "--nj", "8", "--foo-bar", "a b  c", "--use-gpu", "true", "--empty=x=y", "p1")
    )
    assert (vals["nj"], vals["foo_bar"], vals["use_gpu"], vals["empty"]) == (
        "8",
        "a b  c",
        "true",
        "x=y",
    )
    assert args == ["p1"]


def test_negative_numbers_and_double_dash(tmp_path: Path) -> None:
    vals, args = parsed(run(tmp_path, "--nj", "-1", "--", "--not-an-option", "x"))
    assert vals["nj"] == "-1"
    assert args == ["--not-an-option", "x"]


def test_undeclared_option_is_rejected(tmp_path: Path) -> None:
    p = run(tmp_path, "--stage", "3", "in")
    assert p.returncode == 1
    assert "--stage" in p.stderr and "stage" in p.stderr


def test_boolean_checked_and_missing_value(tmp_path: Path) -> None:
    p = run(tmp_path, "--use-gpu", "yes")
    assert p.returncode == 1 and "true or false" in p.stderr
    p = run(tmp_path, "--nj")
    assert p.returncode == 1 and "needs a value" in p.stderr


def test_config_file_then_command_line_overrides(tmp_path: Path) -> None:
    (tmp_path / "my.conf").write_text('nj=16\nfoo_bar="from config"\n')
    vals, _ = parsed(run(tmp_path, "--config", "my.conf"))
    assert (vals["nj"], vals["foo_bar"]) == ("16", "from config")
    # --config is applied first even when it comes after the option it sets
    vals, _ = parsed(run(tmp_path, "--nj", "2", "--config", "my.conf"))
    assert (vals["nj"], vals["foo_bar"]) == ("2", "from config")
    p = run(tmp_path, "--config", "missing.conf")
    assert p.returncode == 1 and "missing.conf" in p.stderr


def test_help_prints_the_callers_message(tmp_path: Path) -> None:
    p = run(tmp_path, "--help")
    assert p.returncode == 0
    assert "Usage:" in p.stderr and "--foo-bar X" in p.stderr
    assert p.stdout == ""
