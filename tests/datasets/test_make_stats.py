"""pase-make-stats: statistics of the clean, unscaled training chunks' targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.bin.make_stats import main, stats_loader
from pase.data import from_datadir
from pase.targets import TargetSet
from pase.targets.stats import TargetStats
from tests.conftest import harmonic
from tests.datasets.conftest import write_wav

WORKERS = {
    "regr": [
        {"name": "cchunk", "type": "decoder", "num_outputs": 1, "loss": "L1Loss"},
        {"name": "mfcc", "num_outputs": 13, "transform": {"order": 13, "der_order": 0}},
        {"name": "fbank", "num_outputs": 120, "transform": {"n_filters": 40}},
    ],
    "cls": [{"name": "mi", "num_outputs": 1}],
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    scp, u2s = [], []
    for k in range(9):
        utt = f"s{k % 3}-u{k}"
        x = harmonic(100 + 20 * k, 0.3 + 0.05 * k) * (0.3 + 0.07 * k)
        scp.append(f"{utt} {write_wav(tmp_path / 'w' / f'{utt}.wav', x)}\n")
        u2s.append(f"{utt} s{k % 3}\n")
    (data / "wav.scp").write_text("".join(scp))
    (data / "utt2spk").write_text("".join(u2s))
    cfg = tmp_path / "workers.cfg"
    cfg.write_text(json.dumps(WORKERS))
    return data, cfg


def test_stats_are_the_frame_statistics_of_clean_chunks(setup, tmp_path: Path) -> None:
    data, cfg = setup
    out = tmp_path / "stats.json"
    argv = [
        "--data_dir",
        str(data),
        "--net_cfg",
        str(cfg),
        "--out_file",
        str(out),
        "--chunk_size",
        "1600",
        "--batch_size",
        "4",
        "--max_batches",
        "20",
        "--seed",
        "5",
    ]
    assert main(argv) == 0
    stats = TargetStats.load(out)
    assert stats.keys == ["mfcc", "fbank"]  # the waveform target is never normalised
    assert stats.std_mode == "pooled"
    # 9 files, batch 4: one pass over the files is 3 batches, fewer than --max_batches
    loader = stats_loader(from_datadir(data), chunk_size=1600, batch_size=4, max_batches=20, seed=5)
    assert len(loader) == 3
    ts = TargetSet.from_workers_cfg(str(cfg))
    frames = {"mfcc": [], "fbank": []}
    for batch in loader:
        # clean and unscaled: the chunks keep the files' own peaks (0.3 .. 0.86)
        assert batch.chunk.abs().amax().item() <= 0.5 * 0.86 + 1e-4
        t = ts(batch.chunk)
        for k in frames:
            frames[k].append(t[k].permute(0, 2, 1).reshape(-1, t[k].shape[1]).double())
    for k, f in frames.items():
        f = torch.cat(f)
        assert stats.counts[k] == f.shape[0] == 12 * 10
        assert torch.allclose(stats.mean[k].double(), f.mean(0), atol=1e-4)
        assert torch.allclose(stats.std[k].double(), f.std(0, unbiased=False), atol=1e-4)


def test_original_std_mode_and_options(setup, tmp_path: Path) -> None:
    data, cfg = setup
    base = [
        "--data_dir",
        str(data),
        "--net_cfg",
        str(cfg),
        "--chunk_size",
        "1600",
        "--batch_size",
        "3",
        "--max_batches",
        "2",
    ]
    a, b = tmp_path / "a.npz", tmp_path / "b.json"
    assert main([*base, "--out_file", str(a), "--std_mode", "per_example"]) == 0
    assert main([*base, "--out_file", str(b), "--exclude_keys", "fbank"]) == 0
    pe, pooled = TargetStats.load(a), TargetStats.load(b)
    assert pe.std_mode == "per_example" and pe.counts["mfcc"] == 6
    assert pooled.keys == ["mfcc"]
    # same chunks, same means; the original's std (of per-chunk stds) is another quantity
    assert torch.allclose(pe.mean["mfcc"], pooled.mean["mfcc"], atol=1e-4)
    assert not torch.allclose(pe.std["mfcc"], pooled.std["mfcc"], rtol=0.1)


def test_data_cfg_input(setup, tmp_path: Path) -> None:
    from pase.bin.make_data_cfg import main as make_cfg

    data, cfg = setup
    dcfg = tmp_path / "d.json"
    assert make_cfg(["--train_dir", str(data), "--cfg_file", str(dcfg), "--val_ratio", "0.34"]) == 0
    out = tmp_path / "s.json"
    argv = [
        "--data_cfg",
        str(dcfg),
        "--net_cfg",
        str(cfg),
        "--out_file",
        str(out),
        "--chunk_size",
        "1600",
        "--batch_size",
        "2",
        "--max_batches",
        "1",
        "--validate_audio",
    ]
    assert main(argv) == 0
    assert TargetStats.load(out).counts["mfcc"] == 20


def test_refuses_pickles_and_bad_arguments(setup, tmp_path: Path, capsys) -> None:
    data, cfg = setup
    pkl = tmp_path / "librispeech_stats.pkl"
    assert main(["--data_dir", str(data), "--net_cfg", str(cfg), "--out_file", str(pkl)]) == 1
    assert "never as a pickle" in capsys.readouterr().err and not pkl.exists()
    out = str(tmp_path / "s.json")
    assert main(["--net_cfg", str(cfg), "--out_file", out]) == 1
    assert "exactly one of --data_cfg or --data_dir" in capsys.readouterr().err
    assert main(["--data_dir", str(data), "--net_cfg", "nope.cfg", "--out_file", out]) == 1
    assert "nope.cfg" in capsys.readouterr().err
    (data / "wav.scp").write_text("s0-u0 " + str(tmp_path / "missing.wav") + "\n")
    (data / "utt2spk").write_text("s0-u0 s0\n")
    assert main(["--data_dir", str(data), "--net_cfg", str(cfg), "--out_file", out]) == 1
    err = capsys.readouterr().err
    assert "utterance 's0-u0'" in err and "missing.wav" in err


def test_builtin_pase_plus_targets_on_a_batch(setup, tmp_path: Path) -> None:
    data, _ = setup
    out = tmp_path / "plus.json"
    argv = [
        "--data_dir",
        str(data),
        "--net_cfg",
        "workers+",
        "--out_file",
        str(out),
        "--chunk_size",
        "3200",
        "--batch_size",
        "3",
        "--max_batches",
        "1",
    ]
    assert main(argv) == 0
    stats = TargetStats.load(out)
    dims = {k: stats.mean[k].numel() for k in stats.keys}
    assert dims == {
        "lps": 3075,
        "lps_long": 3075,
        "fbank": 120,
        "fbank_long": 120,
        "gtn": 120,
        "gtn_long": 120,
        "mfcc": 39,
        "mfcc_long": 60,
        "prosody": 12,
    }
    assert all(np.isfinite(stats.std[k].numpy()).all() for k in stats.keys)
