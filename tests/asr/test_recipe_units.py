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
from pase.asr.speakers import split_by_speaker
from pase.io.datadir import read_kv

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


def test_missing_wheels_error_names_the_install_command(monkeypatch) -> None:
    from pase.asr import kaldi_wheels

    def fail(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(kaldi_wheels.importlib, "import_module", fail)
    with pytest.raises(kaldi_wheels.KaldiWheelsMissing, match=r"kaldifst==1\.7\.17.*\[kaldi\]"):
        kaldi_wheels._import("kaldifst")
    assert kaldi_wheels.check_versions()["kaldi-hmm-gmm"] == "1.1.4"


def test_cli_phn_and_kaldi_alignment_dirs(tmp_path: Path, capsys) -> None:
    from pase.asr.expdir import load_ali_dir
    from pase.asr.kaldi_format import read_transition_model
    from pase.bin import asr_align, asr_lang, timit_prepare
    from tests.asr.test_timit import make_tree

    make_tree(tmp_path / "TIMIT")
    assert timit_prepare.main([str(tmp_path / "TIMIT"), str(tmp_path / "data")]) == 0
    assert asr_lang.main(["--text", str(tmp_path / "data/train/text"), str(tmp_path / "lang")]) == 0
    assert (tmp_path / "lang/G.fst").is_file() and (tmp_path / "lang/G.arpa").is_file()
    out = tmp_path / "phn_ali"
    rc = asr_align.main(["--source", "phn", "--lang", str(tmp_path / "lang"),
                         "--data", str(tmp_path / "data/train"), str(out)])  # fmt: skip
    assert rc == 0
    hmm, ali, gmm = load_ali_dir(out)
    assert gmm is None and sorted(ali) == sorted(read_kv(tmp_path / "data/train/utt2spk"))
    segs = hmm.tids_to_phones(ali["fcjf0_sx20"])
    assert hmm.lang.decode([p for p, _ in segs]) == ["sil", "sh", "iy", "vcl", "b", "ax", "sil"]
    assert read_transition_model(out / "final.mdl").num_pdfs == hmm.num_pdfs
    # the dir is also a valid Kaldi alignment dir (final.mdl, ali.*.gz, phones.txt)
    rc = asr_align.main(["--source", "kaldi", "--lang", str(tmp_path / "lang"),
                         "--kaldi-ali-dir", str(out), str(tmp_path / "k_ali")])  # fmt: skip
    assert rc == 0
    _, ali2, _ = load_ali_dir(tmp_path / "k_ali")
    for u in ali:
        np.testing.assert_array_equal(ali2[u], ali[u])
    # MLP targets: our pdfs from our dir; Kaldi's own pdfs from a plain Kaldi dir
    import shutil

    from pase.asr.steps import load_targets

    y, n, src = load_targets(out)
    assert src == "pase" and n == hmm.num_pdfs
    kdir = tmp_path / "kaldi_only"
    kdir.mkdir()
    for name in ("final.mdl", "ali.1.gz", "phones.txt"):
        shutil.copyfile(out / name, kdir / name)
    y2, n2, src2 = load_targets(kdir)
    assert src2 == "kaldi" and n2 == n
    for u in y:
        np.testing.assert_array_equal(y2[u], y[u])
    # expected input errors: one line naming the problem, exit status 1
    capsys.readouterr()
    assert asr_align.main(["--source", "kaldi", "--lang", str(tmp_path / "lang"), str(out)]) == 1
    assert "--kaldi-ali-dir is required" in capsys.readouterr().err
    (tmp_path / "TIMIT/TEST/DR1/FAKS0/SI1000.PHN").write_text("0 100 h#\n100 99999 iy\n")
    assert timit_prepare.main([str(tmp_path / "TIMIT"), str(tmp_path / "d2")]) == 1
    assert "FAKS0/SI1000.PHN:2" in capsys.readouterr().err


def _fake_kaldi(bin_dir: Path) -> None:
    """Stand-ins for Kaldi's tools: a 'lattice' is a list of word ids from the frame arg-maxes."""
    bin_dir.mkdir()
    latgen = bin_dir / "latgen-faster-mapped"
    latgen.write_text(
        "#!/usr/bin/env python3\nimport sys, subprocess, kaldiio, numpy as np\n"
        "args = [a for a in sys.argv[1:] if not a.startswith('--')]\n"
        "rows = [k + ' ' + ' '.join(str(int(p) % 3 + 1) for p in np.unique(v.argmax(1)))\n"
        "        for k, v in kaldiio.load_ark(args[2][4:])]\n"
        "subprocess.run(args[3][5:], shell=True, input='\\n'.join(rows) + '\\n', text=True,"
        " check=True)\n"
    )
    scale = bin_dir / "lattice-scale"
    scale.write_text('#!/bin/sh\ncmd="${2#ark:}"\nsh -c "${cmd%|}"\n')
    for name in ("lattice-add-penalty", "lattice-best-path"):
        (bin_dir / name).write_text("#!/bin/sh\ncat\n")
    for f in bin_dir.iterdir():
        f.chmod(stat.S_IRWXU)


def test_decode_job_through_kaldi_binaries(tmp_path: Path) -> None:
    """The latgen-faster-mapped path: loglikes ark written, commands run, outputs parsed."""
    import torch

    from pase.asr.hmm import HmmModel
    from pase.asr.lang import Lang
    from pase.asr.mlp import HybridMLP, MLPConfig
    from pase.asr.recognize import collect, decode_job
    from pase.io.atomic import write_json_atomic

    lang = Lang(["sil", "a", "b"])
    hmm = HmmModel(lang)
    md, gd = tmp_path / "model", tmp_path / "graph"
    md.mkdir()
    gd.mkdir()
    cfg = MLPConfig(hidden=[8], dropout=[0.0], batchnorm=[False], layernorm=[False], left=1,
                    right=1)  # fmt: skip
    mlp = HybridMLP(3 * 2, hmm.num_pdfs, cfg)
    torch.save({"state_dict": mlp.state_dict(), "in_dim": 6, "num_pdfs": hmm.num_pdfs,
                "config": __import__("json").dumps(__import__("dataclasses").asdict(cfg))},
               md / "final.pt")  # fmt: skip
    np.save(md / "log_prior.npy", np.full(hmm.num_pdfs, -np.log(hmm.num_pdfs)))
    write_json_atomic(md / "input.json", {"norm": "none", "deltas": 0, "pdf_source": "pase"})
    (md / "final.mdl").write_bytes(b"")
    (gd / "words.txt").write_text(lang.words_txt())
    (gd / "num_pdfs").write_text(f"{hmm.num_pdfs}\n")
    _fake_kaldi(tmp_path / "kbin")
    path = f"{tmp_path / 'kbin'}{os.pathsep}{os.environ['PATH']}"
    feats = {"u1": np.ones((4, 2), np.float32), "u2": np.zeros((3, 2), np.float32)}
    dcfg = DecodeConfig(max_lmwt=2)
    stats = decode_job(md, gd, feats, dcfg, tmp_path / "dec", 1, kaldi_path=path)
    assert stats["utterances"] == 2 and stats["frames"] == 7
    hyps, _ = collect(tmp_path / "dec")
    assert sorted(hyps) == [(1, 0.0), (2, 0.0)]
    assert set(hyps[(1, 0.0)]) == {"u1", "u2"}
    assert all(p in lang.phones for h in hyps[(2, 0.0)].values() for p in h)
    assert not list((tmp_path / "dec").glob("loglikes.*.ark"))  # temporary ark removed
