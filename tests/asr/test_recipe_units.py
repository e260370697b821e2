"""Recipe plumbing: feature normalisation, job splits, Kaldi command lines, one-command entry."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from pase.asr import kaldi_bin
from pase.asr.decode import DecodeConfig
from pase.asr.feats import FeatsError, load_features, normalize
from pase.bin.asr_common import split_by_speaker

RECIPE = Path(__file__).resolve().parents[2] / "egs" / "timit" / "asr1"


def test_speaker_normalisations(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    feats = {"s1_a": rng.normal(3, 2, (10, 4)), "s1_b": rng.normal(3, 2, (30, 4)),
             "s2_a": rng.normal(-1, 1, (5, 4))}  # fmt: skip
    feats = {u: x.astype(np.float32) for u, x in feats.items()}
    u2s = {u: u[:2] for u in feats}
    cm = normalize(feats, u2s, "cmvn")
    pooled = np.concatenate([cm["s1_a"], cm["s1_b"]])
    np.testing.assert_allclose(pooled.mean(0), 0, atol=1e-5)  # frames pooled per speaker
    av = normalize(feats, u2s, "avg_spk")
    # the original: mean of the per-utterance means is removed
    np.testing.assert_allclose((av["s1_a"].mean(0) + av["s1_b"].mean(0)) / 2, 0, atol=1e-5)
    np.testing.assert_allclose(av["s1_a"].std(0), feats["s1_a"].std(0), rtol=1e-5)
    cv = normalize(feats, u2s, "cmvn-vars")
    np.testing.assert_allclose(cv["s2_a"].std(0), 1, rtol=1e-4)
    with pytest.raises(FeatsError, match="unknown normalisation"):
        normalize(feats, u2s, "global")
    # reading a feats.scp, deltas on top (Kaldi order: normalise, then add deltas)
    kaldiio.save_ark(str(tmp_path / "feats.ark"), feats, scp=str(tmp_path / "feats.scp"))
    got = load_features(tmp_path / "feats.scp", u2s, norm="cmvn", deltas=2, utts={"s2_a"})
    assert list(got) == ["s2_a"] and got["s2_a"].shape == (5, 12)
    np.testing.assert_allclose(got["s2_a"][:, :4], cm["s2_a"], atol=1e-5)
    with pytest.raises(FeatsError, match="does not exist"):
        load_features(tmp_path / "nope.scp", u2s)
    with pytest.raises(ValueError, match="s2_a"):
        normalize(feats, {"s1_a": "s1", "s1_b": "s1"}, "cmvn")


def test_split_by_speaker_is_a_partition() -> None:
    u2s = {f"s{s}_{u}": f"s{s}" for s in range(5) for u in range(s + 1)}
    parts = [split_by_speaker(u2s, 3, j) for j in (1, 2, 3)]
    assert set().union(*parts) == set(u2s) and sum(map(len, parts)) == len(u2s)
    for p in parts:  # whole speakers only
        spk = {u2s[u] for u in p}
        assert all(u2s[u] in spk for u in p)
        assert {u for u in u2s if u2s[u] in spk} == p
    assert split_by_speaker({"a": "a"}, 4, 3) == set()  # more jobs than speakers
    with pytest.raises(ValueError, match="job 5"):
        split_by_speaker(u2s, 4, 5)


def test_kaldi_command_lines(tmp_path: Path, monkeypatch) -> None:
    cfg = DecodeConfig.from_file(RECIPE / "conf" / "decoder.cfg")
    cmd = kaldi_bin.latgen_command(
        "exp/m/final.mdl", "exp/g", "ark:ll.ark", "ark:|gzip -c >l.gz", cfg
    )
    assert cmd == [
        "latgen-faster-mapped", "--min-active=200", "--max-active=7000", "--max-mem=50000000",
        "--beam=13.0", "--lattice-beam=8.0", "--acoustic-scale=0.2", "--allow-partial=true",
        "--word-symbol-table=exp/g/words.txt", "exp/m/final.mdl", "exp/g/HCLG.fst", "ark:ll.ark",
        "ark:|gzip -c >l.gz",
    ]  # fmt: skip
    pipe = kaldi_bin.best_path_command("ark:gunzip -c lat.1.gz|", 7, 0.5)
    assert pipe == (
        "lattice-scale --inv-acoustic-scale=7 'ark:gunzip -c lat.1.gz|' ark:- | "
        "lattice-add-penalty --word-ins-penalty=0.5 ark:- ark:- | lattice-best-path ark:- ark,t:-"
    )
    assert kaldi_bin.parse_int_table("u1 3 4\nu2\n") == {"u1": [3, 4], "u2": []}
    # binaries are looked up under $KALDI_ROOT/src/*bin; all four are needed
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("KALDI_ROOT", str(tmp_path))
    assert kaldi_bin.kaldi_path() is None
    tools = [("bin", "latgen-faster-mapped"), ("latbin", "lattice-scale"),
             ("latbin", "lattice-add-penalty"), ("latbin", "lattice-best-path")]  # fmt: skip
    for sub, tool in tools:
        d = tmp_path / "src" / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / tool).write_text("#!/bin/sh\ncat\n")
        (d / tool).chmod(stat.S_IRWXU)
    path = kaldi_bin.kaldi_path()
    assert path is not None and str(tmp_path / "src" / "latbin") in path.split(os.pathsep)
    assert kaldi_bin.run_kaldi("echo u1 5 | lattice-best-path", path) == "u1 5\n"
    with pytest.raises(kaldi_bin.KaldiBinError, match="false"):
        kaldi_bin.run_kaldi(["false"], path)


def test_one_command_entry_point_maps_to_run_sh(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("rtfd", RECIPE / "run_TIMIT_full_decoding.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cmd = mod.build_command(
        ["PASE+", "FE_e199.ckpt", "/data/TIMIT", str(tmp_path / "out"), "conf/MLP_PASE.cfg",
         "conf/decoder.cfg", "--nj", "8"], RECIPE,
    )  # fmt: skip
    assert cmd[0] == str(RECIPE / "run.sh")
    opts = dict(zip(cmd[1:-2:2], cmd[2:-2:2]))
    assert opts["--timit"] == "/data/TIMIT" and opts["--pase_cfg"] == "PASE+"
    assert opts["--pase_ckpt"] == str(Path("FE_e199.ckpt").resolve())
    assert opts["--exp"] == str(tmp_path / "out" / "exp") and opts["--feats"] == "pase"
    assert cmd[-2:] == ["--nj", "8"]
    assert "--pase_ckpt" not in mod.build_command(["a.cfg", "none", "t", "o", "m", "d"], RECIPE)
    with pytest.raises(SystemExit, match="usage"):
        mod.build_command(["only", "three", "args"], RECIPE)
