"""Kaldi CMVN stats: definition, application, file formats (read back with kaldi-native-io)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pase.features.cmvn import (
    CmvnError,
    apply_cmvn,
    compute_cmvn_stats,
    global_stats,
    read_stats,
    speaker_stats,
    stats_for,
    write_global_stats,
    write_speaker_stats,
)


@pytest.fixture
def utts() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        f"{spk}-{i}": (rng.standard_normal((20 + 7 * i, 4)) * (1 + i) + 3 * i).astype(np.float32)
        for spk in ("a", "b")
        for i in range(3)
    }


def test_stats_layout_and_sum(utts: dict[str, np.ndarray]) -> None:
    x = utts["a-1"]
    s = compute_cmvn_stats(x)
    assert s.shape == (2, 5) and s.dtype == np.float64
    np.testing.assert_allclose(s[0, :4], x.astype(np.float64).sum(0))
    np.testing.assert_allclose(s[1, :4], (x.astype(np.float64) ** 2).sum(0))
    assert s[0, 4] == x.shape[0] and s[1, 4] == 0
    g = global_stats(utts.values())
    np.testing.assert_allclose(g, compute_cmvn_stats(np.concatenate(list(utts.values()))))


def test_apply_matches_numpy_normalisation(utts: dict[str, np.ndarray]) -> None:
    allx = np.concatenate(list(utts.values())).astype(np.float64)
    g = global_stats(utts.values())
    x = utts["b-2"]
    np.testing.assert_allclose(apply_cmvn(x, g), x - allx.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        apply_cmvn(x, g, norm_vars=True), (x - allx.mean(0)) / allx.std(0), rtol=1e-5, atol=1e-5
    )
    y = apply_cmvn(allx, g, norm_vars=True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-5)
    # a constant dimension is floored, not divided by zero
    c = np.ones((5, 2), np.float32)
    assert np.isfinite(apply_cmvn(c, compute_cmvn_stats(c), norm_vars=True)).all()


def test_kaldi_native_fbank_agrees(utts: dict[str, np.ndarray]) -> None:
    knf = pytest.importorskip("kaldi_native_fbank")
    x = utts["a-2"]
    np.testing.assert_allclose(knf.compute_cmvn_stats(x), compute_cmvn_stats(x), rtol=1e-6)
    s = compute_cmvn_stats(x)
    opts = knf.CmvnOptions()
    opts.norm_vars = True
    np.testing.assert_allclose(
        knf.apply_cmvn(s, opts, x), apply_cmvn(x, s, norm_vars=True), rtol=1e-4, atol=1e-5
    )


def test_speaker_stats(utts: dict[str, np.ndarray]) -> None:
    u2s = {u: u.split("-")[0] for u in utts}
    st = speaker_stats(utts.items(), u2s)
    assert sorted(st) == ["a", "b"]
    np.testing.assert_allclose(st["a"], global_stats(v for u, v in utts.items() if u[0] == "a"))
    assert stats_for(st, "b-1", u2s) is st["b"]
    with pytest.raises(CmvnError, match="'x-1'"):
        speaker_stats([("x-1", utts["a-1"])], u2s)
    with pytest.raises(CmvnError, match="dimension 4, features have 3"):
        apply_cmvn(np.zeros((3, 3)), st["a"])


def test_files_round_trip_and_kaldi_readable(tmp_path: Path, utts: dict[str, np.ndarray]) -> None:
    u2s = {u: u.split("-")[0] for u in utts}
    g = global_stats(utts.values())
    write_global_stats(tmp_path / "cmvn.ark", g)
    np.testing.assert_array_equal(read_stats(tmp_path / "cmvn.ark"), g)
    st = speaker_stats(utts.items(), u2s)
    ark, scp = tmp_path / "spk" / "cmvn.ark", tmp_path / "spk" / "cmvn.scp"
    write_speaker_stats(ark, scp, st)
    back = read_stats(scp)
    assert sorted(back) == ["a", "b"]
    np.testing.assert_array_equal(back["b"], st["b"])
    np.testing.assert_array_equal(read_stats(ark)["a"], st["a"])
    kio = pytest.importorskip("kaldi_native_io")
    reader = kio.RandomAccessDoubleMatrixReader(f"scp:{scp}")
    np.testing.assert_array_equal(np.array(reader["a"], copy=True), st["a"])
    np.testing.assert_array_equal(np.array(kio.DoubleMatrix.read(str(tmp_path / "cmvn.ark"))), g)
    with pytest.raises(CmvnError, match="no such"):
        read_stats(tmp_path / "missing.ark")
