"""``pase-* --help`` imports neither torch nor numpy (it is fast, docs/cli.md), and the
parsers' copies of library values (pase/bin/parser_values.py) equal the library's."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pase.bin import parser_values as pv

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "scipy", "soundfile", "kaldiio")


def _entry_points() -> dict[str, str]:
    """console script name -> module, read from setup.py."""
    text = (ROOT / "setup.py").read_text()
    return dict(re.findall(r'"(pase-[a-z0-9-]+)=([a-z0-9_.]+):main"', text))


COMMANDS = _entry_points()

PROBE = """
import json, sys
mod = __import__({module!r}, fromlist=["main"])
try:
    mod.main(["--help"])
except SystemExit as e:
    code = e.code
else:
    code = None
print(json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}),
      file=sys.stderr)
"""


def test_every_command_is_listed() -> None:
    assert len(COMMANDS) >= 35 and "pase-train" in COMMANDS and "pase-extract" in COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_imports_no_heavy_library(name: str) -> None:
    code = PROBE.format(module=COMMANDS[name], heavy=HEAVY)
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, f"{name} --help exited {report['code']}"
    assert report["heavy"] == [], f"{name} --help imported {report['heavy']}"
    assert "usage:" in res.stdout


def _defaults(cls: type) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_parser_values_equal_the_library() -> None:
    from pase.asr.frame_labels import PHONE_SETS
    from pase.corpus import iemocap, openslr_rirs
    from pase.corpus.synth_iemocap import SynthIemocapSettings
    from pase.corpus.synth_voxceleb import VoxSynthSettings
    from pase.data.data_cfg import SPLITS
    from pase.distortions.assets import RIR_METHODS, AssetSettings
    from pase.distortions.conditions import CONDITIONS
    from pase.downstream.experiment import INPUTS
    from pase.downstream.heads import POOLINGS
    from pase.downstream.train import TASKS
    from pase.export import FORMATS
    from pase.extract import PCM_FORMATS
    from pase.targets.stats import STD_MODES

    assert tuple(sorted(PCM_FORMATS)) == pv.STREAM_FORMATS
    assert tuple(FORMATS) == pv.EXPORT_FORMATS
    assert tuple(CONDITIONS) == pv.CONDITIONS
    assert tuple(SPLITS) == pv.DATA_CFG_SPLITS
    assert tuple(STD_MODES) == pv.STD_MODES
    assert tuple(RIR_METHODS) == pv.RIR_METHODS
    assert tuple(openslr_rirs.ROOMS) == pv.OPENSLR_ROOMS
    assert tuple(INPUTS) == pv.PROBE_INPUTS
    assert tuple(POOLINGS) == pv.PROBE_POOLINGS
    assert tuple(TASKS) == pv.PROBE_TASKS
    assert tuple(PHONE_SETS) == pv.PHONE_SETS
    assert tuple(iemocap.SESSIONS) == pv.IEMOCAP_SESSIONS
    assert iemocap.MIN_SECONDS == pv.IEMOCAP_MIN_SECONDS
    for cls, copy in (
        (AssetSettings, pv.ASSET_SETTINGS),
        (SynthIemocapSettings, pv.SYNTH_IEMOCAP_SETTINGS),
        (VoxSynthSettings, pv.SYNTH_VOXCELEB_SETTINGS),
    ):
        defaults = _defaults(cls)
        assert {k: defaults[k] for k in copy} == copy, cls.__name__
