"""pase-make-stats: statistics of the clean, unscaled training chunks' targets; reruns are
skipped when nothing changed and recomputed (saying why) otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.bin.make_data_cfg import main as make_cfg
from pase.bin.make_stats import main
from pase.data import from_datadir
from pase.io.provenance import read_stamp, stamp_path
from pase.targets import TargetSet
from pase.targets.compute import stats_loader
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
    err = capsys.readouterr().err
    assert f"never a pickle: use --out-file {pkl.with_suffix('.json')}" in err
    assert not pkl.exists()
    out = str(tmp_path / "s.json")
    assert main(["--net_cfg", str(cfg), "--out_file", out]) == 1
    assert "exactly one of --data-cfg or --data-dir" in capsys.readouterr().err
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


# ------------------------------------------------------------------------------ reruns


def _argv(data: Path, cfg: Path, out: Path, *extra: str) -> list[str]:
    return [
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
        *extra,
    ]


def _run(argv: list[str], capsys) -> str:
    """stderr of a successful run, plus 'wrote' when the statistics were (re)written."""
    out = Path(argv[argv.index("--out_file") + 1])
    before = out.stat().st_mtime_ns if out.exists() else None
    assert main(argv) == 0
    err = capsys.readouterr().err
    return err + ("\nwrote" if out.stat().st_mtime_ns != before else "")


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_rerun_is_skipped_and_the_stats_still_load(setup, tmp_path: Path, capsys, suffix) -> None:
    data, cfg = setup
    out = tmp_path / f"stats{suffix}"
    argv = _argv(data, cfg, out)
    assert "wrote" in _run(argv, capsys)
    stamp = read_stamp(out)
    assert stamp is not None and stamp_path(out).name == f"stats{suffix}.stamp.json"
    assert set(stamp["inputs"]) == {
        "data_dir/wav.scp",
        "data_dir/utt2spk",
        "data_dir/segments",
        "net_cfg",
    }
    assert len(stamp["audio"]) == 9
    assert "device" not in stamp["options"] and "num_workers" not in stamp["options"]
    err = _run(argv, capsys)
    assert f"{out} is up to date" in err and "wrote" not in err
    # another device or worker count gives the same statistics: still up to date
    assert "up to date" in _run([*argv, "--num_workers", "0", "--device", "cpu"], capsys)
    assert TargetStats.load(out).keys == ["mfcc", "fbank"]  # the loader ignores the sidecar


def test_audio_options_workers_and_force_trigger_recomputation(
    setup, tmp_path: Path, capsys
) -> None:
    data, cfg = setup
    out = tmp_path / "stats.json"
    argv = _argv(data, cfg, out)
    _run(argv, capsys)
    wav = Path((data / "wav.scp").read_text().split()[1])
    _bump_mtime(wav)
    err = _run(argv, capsys)
    assert f"{wav} (modification time)" in err and "wrote" in err
    write_wav(wav, np.zeros(4000))  # another size
    err = _run(argv, capsys)
    assert f"{wav} (size" in err and "wrote" in err
    err = _run([*argv, "--seed", "9"], capsys)
    assert "option seed: 2 -> 9" in err and "wrote" in err
    err = _run([*argv, "--seed", "9", "--exclude_keys", "fbank"], capsys)
    assert "option exclude_keys: None -> ['fbank']" in err and "wrote" in err
    workers = json.loads(cfg.read_text())
    workers["regr"] = workers["regr"][:2]
    cfg.write_text(json.dumps(workers))
    err = _run([*argv, "--seed", "9", "--exclude_keys", "fbank"], capsys)
    assert "input net_cfg" in err and "contents changed" in err and "wrote" in err
    err = _run([*argv, "--seed", "9", "--exclude_keys", "fbank", "--force"], capsys)
    assert "recomputing (--force)" in err and "wrote" in err
    assert "up to date" in _run([*argv, "--seed", "9", "--exclude_keys", "fbank"], capsys)


def test_builtin_workers_and_data_cfg_are_tracked(setup, tmp_path: Path, capsys) -> None:
    data, _ = setup
    data_cfg = tmp_path / "data.json"
    assert make_cfg(["--train_dir", str(data), "--cfg_file", str(data_cfg)]) == 0
    out = tmp_path / "stats.json"
    argv = [
        "--data_cfg",
        str(data_cfg),
        "--net_cfg",
        "workers",
        "--out_file",
        str(out),
        "--chunk_size",
        "1600",
        "--batch_size",
        "2",
        "--max_batches",
        "1",
    ]
    _run(argv, capsys)
    stamp = read_stamp(out)
    assert stamp["options"]["net_cfg"] == "workers"
    assert stamp["inputs"]["net_cfg"]["path"].endswith("workers.cfg")
    assert stamp["inputs"]["net_cfg"]["sha256"]
    assert "up to date" in _run(argv, capsys)
    # a new data cfg (another split) changes the statistics' input
    capsys.readouterr()
    assert (
        make_cfg(["--train_dir", str(data), "--cfg_file", str(data_cfg), "--val_ratio", "0"]) == 0
    )
    err = _run(argv, capsys)
    assert "input data_cfg" in err and "contents changed" in err and "wrote" in err
    assert "new audio files" in err and len(read_stamp(out)["audio"]) == 9
    err = _run([*argv[:3], "workers+", *argv[4:]], capsys)
    assert "option net_cfg: 'workers' -> 'workers+'" in err


def test_audio_file_given_as_data(setup, tmp_path: Path, capsys) -> None:
    data, cfg = setup
    wav = Path((data / "wav.scp").read_text().split()[1])
    for flag in ("--data_dir", "--data_cfg"):
        argv = [flag, str(wav), "--net_cfg", str(cfg), "--out_file", str(tmp_path / "s.json")]
        assert main(argv) == 1
        assert f"{wav} is an audio file (WAV), expected a" in capsys.readouterr().err


def test_constant_channels_are_reported(tmp_path: Path, caplog) -> None:
    data = tmp_path / "data"
    data.mkdir()
    scp = [
        f"u{k} {write_wav(tmp_path / f'u{k}.wav', np.zeros(8000, np.float32))}\n" for k in range(4)
    ]
    (data / "wav.scp").write_text("".join(scp))
    (data / "utt2spk").write_text("".join(f"u{k} s{k % 2}\n" for k in range(4)))
    cfg = tmp_path / "workers.cfg"
    cfg.write_text(json.dumps({"regr": [WORKERS["regr"][1]]}))
    argv = ["--data_dir", str(data), "--net_cfg", str(cfg), "--out_file", str(tmp_path / "s.json"),
            "--chunk_size", "1600", "--batch_size", "2", "--max_batches", "2"]  # fmt: skip
    with caplog.at_level("WARNING"):
        assert main(argv) == 0
    assert any("mfcc: 13 channel(s)" in r.getMessage() and "constant" in r.getMessage()
               for r in caplog.records)  # fmt: skip
