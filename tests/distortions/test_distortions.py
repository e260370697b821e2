"""The config-driven chain: probabilities, order, seeding, resume, per-example independence,
and what each distortion does to a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pase.distortions import Distortions, distortion_kinds
from pase.distortions import functional as Fd
from pase.distortions.vad import speech_mask
from tests.distortions.conftest import SR, make_tree, speechlike

ALL_P = (
    "reverb",
    "overlap",
    "noises",
    "clip",
    "chop",
    "bandrop",
    "downsample",
    "speed",
    "resample",
)


def _on(cfg: dict, p: float = 1.0, names: tuple[str, ...] = ALL_P, **extra: object) -> dict:
    return dict(cfg, **{f"{n}_p": p for n in names}, **extra)


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.from_numpy(speechlike(8, 0.5))


def test_probability_zero_is_identity(tree_cfg: dict, batch: torch.Tensor) -> None:
    d = Distortions.from_config(tree_cfg, seed=0)
    assert len(d) == 0
    y = d(batch)
    assert torch.equal(y, batch) and y is not batch


def test_probability_one_always_applies_in_the_fixed_order(
    tree_cfg: dict, batch: torch.Tensor
) -> None:
    d = Distortions.from_config(_on(tree_cfg), seed=0)
    assert d.names == [k.name for k in distortion_kinds() if k.name in ALL_P]
    y, applied = d(batch, return_applied=True)
    assert set(applied) == set(ALL_P)
    assert all(bool(m.all()) for m in applied.values())
    assert y.shape == batch.shape and torch.isfinite(y).all()
    assert not torch.allclose(y, batch, atol=1e-3)
    # each one alone changes every example (broadband input: every band-stop filter bites)
    broad = batch + 0.02 * torch.from_numpy(np.random.default_rng(0).standard_normal(batch.shape))
    broad = broad.float()
    for name in ALL_P:
        single = Distortions.from_config(_on(tree_cfg, names=(name,)), seed=1)
        out = single(broad)
        assert single.names == [name]
        assert all(not torch.allclose(o, b, atol=1e-4) for o, b in zip(out, broad)), name


def test_same_seed_same_output_different_seed_different(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(8, 0.5, seed=3))
    cfg = _on(tree_cfg, 0.5, overlap_reverb=True)
    a = Distortions.from_config(cfg, seed=7)(x)
    b = Distortions.from_config(cfg, seed=7)(x)
    c = Distortions.from_config(cfg, seed=8)(x)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_seed_none_follows_torch_manual_seed(tree_cfg: dict) -> None:
    torch.manual_seed(123)
    s1 = Distortions.from_config(tree_cfg).seed
    torch.manual_seed(123)
    assert Distortions.from_config(tree_cfg).seed == s1


def test_state_dict_resume_and_explicit_generator(tree_cfg: dict) -> None:
    x1 = torch.from_numpy(speechlike(8, 0.5, seed=1))
    x2 = torch.from_numpy(speechlike(8, 0.5, seed=2))
    cfg = _on(tree_cfg, 0.5)
    d = Distortions.from_config(cfg, seed=11)
    d(x1)
    state = {
        k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in d.state_dict().items()
    }
    expected = d(x2)
    resumed = Distortions.from_config(cfg, seed=999)
    resumed.load_state_dict(state)
    assert torch.equal(resumed(x2), expected)
    # an explicit generator is used instead of (and leaves untouched) the internal one
    before = d.generator.get_state()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(d(x1, generator=g1), d(x1, generator=g2))
    assert torch.equal(d.generator.get_state(), before)
    with pytest.raises(ValueError, match="rng_state"):
        d.load_state_dict({"seed": 1})


def test_per_example_independence(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(1, 1.0)).repeat(64, 1)  # 64 identical examples
    d = Distortions.from_config(_on(tree_cfg, 0.5), seed=2)
    _, applied = d(x, return_applied=True)
    masks = torch.stack([applied[n] for n in d.names]).float()  # (distortions, B)
    assert torch.all((masks.mean(1) > 0.25) & (masks.mean(1) < 0.75))
    # draws are not shared between distortions nor between examples
    assert len({tuple(col.tolist()) for col in masks.T}) > 40
    assert len({tuple(row.tolist()) for row in masks}) == len(d.names)
    # identical inputs with the same distortion applied still get different random choices
    noise_only = Distortions.from_config(_on(tree_cfg, names=("noises",)), seed=2)(x)
    assert len({round(float(v), 4) for v in noise_only[:, 1000]}) > 30


def test_additive_noise_snr_through_the_chain(tree_cfg: dict, tmp_path: Path) -> None:
    # a constant noise file: whatever segment is drawn, the added noise is a multiple of 1,
    # so the mixture can be decomposed exactly as a * x + b * 1
    (tmp_path / "dc").mkdir()
    sf.write(tmp_path / "dc" / "dc.wav", np.full(3 * SR, 0.25), SR)
    cfg = _on(tree_cfg, names=("noises",), noises_dir=str(tmp_path / "dc"), noises_snrs=[7.0])
    x = torch.from_numpy(speechlike(4, 1.0)).double()
    y = Distortions.from_config(cfg, seed=0)(x)
    for s, m in zip(x.numpy(), y.numpy()):
        A = np.stack([s, np.ones_like(s)], 1)
        (a, b), *_ = np.linalg.lstsq(A, m, rcond=None)
        assert np.abs(A @ [a, b] - m).max() < 1e-9
        snr = 10 * np.log10(a * a * (s @ s) / (b * b * len(s)))
        assert abs(snr - 7.0) < 0.5
        assert abs(m @ m - s @ s) < 1e-9 * (s @ s)  # energy kept


def test_every_energy_matched_distortion_keeps_energy(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(6, 1.0)).double()
    for name in ("reverb", "overlap", "noises", "bandrop", "downsample"):
        y = Distortions.from_config(_on(tree_cfg, names=(name,)), seed=4)(x)
        assert torch.allclose(Fd.energy(y), Fd.energy(x), rtol=1e-9), name


def test_overlap_starts_after_a_random_shift(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(1, 1.0)).double().repeat(32, 1)
    x = x + 1e-3  # no exact zeros: a ratio to x is defined everywhere
    y = Distortions.from_config(_on(tree_cfg, names=("overlap",)), seed=5)(x)
    starts = []
    for xi, yi in zip(x, y):
        g = torch.dot(yi[:50], xi[:50]) / torch.dot(xi[:50], xi[:50])  # speech gain before it
        dev = ((yi - g * xi).abs() > 1e-9).nonzero()
        starts.append(int(dev[0]) if len(dev) else len(xi))
    starts_t = torch.tensor(starts, dtype=torch.float64) / x.shape[1]
    assert torch.all(starts_t < 0.75 + 1e-3)
    assert starts_t.max() > 0.3 and len(set(starts)) > 20


def test_chop_zeros_only_inside_speech_regions(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(16, 1.0, seed=9))
    cfg = _on(tree_cfg, names=("chop",), chop_factors=[[0.08, 0.02]], max_chops=3)
    y = Distortions.from_config(cfg, seed=3)(x)
    zeroed = (y == 0) & (x != 0)
    assert zeroed.sum(1).gt(0).all()  # every example lost something
    regions = speech_mask(x).repeat_interleave(160, 1)
    regions = torch.nn.functional.pad(regions, (0, x.shape[1] - regions.shape[1]))
    assert not (zeroed & ~regions).any()
    assert torch.equal(y[~zeroed], x[~zeroed])  # nothing else changes
    # at most max_chops stretches, each at most ~0.08 + 4 * 0.02 s long
    starts = (zeroed[:, 1:] & ~zeroed[:, :-1]).sum(1)
    assert starts.max() <= 3


def test_clip_through_the_chain(tree_cfg: dict, batch: torch.Tensor) -> None:
    y = Distortions.from_config(_on(tree_cfg, names=("clip",), clip_factors=[0.3]), seed=0)(batch)
    assert torch.allclose(y.amax(1), 0.3 * batch.amax(1))
    assert torch.allclose(y.amin(1), 0.3 * batch.amin(1))


def test_shapes_dtypes_and_bad_inputs(tree_cfg: dict, batch: torch.Tensor) -> None:
    d = Distortions.from_config(_on(tree_cfg, 0.5), seed=0)
    assert d(batch.double()).dtype == torch.float64
    assert d(batch.half()).dtype == torch.float16
    y3 = d(batch[:, None])
    assert y3.shape == (8, 1, batch.shape[1])
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        d(batch[None])
    with pytest.raises(ValueError, match="floating-point"):
        d(batch.long())
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        d(batch.numpy())


def test_bandrop_glob_excludes_the_low_pass_filter(tree_cfg: dict) -> None:
    d = Distortions.from_config(_on(tree_cfg, names=("bandrop", "downsample")), seed=0)
    bandrop, downsample = d.transforms
    names = sorted(Path(p).name for p in bandrop.bank.paths)
    assert names == ["filter_0_500_1000.npy", "filter_1_1000_2000.npy", "filter_2_3000_4500.npy"]
    assert [Path(p).name for p in downsample.bank.paths] == ["filter_16_to_8.npy"]
    # without a downsample list the whole folder is globbed, as the original
    cfg = _on(tree_cfg, names=("bandrop",), downsample_irfiles=[])
    assert len(Distortions.from_config(cfg, seed=0).transforms[0].bank) == 4


def test_disk_banks_give_the_same_result_as_memory_banks(tree_cfg: dict) -> None:
    x = torch.from_numpy(speechlike(8, 0.5))
    cfg = _on(tree_cfg, 0.7, overlap_reverb=True)
    mem = Distortions.from_config(cfg, seed=3)
    disk = Distortions.from_config(dict(cfg, bank_memory_mb=1e-4), seed=3)
    assert all(t.bank.in_memory for t in mem.transforms if hasattr(t, "bank"))
    assert not any(t.bank.in_memory for t in disk.transforms if hasattr(t, "bank"))
    assert torch.allclose(mem(x), disk(x), atol=1e-6)


def test_relative_paths_resolve_against_base_dir(tmp_path: Path) -> None:
    cfg = make_tree(tmp_path)
    rel = {
        k: (
            str(Path(v).relative_to(tmp_path))
            if isinstance(v, str) and v.startswith(str(tmp_path))
            else v
        )
        for k, v in cfg.items()
    }
    rel["noises_dir"] = ["noises/a"]
    d = Distortions.from_config(_on(rel), seed=0, base_dir=tmp_path)
    assert len(d) == len(ALL_P)


def test_wav_impulse_responses(tree_cfg: dict) -> None:
    cfg = _on(tree_cfg, names=("reverb",), reverb_fmt="wav")
    d = Distortions.from_config(cfg, seed=0)
    assert [Path(p).name for p in d.transforms[0].bank.paths] == ["ir_wav.wav"]
    x = torch.from_numpy(speechlike(2, 1.0))
    assert torch.allclose(Fd.energy(d(x)), Fd.energy(x), rtol=1e-4)


def test_pickles_for_dataloader_workers(tree_cfg: dict) -> None:
    # In-memory round trip of our own object, as multiprocessing does when it hands the
    # distortions to spawned DataLoader workers; no file is ever unpickled.
    import pickle

    d = Distortions.from_config(_on(tree_cfg, 0.5), seed=3)
    clone = pickle.loads(pickle.dumps(d))
    x = torch.from_numpy(speechlike(4, 0.5))
    assert torch.equal(d(x), clone(x))


@pytest.mark.parametrize("length", [1, 100, 161, 1000])
def test_short_and_silent_chunks(tree_cfg: dict, length: int) -> None:
    d = Distortions.from_config(_on(tree_cfg, overlap_reverb=True), seed=0)
    for x in (torch.randn(3, length), torch.zeros(3, length)):
        y = d(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
    assert torch.equal(d(torch.zeros(3, 1000)), torch.zeros(3, 1000))  # silence stays silent
