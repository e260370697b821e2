"""The ``pase-*`` command-line vocabulary (docs/cli.md), checked on every console script of
setup.py: kebab-case names, only the listed aliases, one flag per concept, old and new
spellings parsing to the same value, aliases hidden from (or shown in) ``--help`` as documented.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pase.bin import cli

ROOT = Path(__file__).resolve().parents[1]


def entry_points() -> dict[str, str]:
    """command -> ``module:function`` of setup.py's console_scripts (read as text)."""
    text = (ROOT / "setup.py").read_text(encoding="utf-8")
    found = dict(re.findall(r'"(pase-[a-z0-9-]+)=([a-z0-9_.]+:[a-z_]+)"', text))
    assert len(found) >= 20, found
    return found


ENTRY_POINTS = entry_points()
#: each command once, under its name (old names are the same function)
COMMANDS = sorted(c for c in ENTRY_POINTS if c not in cli.COMMAND_RENAMES)


def build(command: str) -> argparse.ArgumentParser:
    module, func = ENTRY_POINTS[command].split(":")
    assert func == "main"
    return importlib.import_module(module).build_parser()


def optionals(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


# --------------------------------------------------------------------------- names
def test_command_names_follow_one_pattern() -> None:
    for c in COMMANDS:
        assert re.fullmatch(r"pase(-[a-z0-9]+)+", c), c
        build_prog = build(c).prog
        assert build_prog == c, (c, build_prog)
    # pase-<verb>-<object>: the verb first (the asr toolchain is grouped as pase-asr-<step>)
    verbs = {"extract", "prepare", "synth", "compute", "dump", "make", "check", "train", "find",
             "save", "asr", "probe", "summarize", "export"}  # fmt: skip
    assert {c.split("-")[1] for c in COMMANDS} <= verbs


def test_old_command_names_are_the_same_commands() -> None:
    for old, new in cli.COMMAND_RENAMES.items():
        assert ENTRY_POINTS[old] == ENTRY_POINTS[new]
    assert cli.COMMAND_RENAMES["pase-timit-prepare"] == "pase-prepare-timit"


@pytest.mark.skipif(shutil.which("pase-timit-prepare") is None, reason="not installed")
@pytest.mark.parametrize("old", sorted(cli.COMMAND_RENAMES))
def test_old_command_names_run(old: str) -> None:
    p = subprocess.run([old, "--help"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and cli.COMMAND_RENAMES[old] in p.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_follows_the_naming_rule(command: str) -> None:
    p = build(command)
    for a in optionals(p):
        name = cli.option_name(a)
        assert name is not None and cli.is_kebab(name), (command, a.option_strings)
        assert name not in cli.DEPRECATED, (command, name)  # a name is never an old spelling
        for alias in cli.aliases(a):
            assert cli.alias_kind(command, name, alias) is not None, (command, name, alias)


def test_the_rule_check_catches_strays() -> None:
    assert not cli.is_kebab("--feat_type") and not cli.is_kebab("--featType")
    assert cli.is_kebab("--feat-type") and cli.is_kebab("--nj")
    assert cli.alias_kind("pase-train", "--fe-cfg", "--fe_cfg") == "original"
    assert cli.alias_kind("pase-extract", "--feat-type", "--feat_type") is None
    assert cli.alias_kind("pase-extract", "--nj", "--threads") is None
    assert cli.alias_kind("pase-asr-decode", "--num-threads", "--threads") == "deprecated"


#: concept -> its one flag (and the parsed attribute) wherever a command has it
CONCEPTS = {
    "fe_cfg": "--fe-cfg",
    "ckpt": "--ckpt",
    "nj": "--nj",
    "num_threads": "--num-threads",
    "num_workers": "--num-workers",
    "device": "--device",
    "compress": "--compress",
    "force": "--force",
    "verify": "--verify",
    "channel": "--channel",
    "seed": "--seed",
    "skip_short": "--skip-short",
    "skip_bad_audio": "--skip-bad-audio",
    "full_check": "--full-check",
    "verbose": "--verbose",
    "config": "--config",
}


@pytest.mark.parametrize("command", COMMANDS)
def test_one_flag_per_concept(command: str) -> None:
    flags = set(CONCEPTS.values())
    for a in optionals(build(command)):
        name = cli.option_name(a)
        for s in a.option_strings:
            if s in flags:  # a concept's flag is always the name of its option ...
                assert name == s, (command, a.option_strings)
            if s in cli.DEPRECATED:  # ... and an old spelling an alias of the new one
                assert name == cli.DEPRECATED[s], (command, a.option_strings)
        if name in flags:
            assert a.dest == name[2:].replace("-", "_"), (command, name, a.dest)


def test_shared_concepts_are_shared() -> None:
    """The concepts the brief names appear in several commands, always under one flag."""
    where: dict[str, set[str]] = {}
    for c in COMMANDS:
        for a in optionals(build(c)):
            where.setdefault(cli.option_name(a) or "", set()).add(c)
    for flag in ("--fe-cfg", "--ckpt", "--nj", "--num-threads", "--device", "--compress",
                 "--force", "--verify", "--channel", "--seed"):  # fmt: skip
        assert len(where.get(flag, ())) >= 2, flag
    for old in ("--cfg", "--pase-cfg", "--jobs", "--threads", "--compression-method"):
        assert old not in where


# --------------------------------------------------------------------------- aliases parse alike
def _sample(a: argparse.Action) -> list[str]:
    """Command-line words giving ``a`` a value other than its default."""
    if a.nargs == 0:
        return []
    if a.choices:
        return [next(str(c) for c in a.choices if c != a.default)]
    if a.type is cli.channel_type:
        return ["1"]
    if a.type is int:
        return ["8" if a.default == 7 else "7"]
    if a.type is float:
        return ["0.25"]
    if getattr(a.type, "__name__", "") == "str2bool":
        return ["false" if a.default else "true"]
    if a.nargs in ("*", "+"):
        return ["a", "b"]
    return ["some-value"]


def _required(p: argparse.ArgumentParser) -> list[str]:
    words: list[str] = []
    for a in p._actions:
        if not a.option_strings:
            words += ["pos"] if a.nargs in (None, "?", "+") else []
        elif a.required:
            words += [a.option_strings[0], *_sample(a)]
    return words


CASES = [
    (c, cli.option_name(a), alias)
    for c in COMMANDS
    for a in optionals(build(c))
    for alias in cli.aliases(a)
]


def test_every_renamed_flag_is_covered() -> None:
    covered = {alias for _, _, alias in CASES}
    assert set(cli.DEPRECATED) <= covered
    assert {alias for _, alias in cli.COMMAND_ALIASES} <= covered
    for flag in ("--fe_cfg", "--net_cfg", "--data_cfg", "--save_path", "--dtrans_cfg",
                 "--batch_size", "--no_continue", "--out_file", "--cfg_file", "--data_root",
                 "--max_batches", "--existing_cfg", "--val_ratio", "--no_cuda"):  # fmt: skip
        assert flag in covered, flag


@pytest.mark.parametrize(("command", "name", "alias"), CASES)
def test_old_and_new_spelling_parse_alike(command: str, name: str, alias: str) -> None:
    p = build(command)
    action = next(a for a in p._actions if name in a.option_strings)
    base = [w for w in _required(p)]
    if action.required:  # drop the filler of this very option
        i = base.index(action.option_strings[0])
        del base[i : i + 1 + len(_sample(action))]
    new = p.parse_args([*base, name, *_sample(action)])
    old = p.parse_args([*base, alias, *_sample(action)])
    assert vars(new) == vars(old)
    assert getattr(new, action.dest) != action.default  # the option did take effect


def test_train_yaml_keys_take_both_spellings(tmp_path: Path) -> None:
    from pase.bin.train import build_parser
    from pase.train.options import parse_options

    cfg = tmp_path / "train.yaml"
    cfg.write_text("fe-cfg: PASE\nnet_cfg: workers\nbatch-size: 7\nsave_path: out\n")
    a = parse_options(["--config", str(cfg), "--data-cfg", "d.json", "--batch_size", "9"],
                      build_parser())  # fmt: skip
    assert (a.fe_cfg, a.net_cfg, a.batch_size, a.save_path) == ("PASE", "workers", 9, "out")


def test_abbreviations_are_ambiguous_only_between_options() -> None:
    from pase.bin.train import build_parser
    from pase.train.options import build_parser as plain_parser

    assert build_parser().parse_args(["--net-cfg", "w", "--sav", "o"]).save_path == "o"
    with pytest.raises(SystemExit):  # without the vocabulary: --save-path and --save_path
        plain_parser().parse_args(["--net-cfg", "w", "--sav", "o"])
    with pytest.raises(SystemExit):  # --fe-cfg / --fe-lr / --fe-opt stay ambiguous
        build_parser().parse_args(["--net-cfg", "w", "--fe", "x"])


# --------------------------------------------------------------------------- help
def test_help_hides_old_spellings_and_names_them_in_the_epilog() -> None:
    text = build("pase-dump-feats").format_help()
    options, _, note = text.partition("aliases (see docs/cli.md):")
    assert "--fe-cfg" in options and "--pase-cfg" not in options and "--jobs" not in options
    for old in ("--cfg = --fe-cfg", "--pase-cfg = --fe-cfg", "--pase-ckpt = --ckpt",
                "--compression-method = --compress", "--jobs = --nj"):  # fmt: skip
        assert old in note, old


def test_help_shows_the_original_spellings() -> None:
    text = build("pase-train").format_help()
    assert "--fe-cfg FE_CFG, --fe_cfg FE_CFG" in text and "train.py" in text
    text = build("pase-make-stats").format_help()
    assert "--out-file OUT_FILE, --out_file OUT_FILE" in text
    assert "make_trainset_statistics.py" in text
    assert "aliases" not in build("pase-asr-mkgraph").format_help()  # nothing to say


# --------------------------------------------------------------------------- documentation
def test_docs_cli_lists_every_command_and_alias() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for c in ENTRY_POINTS:
        assert f"`{c}`" in doc, c
    for alias, name in [*cli.DEPRECATED.items(), *((a, n) for (_, a), (n, _) in
                                                   cli.COMMAND_ALIASES.items())]:  # fmt: skip
        assert f"`{alias}`" in doc and f"`{name}`" in doc, alias
    for flag in CONCEPTS.values():
        assert f"`{flag}" in doc, flag


def command_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of the ``pase-*`` command lines of a markdown text: in code blocks a
    line starting with ``pase-`` (from ``-m pase.bin.`` on, for ``torchrun ... -m``) and its
    backslash continuations; in prose, code spans starting with ``pase-``."""
    out = []
    fence = cont = False
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("```"):
            fence, cont = not fence, False
            continue
        if fence:
            start = bool(re.match(r"(\$ )?(pase-|\S+=\$\(pase-)", s)) or "-m pase.bin." in s
            if start or cont:
                out.append((i, s.split("-m pase.bin.", 1)[-1]))
            cont = (start or cont) and s.endswith("\\")
        else:
            out += [(i, m.group(1)) for m in re.finditer(r"`(pase-[^`]*)`", line)]
    return out


def spelling_problems(text: str) -> list[str]:
    """Old spellings and snake_case flags on the command lines of ``text``."""
    bad = []
    for i, line in command_lines(text):
        for m in re.finditer(r"(?<![\w-])--[a-z0-9]+(?:[_-][a-z0-9]+)*", line):
            if "_" in m.group(0) or m.group(0) in cli.DEPRECATED:
                bad.append(f"{i}: {m.group(0)}")
        bad += [f"{i}: {old}" for old in cli.COMMAND_RENAMES if old in line]
    return bad


def test_the_docs_check_sees_old_spellings() -> None:
    text = (
        "Run `pase-extract --cfg PASE+ x y` or\n```sh\npase-train --fe-cfg PASE \\\n"
        "    --save_path exp\ntorchrun --nproc_per_node 2 -m pase.bin.train --batch_size 4\n"
        "./run.sh --stop_stage 3\n```\n`pase-timit-prepare a b`\n"
    )
    assert spelling_problems(text) == [
        "1: --cfg", "4: --save_path", "5: --batch_size", "8: pase-timit-prepare"
    ]  # fmt: skip


DOCS = ["README.md", *sorted(f"docs/{f.name}" for f in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", [d for d in DOCS if d != "docs/cli.md"])  # cli.md: the aliases
def test_docs_use_the_new_spellings(doc: str) -> None:
    """README.md and docs/*.md write pase-* command lines in the vocabulary (docs/cli.md)."""
    assert spelling_problems((ROOT / doc).read_text(encoding="utf-8")) == []


def recipe_calls(script: Path) -> list[tuple[str, list[str]]]:
    """(command, flags) of every ``pase-*`` call in a shell script (with its continuations)."""
    calls, current = [], None
    for line in script.read_text(encoding="utf-8").splitlines():
        s = line.split("#", 1)[0].strip()
        m = re.search(r"(?:^|[|&;]\s*|\$\()(pase-[a-z0-9-]+)(\s|$)", s)
        if m and current is None:
            current = (m.group(1), [])
            s = s[m.end(1) :]
        if current is not None:
            current[1].extend(re.findall(r"(?<![\w-])--[a-z0-9_-]+", s))
            if not s.endswith("\\"):
                calls.append(current)
                current = None
    return calls


@pytest.mark.parametrize("script", ["egs/librispeech/pase/run.sh", "egs/timit/asr1/run.sh"])
def test_recipes_call_commands_by_their_names(script: str) -> None:
    calls = recipe_calls(ROOT / script)
    assert len(calls) >= 5
    for command, flags in calls:
        names = {cli.option_name(a) for a in optionals(build(command))}
        assert set(flags) <= names, (command, set(flags) - names)


def test_recipe_calls_are_found(tmp_path: Path) -> None:
    f = tmp_path / "run.sh"
    f.write_text(
        "x=1\n  pase-extract --cfg a \\\n    --ckpt b x y\n"
        '[ -z "$a" ] || pase-dump-feats --nj 2 a b\n'
        'echo "see (pase-train --save_path)"\nc=$(pase-find-checkpoint exp)\n'
    )
    assert recipe_calls(f) == [
        ("pase-extract", ["--cfg", "--ckpt"]),
        ("pase-dump-feats", ["--nj"]),
        ("pase-find-checkpoint", []),
    ]
