"""TargetSet from the workers configs: shapes, batch/device/dtype consistency, cfg errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.targets import TargetSet
from pase.targets import functional as tf
from pase.targets.prosody import prosody
from pase.workers.config import CONF_DIR, WorkersConfigError
from tests.conftest import harmonic
from tests.targets import refs

ROOT = Path(__file__).resolve().parents[2]
PASE_PLUS_SHAPES = {
    "cchunk": (1, 32000), "lps": (3075, 200), "lps_long": (3075, 200), "fbank": (120, 200),
    "fbank_long": (120, 200), "gtn": (120, 200), "gtn_long": (120, 200), "mfcc": (39, 200),
    "mfcc_long": (60, 200), "prosody": (12, 200),
}  # fmt: skip


@pytest.fixture(scope="module")
def pase_plus() -> TargetSet:
    return TargetSet.from_workers_cfg("workers+")


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    speech = torch.from_numpy(harmonic(130, 2.0))
    return torch.stack([speech, 0.1 * torch.randn(32000, generator=g), speech * 0.01])


def test_pase_plus_shapes(pase_plus: TargetSet, batch: torch.Tensor) -> None:
    out = pase_plus(batch)
    assert list(out) == list(PASE_PLUS_SHAPES)
    for name, shape in PASE_PLUS_SHAPES.items():
        assert out[name].shape == (3, *shape), name
        assert out[name].dtype == torch.float32 and torch.isfinite(out[name]).all(), name
    assert pase_plus.dims == {k: v[0] for k, v in PASE_PLUS_SHAPES.items()}
    assert torch.equal(out["cchunk"][:, 0], batch)
    assert pase_plus.waveform_names == ["cchunk"]


def test_pase_shapes() -> None:
    ts = TargetSet.from_workers_cfg("workers")
    out = ts(torch.randn(2, 16000))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "cchunk": (2, 1, 16000), "lps": (2, 1025, 100), "mfcc": (2, 20, 100),
        "prosody": (2, 4, 100),
    }  # fmt: skip


def test_odd_length_and_channel_dim(pase_plus: TargetSet) -> None:
    x = torch.randn(2, 1, 16170)
    out = pase_plus(x)
    assert out["lps"].shape == (2, 3075, 101) and out["cchunk"].shape == (2, 1, 16170)


def test_batch_consistency(pase_plus: TargetSet, batch: torch.Tensor) -> None:
    full = pase_plus(batch)
    for i in range(batch.shape[0]):
        single = pase_plus(batch[i : i + 1])
        for name in full:
            torch.testing.assert_close(single[name][0], full[name][i], rtol=1e-5, atol=1e-4)


def test_float64_matches_float32(pase_plus: TargetSet, batch: torch.Tensor) -> None:
    x = batch[:1]
    out32, out64 = pase_plus(x), pase_plus(x.double())
    for name in out32:
        assert out64[name].dtype == torch.float64
        a, b = out32[name].double(), out64[name]
        if name.startswith("lps"):  # float32 FFT noise dominates bins far below the peak
            ok = b > b.amax() - 60
            assert (a - b).abs()[ok].max() < 0.05, name
        else:
            assert (a - b).abs().max() < 0.05 * max(1.0, float(b.abs().max())), name
    half = pase_plus(x.half())
    assert half["lps"].dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(pase_plus: TargetSet, batch: torch.Tensor) -> None:
    cpu, gpu = pase_plus(batch), pase_plus(batch.cuda())
    for name in cpu:
        assert gpu[name].device.type == "cuda"
        b = cpu[name]
        ok = b > b.amax() - 60 if name.startswith("lps") else torch.ones_like(b, dtype=torch.bool)
        assert (gpu[name].cpu() - b).abs()[ok].max() < 1e-2 * max(1.0, float(b.abs().max())), name


@pytest.mark.parametrize("length", [0, 100, 500, 1500])
def test_short_and_empty_inputs(pase_plus: TargetSet, length: int) -> None:
    for batch in (2, 0):
        out = pase_plus(torch.randn(batch, length))
        for name, v in out.items():
            t = length if name == "cchunk" else length // 160
            assert v.shape == (batch, pase_plus.dims[name], t), name
            assert torch.isfinite(v).all(), name


def test_bad_inputs(pase_plus: TargetSet) -> None:
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        pase_plus(torch.zeros(32000))
    with pytest.raises(ValueError, match="floating"):
        pase_plus(torch.zeros(1, 32000, dtype=torch.int16))
    x = torch.zeros(3, 32000)
    x[2, 5] = float("nan")
    with pytest.raises(ValueError, match=r"NaN/Inf.*\[2\]"):
        pase_plus(x)


def test_timings_and_subset(pase_plus: TargetSet, batch: torch.Tensor) -> None:
    timings: dict[str, float] = {}
    pase_plus(batch, timings=timings)
    assert set(timings) == set(pase_plus.names) and all(v >= 0 for v in timings.values())
    sub = pase_plus.subset(["gtn", "lps"])
    assert sub.names == ["lps", "gtn"]
    torch.testing.assert_close(sub(batch)["gtn"], pase_plus(batch)["gtn"])
    with pytest.raises(KeyError, match="nope"):
        pase_plus.subset(["nope"])


def _cfg(*workers: dict) -> dict:
    return {"regr": list(workers), "cls": [{"name": "mi"}]}


def test_transform_overrides() -> None:
    ts = TargetSet.from_workers_cfg(_cfg(
        {"name": "lps", "transform": {"n_fft": 512, "win": 320, "der_order": 1, "hop": 160}},
        {"name": "gtn_low", "transform": {"f_min": 100, "n_channels": 20, "der_order": 0}},
        {"name": "mfcc_x", "transform": {"order": 5, "win": 320, "sr": 16000}},
        {"name": "prosody", "num_outputs": 4, "transform": {"der_order": 0, "f0_max": 400}},
    ))  # fmt: skip
    assert ts.dims == {"lps": 514, "gtn_low": 20, "mfcc_x": 15, "prosody": 4}
    out = ts(torch.randn(1, 8000))
    assert out["mfcc_x"].shape == (1, 15, 50)


@pytest.mark.parametrize(
    ("worker", "match"),
    [
        ({"name": "lpc"}, "'lpc'.*known targets"),
        ({"name": "spectrogram"}, "no target for worker name 'spectrogram'"),
        ({"name": "lps", "transform": {"nfft": 512}}, "'lps'.*unknown transform key 'nfft'"),
        ({"name": "gtn", "transform": {"order": 3}}, "'gtn'.*unknown transform key 'order'"),
        ({"name": "lps", "transform": {"win": 1024, "n_fft": 512}}, "n_fft.*win"),
        ({"name": "lps", "transform": {"der_order": 3}}, "der_order"),
        ({"name": "lps", "transform": {"win": "400"}}, "integer"),
        ({"name": "mfcc", "transform": {"hop": 80}}, "hop 80"),
        ({"name": "fbank", "transform": {"rate": 8000}}, "rate 8000"),
        ({"name": "prosody", "transform": {"f0_min": 400}}, "f0_min"),
        ({"name": "lps", "num_outputs": 1025}, "num_outputs 1025.*3075"),
        ({"transform": {}}, "without a 'name'"),
    ],
)
def test_cfg_errors_name_the_worker(worker: dict, match: str) -> None:
    with pytest.raises(WorkersConfigError, match=match):
        TargetSet.from_workers_cfg(_cfg(worker))


def test_cfg_file_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkersConfigError, match=r"nonexistent\.cfg.*cannot read"):
        TargetSet.from_workers_cfg(tmp_path / "nonexistent.cfg")
    bad = tmp_path / "bad.cfg"
    bad.write_text("{regr: [")
    with pytest.raises(WorkersConfigError, match=r"bad\.cfg.*not valid JSON"):
        TargetSet.from_workers_cfg(bad)
    dup = tmp_path / "dup.cfg"
    dup.write_text(json.dumps(_cfg({"name": "lps"}, {"name": "lps"})))
    with pytest.raises(WorkersConfigError, match=r"duplicate.*lps"):
        TargetSet.from_workers_cfg(dup)


def test_builtin_configs_have_the_original_workers() -> None:
    plus = json.loads((CONF_DIR / "workers+.cfg").read_text())
    assert [w["name"] for w in plus["regr"]] == list(PASE_PLUS_SHAPES)
    assert [w["name"] for w in plus["cls"]] == ["mi", "cmi"]
    assert plus["cls"][1]["augment"] is True
    regr = {w["name"]: w for w in plus["regr"]}
    assert all(regr[n]["r"] == 7 and regr[n]["loss"] == "MSELoss" for n in list(regr)[1:])
    assert regr["cchunk"]["type"] == "decoder" and regr["cchunk"]["strides"] == [4, 4, 10]
    assert regr["gtn"]["transform"]["f_min"] == 500
    base = json.loads((CONF_DIR / "workers.cfg").read_text())
    assert [w["name"] for w in base["regr"]] == ["cchunk", "lps", "mfcc", "prosody"]
    assert [w["name"] for w in base["cls"]] == ["spc", "mi", "cmi"]
    # the repository-level link and the path form both work
    link = ROOT / "conf" / "workers"
    assert link.is_symlink() and (link / "workers+.cfg").is_file()
    assert TargetSet.from_workers_cfg(link / "workers.cfg").names == [
        "cchunk",
        "lps",
        "mfcc",
        "prosody",
    ]


def test_targets_use_the_configured_parameters(pase_plus: TargetSet) -> None:
    """Each PASE+ target equals its reference definition with the workers+.cfg parameters."""
    x = torch.from_numpy(harmonic(110, 1.0)).double()
    x = x + 0.01 * torch.randn(16000, dtype=torch.float64)
    out = {k: v[0].numpy() for k, v in pase_plus(x[None]).items()}
    xn = x.numpy()
    expect = {
        "lps": refs.lps(xn, 2048, 400), "lps_long": refs.lps(xn, 2048, 512),
        "fbank": refs.pse_logfbank(xn, 400, 512), "fbank_long": refs.pse_logfbank(xn, 1024, 1024),
        "mfcc": refs.librosa_mfcc(xn, 13, 400), "mfcc_long": refs.librosa_mfcc(xn, 20, 2048),
        "gtn": tf.gammatone(x[None], 40, 400, f_min=500.0)[0].numpy(),
        "gtn_long": tf.gammatone(x[None], 40, 2048, f_min=500.0)[0].numpy(),
        "prosody": prosody(x[None], 320, f0_min=60.0, f0_max=300.0)[0].numpy(),
    }  # fmt: skip
    for name, static in expect.items():
        c = static.shape[0]
        np.testing.assert_allclose(out[name][:c], static, atol=1e-5, err_msg=name)
        d1, d2 = refs.deltas(static)
        np.testing.assert_allclose(out[name][c : 2 * c], d1, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(out[name][2 * c :], d2, atol=1e-5, err_msg=name)
