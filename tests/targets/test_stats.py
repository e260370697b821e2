"""Normalisation statistics: accumulation modes, storage round trips, legacy pickles, z-norm."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.targets.stats import (
    LegacyPickleWarning,
    StatsAccumulator,
    StatsError,
    StatsWarning,
    TargetStats,
    load_legacy_pickle,
)


def _batches(n: int = 4) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        lps = torch.randn(3 + i, 5, 20, generator=g) * torch.arange(1, 6)[:, None] + 10
        pros = torch.rand(3 + i, 2, 20, generator=g)
        out.append({"lps": lps, "prosody": pros, "cchunk": torch.randn(3 + i, 1, 3200)})
    return out


def test_pooled_is_exact_and_split_invariant() -> None:
    batches = _batches()
    acc = StatsAccumulator()
    for b in batches:
        acc.update(b)
    st = acc.result()
    assert st.keys == ["lps", "prosody"]  # waveform target skipped
    allx = torch.cat([b["lps"] for b in batches]).double()
    torch.testing.assert_close(st.mean["lps"].double(), allx.mean(dim=(0, 2)), rtol=1e-6, atol=0)
    ref_std = allx.transpose(0, 1).reshape(5, -1).std(dim=1, unbiased=False)
    torch.testing.assert_close(st.std["lps"].double(), ref_std, rtol=1e-6, atol=0)
    assert st.counts["lps"] == allx.shape[0] * 20
    one = StatsAccumulator()
    one.update({"lps": allx.float()})
    torch.testing.assert_close(one.result().std["lps"], st.std["lps"], rtol=1e-6, atol=0)


def test_per_example_reproduces_the_original_formula() -> None:
    batches = _batches()
    acc = StatsAccumulator(std_mode="per_example")
    for b in batches:
        acc.update(b)
    st = acc.result()
    allx = torch.cat([b["lps"] for b in batches]).double()
    # make_trainset_statistics.py: mean of time means; std over examples of time stds
    torch.testing.assert_close(st.mean["lps"].double(), allx.mean(dim=2).mean(dim=0))
    torch.testing.assert_close(st.std["lps"].double(), allx.std(dim=2).std(dim=0), rtol=1e-5,
                               atol=1e-7)  # fmt: skip
    assert st.std_mode == "per_example" and st.counts["lps"] == allx.shape[0]
    pooled = StatsAccumulator()
    for b in batches:
        pooled.update(b)
    assert (st.std["lps"] < 0.5 * pooled.result().std["lps"]).all()  # a different quantity


def test_accumulator_errors() -> None:
    acc = StatsAccumulator()
    with pytest.raises(StatsError, match=r"no .*targets"):
        acc.result()
    acc.update({"lps": torch.randn(2, 5, 10)})
    with pytest.raises(StatsError, match="'lps' has 4 channels"):
        acc.update({"lps": torch.randn(2, 4, 10)})
    with pytest.raises(StatsError, match=r"'mfcc' must be \(B, C, T\)"):
        acc.update({"mfcc": torch.randn(5, 10)})
    with pytest.raises(StatsError, match="std_mode"):
        StatsAccumulator(std_mode="median")  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    acc = StatsAccumulator()
    for b in _batches():
        acc.update(b)
    st = acc.result()
    path = tmp_path / f"stats{suffix}"
    st.save(path)
    back = TargetStats.load(path)
    assert back.keys == st.keys and back.std_mode == st.std_mode and back.counts == st.counts
    for k in st.keys:
        assert torch.equal(back.mean[k], st.mean[k]) and torch.equal(back.std[k], st.std[k])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    with pytest.raises(StatsError, match=r"\.txt"):
        st.save(tmp_path / "stats.txt")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(StatsError, match="no such"):
        TargetStats.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"lps": {"mean": [0], "std": [1]}}')
    with pytest.raises(StatsError, match=r"bad\.json.*not a pase-target-stats"):
        TargetStats.load(bad)


def test_legacy_pickle_needs_explicit_option(tmp_path: Path) -> None:
    orig = {
        "lps": {"mean": torch.randn(1025), "std": torch.rand(1025) + 0.5},
        "cchunk": {"mean": torch.zeros(1), "std": torch.ones(1)},
    }
    path = tmp_path / "librispeech_stats.pkl"
    with open(path, "wb") as f:
        pickle.dump(orig, f)
    with pytest.raises(StatsError, match="legacy_pickle=True"):
        TargetStats.load(path)
    with pytest.warns(LegacyPickleWarning):
        st = TargetStats.load(path, legacy_pickle=True)
    assert st.std_mode == "per_example" and torch.equal(st.mean["lps"], orig["lps"]["mean"])
    # cchunk statistics are kept but never applied
    x = {"lps": torch.randn(2, 1025, 7), "cchunk": torch.randn(2, 1, 1120)}
    assert st.normalize(x)["cchunk"] is x["cchunk"]
    # torch.save'd and numpy variants load too
    torch.save(orig, tmp_path / "t.pkl")
    with open(tmp_path / "n.pkl", "wb") as f:
        pickle.dump({"mfcc": {"mean": np.zeros(3, np.float32), "std": np.ones(3)}}, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacyPickleWarning)
        assert torch.equal(load_legacy_pickle(tmp_path / "t.pkl").std["lps"], orig["lps"]["std"])
        assert load_legacy_pickle(tmp_path / "n.pkl").keys == ["mfcc"]


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo should-not-run",))


def test_legacy_pickle_refuses_other_globals(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"lps": {"mean": _Evil(), "std": [1.0]}}, f)
    with pytest.warns(LegacyPickleWarning), pytest.raises(StatsError, match=r"system.*not allowed"):
        load_legacy_pickle(path)


def test_normalize() -> None:
    st = TargetStats(
        mean={"lps": torch.tensor([1.0, 2.0]), "prosody": torch.tensor([0.0])},
        std={"lps": torch.tensor([2.0, 0.0]), "prosody": torch.tensor([1.0])},
    )
    x = {
        "lps": torch.tensor([[[3.0, 5.0], [2.0, 2.5]]]),
        "cchunk": torch.randn(1, 1, 320),
        "mfcc": torch.randn(1, 3, 2),
    }
    y = st.normalize(x)
    assert torch.allclose(y["lps"][0, 0], torch.tensor([1.0, 2.0]))
    assert torch.allclose(y["lps"][0, 1], torch.tensor([0.0, 0.5e5]))  # std floored at 1e-5
    assert y["cchunk"] is x["cchunk"] and y["mfcc"] is x["mfcc"]
    single = st.normalize({"lps": x["lps"][0].double()})["lps"]  # (C, T), other dtype
    assert single.dtype == torch.float64 and torch.allclose(single.float(), y["lps"][0])
    with pytest.raises(StatsError, match="'lps' has shape"):
        st.normalize({"lps": torch.randn(1, 3, 2)})


def _write_json_stats(path: Path, stats: dict[str, dict[str, list[float]]]) -> Path:
    data = {"format": "pase-target-stats", "version": 1, "std_mode": "pooled", "stats": stats}
    path.write_text(json.dumps(data))  # json writes NaN / Infinity literals (and reads them)
    return path


@pytest.mark.parametrize(
    ("mean", "std", "expected"),
    [
        ([0.0, float("nan"), 0.0], [1.0, 1.0, 1.0], r"non-finite mean in channel 1 \(of 3\)"),
        ([0.0, 0.0, 0.0], [1.0, float("inf"), float("nan")], r"non-finite std in channels 1, 2"),
        ([0.0, 0.0, 0.0], [1.0, -0.5, 1.0], r"negative std in channel 1 \(of 3\)"),
    ],
)
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_load_refuses_bad_values(
    tmp_path: Path, mean: list[float], std: list[float], expected: str, suffix: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    if suffix == ".json":
        _write_json_stats(path, {"lps": {"mean": [0.0], "std": [1.0]}, "mfcc": {"mean": mean,
                                 "std": std}})  # fmt: skip
    else:  # an npz with the same layout as TargetStats.save writes
        meta = {"format": "pase-target-stats", "version": 1, "std_mode": "pooled",
                "stats": {"mfcc": {"index": 0, "count": 0}}}  # fmt: skip
        np.savez(path, meta=np.array(json.dumps(meta)), mean_0=np.array(mean, np.float32),
                 std_0=np.array(std, np.float32))  # fmt: skip
    with pytest.raises(StatsError, match=rf"{path.name}: key 'mfcc': {expected}"):
        TargetStats.load(path)


def test_load_refuses_non_numbers(tmp_path: Path) -> None:
    path = _write_json_stats(tmp_path / "s.json", {"mfcc": {"mean": ["a"], "std": [1.0]}})
    with pytest.raises(StatsError, match=r"s\.json: key 'mfcc': mean/std must be lists of num"):
        TargetStats.load(path)


def test_legacy_pickle_refuses_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "stats.pkl"
    with open(path, "wb") as f:
        pickle.dump({"lps": {"mean": torch.zeros(3), "std": torch.tensor([1.0, -1.0, 1.0])}}, f)
    with pytest.warns(LegacyPickleWarning), pytest.raises(StatsError, match=r"stats\.pkl.*negat"):
        TargetStats.load(path, legacy_pickle=True)
    with open(path, "wb") as f:
        pickle.dump({"lps": {"mean": torch.tensor([float("nan")]), "std": torch.ones(1)}}, f)
    with pytest.warns(LegacyPickleWarning), pytest.raises(StatsError, match=r"non-finite mean"):
        TargetStats.load(path, legacy_pickle=True)


def test_zero_std_as_make_stats_writes_it_loads_with_a_warning(tmp_path: Path) -> None:
    # a channel constant over the sampled data (unvoiced-only prosody) has pooled std 0
    acc = StatsAccumulator()
    pros = torch.rand(4, 4, 20)
    pros[:, 1:3] = 0.0
    acc.update({"prosody": pros, "lps": torch.randn(4, 5, 20)})
    st = acc.result()
    assert st.std["prosody"][1] == 0 and st.floored() == {"prosody": [1, 2]}
    path = tmp_path / "stats.json"
    st.save(path)
    with pytest.warns(StatsWarning, match=r"stats\.json.*'prosody' channels 1, 2 \(of 4\)"):
        back = TargetStats.load(path)
    assert torch.equal(back.std["prosody"], st.std["prosody"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning without floored channels
        TargetStats.load(_write_json_stats(tmp_path / "ok.json", {"lps": {"mean": [0.0],
                                                                   "std": [2.0]}}))  # fmt: skip


def test_check_against_the_workers_targets() -> None:
    from pase.targets import TargetSet
    from tests.train.conftest import TINY_WORKERS

    targets = TargetSet.from_workers_cfg(TINY_WORKERS)  # cchunk (waveform), mfcc 13, prosody 4
    good = TargetStats(
        mean={"mfcc": torch.zeros(13), "prosody": torch.zeros(4), "lps": torch.zeros(2)},
        std={"mfcc": torch.ones(13), "prosody": torch.ones(4), "lps": torch.ones(2)},
    )
    good.check(targets, "s.json")  # extra keys are fine, the waveform needs none
    short = TargetStats(
        mean={"mfcc": torch.zeros(39), "prosody": torch.zeros(4)},
        std={"mfcc": torch.ones(39), "prosody": torch.ones(4)},
    )
    with pytest.raises(StatsError, match=r"s\.json .*'mfcc' has 13 channels, its statistics 39"
                       r".*pase-make-stats --net-cfg w\.cfg"):  # fmt: skip
        short.check(targets, "s.json", net_cfg="w.cfg")
    lacking = TargetStats(mean={"mfcc": torch.zeros(13)}, std={"mfcc": torch.ones(13)})
    with pytest.raises(StatsError, match=r"s\.json has no statistics for \['prosody'\]"):
        lacking.check(targets, "s.json")
