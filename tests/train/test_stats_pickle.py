"""The original README's ``--stats data/librispeech_stats.pkl``: pase-train names the
``.json`` to use instead, before reading any audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from pase.bin.train import main
from pase.train.trainer import pickled_stats_problem


def test_a_json_beside_the_pickle_is_named(tmp_path: Path) -> None:
    pkl = tmp_path / "librispeech_stats_pase+.pkl"
    (tmp_path / "librispeech_stats_pase+.json").write_text("{}")
    msg = pickled_stats_problem(pkl, legacy_pickle=False)
    assert msg == (
        f"--stats {pkl}: statistics are JSON now: use --stats {pkl.with_suffix('.json')}"
    )


def test_without_a_json_it_says_how_to_make_one(tmp_path: Path) -> None:
    pkl = tmp_path / "stats.pkl"
    msg = pickled_stats_problem(pkl, legacy_pickle=False)
    assert msg is not None
    assert f"pase-make-stats ... --out-file {tmp_path / 'stats.json'}" in msg
    assert "--legacy-stats-pickle" not in msg  # no pickle there to read
    pkl.write_bytes(b"\x80\x04N.")
    assert "--legacy-stats-pickle" in (pickled_stats_problem(pkl, legacy_pickle=False) or "")


@pytest.mark.parametrize(
    ("stats", "legacy"),
    [(None, False), ("s.json", False), ("s.npz", False), ("s.pkl", True), ("s.pickle", True)],
)
def test_nothing_to_say(stats: str | None, legacy: bool) -> None:
    assert pickled_stats_problem(stats, legacy_pickle=legacy) is None


def test_pase_train_stops_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "stats.json").write_text("{}")
    argv = ["--net-cfg", "workers", "--data-cfg", str(tmp_path / "missing.json"),
            "--stats", str(tmp_path / "stats.pkl"), "--save-path", str(tmp_path / "exp"),
            "--device", "cpu"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"statistics are JSON now: use --stats {tmp_path / 'stats.json'}" in err
    assert "missing.json" not in err  # before the data config is read
