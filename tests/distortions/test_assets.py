"""The distortion assets (pase.distortions.fir, pase.distortions.assets, pase-prepare-distortions):
the filters' frequency responses, the config written (valid, usable by the distortion chain,
its filters doing what they are for), overlapping speech from the training set, the OpenSLR
layout, reruns, and the errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pase.bin import prepare_distortions as cli
from pase.distortions import DistortionConfig, Distortions
from pase.distortions.assets import (
    AssetError,
    AssetSettings,
    overlap_files,
    prepare_distortions,
)
from pase.distortions.fir import (
    LOWPASS_NAME,
    bandstop_fir,
    filter_bank,
    lowpass_fir,
    magnitude_db,
    random_bands,
)
from tests.distortions.conftest import SR
from tests.distortions.test_prepare_openslr import fake_openslr

SMALL = AssetSettings(
    num_noises=2, num_rirs=3, noise_seconds=1.0, num_bandrop=4, rir_method="simple"
)


def quiet(_msg: str) -> None:
    pass


def train_dir(root: Path, n: int = 5) -> Path:
    """A data dir ``root/data/train`` whose ``wav.scp`` names ``n`` short speech-like wavs in
    two speaker folders."""
    rng = np.random.default_rng(1)
    d = root / "data" / "train"
    d.mkdir(parents=True)
    lines = []
    for i in range(n):
        f = root / "corpus" / f"spk{i % 2}" / f"utt{i}.wav"
        f.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(0.5 * SR)) / SR
        x = 0.3 * np.sin(2 * np.pi * (120 + 20 * i) * t) + 0.01 * rng.standard_normal(t.size)
        sf.write(f, x.astype(np.float32), SR)
        lines.append(f"utt{i} {f}\n")
    (d / "wav.scp").write_text("".join(lines))
    return d


# --------------------------------------------------------------------------------- filters
def test_lowpass_removes_everything_above_4_khz() -> None:
    h = lowpass_fir()
    above = magnitude_db(h, np.linspace(4000, 8000, 400))
    below = magnitude_db(h, np.linspace(0, 3400, 400))
    assert above.max() < -50
    assert np.abs(below).max() < 0.1


def test_bandstop_attenuates_its_band_and_passes_the_rest() -> None:
    for lo, hi in random_bands(np.random.default_rng(0), 20):
        assert 400 <= hi - lo <= 1500 and 200 <= lo and hi <= 7600
        h = bandstop_fir(lo, hi)
        inside = magnitude_db(h, np.linspace(lo + 100, hi - 100, 50))
        outside = magnitude_db(
            h, np.r_[np.linspace(0, lo - 300, 30), np.linspace(hi + 300, 8000, 30)]
        )
        assert inside.max() < -30, (lo, hi)
        assert np.abs(outside).max() < 0.5, (lo, hi)


def test_filter_design_errors() -> None:
    with pytest.raises(ValueError, match="must lie in"):
        bandstop_fir(3000, 2000)
    with pytest.raises(ValueError, match="odd number of taps"):
        bandstop_fir(1000, 2000, num_taps=128)
    with pytest.raises(ValueError, match="cutoff"):
        lowpass_fir(9000)


def test_filter_bank_names() -> None:
    bank = filter_bank([(611.4, 1195.9)], lowpass=lowpass_fir(4000, 101), bandstop_taps=129)
    assert list(bank) == [LOWPASS_NAME, "bandrop_00_611_1195.npy"]
    assert bank[LOWPASS_NAME].shape == (101,) and bank[LOWPASS_NAME].dtype == np.float32


# --------------------------------------------------------------------------------- assets
def test_simulated_assets_make_a_usable_config(tmp_path: Path) -> None:
    train = train_dir(tmp_path)
    res = prepare_distortions(tmp_path / "dist", SMALL, train_dir=train, say=quiet)
    assert res.made and res.source == "simulated"
    out = tmp_path / "dist"
    assert len(list((out / "simulated" / "rirs").glob("*.wav"))) == 3
    assert len(list((out / "simulated" / "noises").glob("*.wav"))) == 2
    assert sorted(p.name for p in (out / "filters").glob("*.npy"))[-1] == LOWPASS_NAME
    assert len(list((out / "filters").glob("bandrop_*.npy"))) == 4
    raw = json.loads(res.config.read_text())
    cfg = DistortionConfig.load(res.config)
    for kind in ("reverb", "overlap", "noises", "clip", "chop", "bandrop", "downsample"):
        assert cfg.active(kind), kind
    # overlapping speech: the training files, relative to their common folder
    root = Path(raw["overlap_dir"])
    names = Path(raw["overlap_list"]).read_text().split()
    assert root == tmp_path / "corpus"
    assert sorted(str(root / n) for n in names) == sorted(
        line.split()[1] for line in (train / "wav.scp").read_text().splitlines()
    )
    assert res.config.with_name("distortions.json.stamp.json").is_file()
    d = Distortions.from_config(res.config, seed=0)
    assert d.names == ["reverb", "overlap", "noises", "clip", "chop", "bandrop", "downsample"]
    x = 0.1 * torch.randn(6, SR)
    y = d(x)
    assert y.shape == x.shape and torch.isfinite(y).all() and not torch.equal(x, y)


def _spectrum_db(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    spec = np.abs(np.fft.rfft(x.numpy(), axis=-1)) ** 2
    return np.fft.rfftfreq(x.shape[-1], 1 / SR), 10 * np.log10(spec.mean(0) + 1e-20)


def test_written_filters_act_through_the_distortion_chain(tmp_path: Path) -> None:
    """Only the narrow-band kind (p=1): white noise loses what is above 4 kHz; only band-drop:
    some band of every example drops by far more than the rest."""
    res = prepare_distortions(tmp_path / "dist", SMALL, say=quiet)
    raw = json.loads(res.config.read_text())
    off = {k: 0.0 for k in raw if k.endswith("_p")}
    x = torch.randn(8, 4 * SR, generator=torch.Generator().manual_seed(0))
    d = Distortions.from_config({**raw, **off, "downsample_p": 1.0}, seed=0)
    f, s = _spectrum_db(d(x))
    assert s[f > 4200].max() < s[(f > 300) & (f < 3000)].mean() - 40
    d = Distortions.from_config({**raw, **off, "bandrop_p": 1.0}, seed=0)
    f, s = _spectrum_db(d(x))
    bands = [tuple(map(int, n[:-4].split("_")[2:])) for n in raw["bandrop_irfiles"]]
    for row in d(x):
        _, srow = _spectrum_db(row[None])
        dips = [srow[(f > lo + 100) & (f < hi - 100)].mean() for lo, hi in bands]
        assert min(dips) < np.median(srow) - 25


def test_rerun_is_a_no_op_and_a_touched_file_remakes(tmp_path: Path) -> None:
    train = train_dir(tmp_path)
    out = tmp_path / "dist"
    prepare_distortions(out, SMALL, train_dir=train, say=quiet)
    files = [out / "distortions.json", *sorted((out / "filters").iterdir()), out / "overlap.lst"]
    times = [f.stat().st_mtime_ns for f in files]
    said: list[str] = []
    res = prepare_distortions(out, SMALL, train_dir=train, say=said.append)
    assert not res.made and any("distortions.json is up to date" in m for m in said)
    assert [f.stat().st_mtime_ns for f in files] == times
    # another seed, a changed training list, an edited filter: recomputed
    said.clear()
    assert prepare_distortions(out, AssetSettings(**{**SMALL.__dict__, "seed": 1}),
                               train_dir=train, say=said.append).made  # fmt: skip
    assert any("option seed: 0 -> 1" in m for m in said)
    with (train / "wav.scp").open("a") as f:
        f.write(f"extra {next((tmp_path / 'corpus').rglob('*.wav'))}\n")
    assert prepare_distortions(out, SMALL, train_dir=train, say=quiet).made
    lp = out / "filters" / LOWPASS_NAME
    np.save(lp, np.ones(3, dtype=np.float32))
    assert prepare_distortions(out, SMALL, train_dir=train, say=quiet).made
    assert np.load(lp).shape == (255,)


def test_overlap_subset_is_seeded(tmp_path: Path) -> None:
    train = train_dir(tmp_path, n=9)
    root, names = overlap_files(train, max_files=4, seed=3)
    assert len(names) == 4 and names == sorted(names)
    assert overlap_files(train, max_files=4, seed=3) == (root, names)
    assert len(overlap_files(train)[1]) == 9


def fake_rirs_noises(root: Path, musan: bool = True) -> tuple[Path, Path | None]:
    """``root/RIRS_NOISES/{simulated_rirs/<room>/..., pointsource_noises/*.wav}`` and
    ``root/musan/noise/{free-sound,sound-bible}/*.wav``."""
    data = fake_openslr(root / "tmp", prefix="RIRS_NOISES/simulated_rirs")
    rn = root / "RIRS_NOISES"
    rn.mkdir(parents=True)
    shutil.move(data, rn / "simulated_rirs")
    rng = np.random.default_rng(2)
    folders = [rn / "pointsource_noises"]
    if musan:
        folders += [
            root / "musan" / "noise" / "free-sound",
            root / "musan" / "noise" / "sound-bible",
        ]
    for i, d in enumerate(folders):
        d.mkdir(parents=True)
        for k in range(2):
            sf.write(d / f"noise-{i}-{k}.wav", 0.1 * rng.standard_normal(SR).astype(np.float32), SR)
    return root, (root / "musan" if musan else None)


def test_openslr_assets(tmp_path: Path) -> None:
    downloads, musan = fake_rirs_noises(tmp_path / "downloads")
    settings = AssetSettings(rirs_noises=str(downloads), musan=str(musan), num_bandrop=2)
    res = prepare_distortions(tmp_path / "dist", settings, train_dir=train_dir(tmp_path), say=quiet)
    assert res.source == "openslr"
    raw = json.loads(res.config.read_text())
    assert raw["reverb_data_root"] == str(downloads / "RIRS_NOISES" / "simulated_rirs")
    assert len(raw["reverb_irfiles"]) == 18 and raw["reverb_irfiles"] == sorted(
        raw["reverb_irfiles"]
    )
    assert [Path(d).name for d in raw["noises_dir"]] == ["pointsource_noises", "free-sound",
                                                         "sound-bible"]  # fmt: skip
    assert not (tmp_path / "dist" / "simulated").exists()
    d = Distortions.from_config(res.config, seed=0)
    assert d(0.1 * torch.randn(2, SR)).shape == (2, SR)
    # a rir_list that changes makes it stale
    rl = downloads / "RIRS_NOISES" / "simulated_rirs" / "largeroom" / "rir_list"
    rl.write_text("\n".join(rl.read_text().splitlines()[:1]) + "\n")
    res = prepare_distortions(tmp_path / "dist", settings, train_dir=train_dir(tmp_path / "b"),
                              say=quiet)  # fmt: skip
    assert res.made and len(json.loads(res.config.read_text())["reverb_irfiles"]) == 15


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match=r"wav\.scp: no such file"):
        prepare_distortions(tmp_path / "d", SMALL, train_dir=tmp_path / "nowhere", say=quiet)
    with pytest.raises(AssetError, match="RIRS_NOISES"):
        prepare_distortions(tmp_path / "d", AssetSettings(rirs_noises=str(tmp_path)), say=quiet)
    with pytest.raises(AssetError, match="give RIRS_NOISES too"):
        AssetSettings(musan=str(tmp_path))
    downloads, _ = fake_rirs_noises(tmp_path / "dl", musan=False)
    shutil.rmtree(downloads / "RIRS_NOISES" / "pointsource_noises")
    with pytest.raises(AssetError, match="pointsource_noises: no noise files"):
        prepare_distortions(tmp_path / "d", AssetSettings(rirs_noises=str(downloads)), say=quiet)


# --------------------------------------------------------------------------------- CLI
def test_cli_writes_the_config_and_reports_errors_in_one_line(tmp_path: Path, capsys) -> None:
    train = train_dir(tmp_path)
    out = tmp_path / "dist"
    args = ["--train-dir", str(train), "--num-rirs", "2", "--num-noises", "1",
            "--noise-seconds", "0.5", "--num-bandrop", "3", "--seed", "4", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str(out / "distortions.json")
    raw = json.loads((out / "distortions.json").read_text())
    assert len(raw["bandrop_irfiles"]) == 3 and len(raw["reverb_irfiles"]) == 2
    from pase.bin import check_distortions

    assert check_distortions.main([str(out / "distortions.json")]) == 0
    assert cli.main(args) == 0
    assert "is up to date" in capsys.readouterr().err
    assert cli.main([*args, "--force"]) == 0
    assert "recomputing (--force)" in capsys.readouterr().err
    assert cli.main(["--train-dir", str(tmp_path / "nowhere"), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pase-prepare-distortions: error: ") and err.count("\n") == 1
    assert "nowhere/wav.scp: no such file" in err
    assert os.path.isfile(out / "distortions.json")  # the old config is left as it was


# --------------------------------------------------------------------------------- rooms
def test_image_method_rooms(tmp_path: Path) -> None:
    pytest.importorskip("pyroomacoustics")
    settings = AssetSettings(**{**SMALL.__dict__, "rir_method": "image"})
    assert settings.rirs == "image"
    res = prepare_distortions(tmp_path / "dist", settings, say=quiet)
    raw = json.loads(res.config.read_text())
    assert raw["reverb_data_root"] == str(tmp_path / "dist" / "rooms")
    late = []
    for name in raw["reverb_irfiles"]:
        h, sr = sf.read(tmp_path / "dist" / "rooms" / name)
        assert sr == SR and h.ndim == 1 and len(h) <= 24000
        assert np.isclose(np.abs(h).max(), 1.0, atol=1e-4)
        peak = int(np.argmax(np.abs(h)))
        e = h[peak:] ** 2
        late.append(e[int(0.05 * SR) :].sum() / e.sum())  # energy after 50 ms
    assert late == sorted(late) and late[0] < late[-1]  # RT60 0.2 -> 0.9 s: longer tails
    stamp = json.loads(res.config.with_name("distortions.json.stamp.json").read_text())
    assert stamp["options"]["rirs"] == "image" and stamp["options"]["pyroomacoustics"]
    d = Distortions.from_config({**raw, "reverb_p": 1.0}, seed=0)
    assert d(0.1 * torch.randn(2, SR)).shape == (2, SR)
    assert not prepare_distortions(tmp_path / "dist", settings, say=quiet).made


def test_without_pyroomacoustics_auto_falls_back(tmp_path: Path, monkeypatch) -> None:
    import pase.distortions.assets as assets

    monkeypatch.setattr(assets, "image_method_version", lambda: None)
    settings = AssetSettings(**{**SMALL.__dict__, "rir_method": "auto"})
    assert settings.rirs == "simple"
    res = prepare_distortions(tmp_path / "dist", settings, say=quiet)
    raw = json.loads(res.config.read_text())
    assert raw["reverb_data_root"] == str(tmp_path / "dist" / "simulated" / "rirs")
    with pytest.raises(AssetError, match="pyroomacoustics is not installed"):
        AssetSettings(rir_method="image")
    with pytest.raises(AssetError, match="use one of auto, image, simple"):
        AssetSettings(rir_method="rooms")
