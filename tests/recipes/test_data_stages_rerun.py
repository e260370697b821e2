"""egs/librispeech/pase stages 1-2 rerun: the data cfg and the statistics are up to date, and a
touched audio file makes both recompute (slow: runs the recipe's data stages twice)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.corpus.test_librispeech import make_tree
from tests.recipes.test_recipes import LIBRI, recipe_copy, run


@pytest.mark.slow
def test_data_stages_skip_when_up_to_date(tmp_path: Path) -> None:
    layout = {
        "train-clean-100": {"1234": {"5678": 2}, "42": {"9": 2}, "777": {"123456": 2}},
        "dev-clean": {"31": {"4000": 2}},
        "test-clean": {"8": {"77": 2}},
    }
    lib = make_tree(tmp_path / "corpus", layout)
    d = recipe_copy(tmp_path, LIBRI)
    args = ["--librispeech", str(lib), "--stop_stage", "2", "--stats_args", "--max_batches 1"]
    p = run(d, *args)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    cfg, stats = d / "data" / "pase_data.json", d / "exp" / "train_pase+" / "stats.json"
    times = (cfg.stat().st_mtime_ns, stats.stat().st_mtime_ns)
    p = run(d, "--stage", "1", *args)
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"{cfg.relative_to(d)} is up to date" in p.stderr
    assert f"{stats.relative_to(d)} is up to date" in p.stderr
    assert (cfg.stat().st_mtime_ns, stats.stat().st_mtime_ns) == times
    flac = next((lib / "train-clean-100" / "42" / "9").glob("*.flac"))
    st = flac.stat()
    os.utime(flac, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    p = run(d, "--stage", "1", *args)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stderr.count(f"{flac.resolve()} (modification time)") == 2
    assert "up to date" not in p.stderr
    assert cfg.stat().st_mtime_ns != times[0] and stats.stat().st_mtime_ns != times[1]
