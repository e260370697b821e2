"""egs/timit/asr1 test conditions and the frame phone probe: per-frame labels of alignment dirs
(pase-asr-ali-to-phones), the PER rows per condition (pase-summarize-conditions), the recipe's
option checks, and (slow) the whole recipe on the synthetic TIMIT with a noisy condition."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.asr.alignments import kaldi_num_frames
from pase.asr.condition_results import HEADING, ConditionResultsError, write_condition_results
from pase.asr.frame_labels import FrameLabelError, frame_phone_labels
from pase.asr.scoring import PhoneMap
from pase.bin import asr_ali_to_phones, asr_align, asr_lang, summarize_conditions, timit_prepare
from pase.io.datadir import read_kv
from tests.asr.test_timit import N_SAMPLES, make_tree

RECIPE = Path(__file__).resolve().parents[2] / "egs" / "timit" / "asr1"


# --------------------------------------------------------------------------- frame labels
@pytest.fixture(scope="module")
def phn_ali(tmp_path_factory) -> Path:
    """The toy TIMIT tree of test_timit, prepared, with .PHN alignments of its test set."""
    w = tmp_path_factory.mktemp("labels")
    make_tree(w / "TIMIT")
    assert timit_prepare.main([str(w / "TIMIT"), str(w / "data")]) == 0
    assert asr_lang.main(["--text", str(w / "data/train/text"), str(w / "data/lang")]) == 0
    argv = ["--source", "phn", "--lang", str(w / "data/lang"), "--data-dir", str(w / "data/test")]
    assert asr_align.main([*argv, str(w / "ali_test")]) == 0
    return w


def test_frame_labels_follow_the_phone_boundaries(phn_ali: Path, capsys) -> None:
    w = phn_ali
    out = w / "data/test/phones48.ali"
    assert asr_ali_to_phones.main(["--phone-set", "48", str(w / "ali_test"), str(out)]) == 0
    assert "2 utterances, 108 frames" in capsys.readouterr().out
    labels = {u: v.split() for u, v in read_kv(out).items()}
    assert list(labels) == ["mdab0_si1000", "mdab0_sx20"]
    seq = labels["mdab0_sx20"]
    assert len(seq) == kaldi_num_frames(N_SAMPLES) == 54  # the aligner's (MFCC) frames
    # frame t is the phone under its centre (t * 160 + 200 samples) of test_timit.PHN:
    # h# 0-2000, sh -3500, iy (+ the deleted q) -5000, bcl -5700, b -6100, ax-h -6600, h#
    assert seq[0] == seq[10] == "sil" and seq[15] == "sh" and seq[25] == "iy"
    assert seq[31] == "vcl" and seq[-1] == "sil"
    # folded to the 39 scoring phones: the closure vcl is silence there
    l39 = frame_phone_labels(w / "ali_test", "39")
    assert l39["mdab0_sx20"][31] == "sil" and l39["mdab0_sx20"][15] == "sh"
    assert len(l39["mdab0_sx20"]) == 54
    assert {p for v in l39.values() for p in v} <= set(PhoneMap.load().phones39)
    assert [PhoneMap.load().to39[p] for p in seq] == l39["mdab0_sx20"]


def test_frame_label_errors(phn_ali: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(FrameLabelError, match="phone set must be one of 48, 39"):
        frame_phone_labels(phn_ali / "ali_test", "61")
    bad_map = tmp_path / "map"
    bad_map.write_text("sil sil sil\n")
    with pytest.raises(FrameLabelError, match=r"no 39-phone folding of 47 phone\(s\): aa, ae,"):
        frame_phone_labels(phn_ali / "ali_test", "39", bad_map)
    assert asr_ali_to_phones.main([str(tmp_path), str(tmp_path / "x.ali")]) == 1
    assert "no hmm.npz" in capsys.readouterr().err


# --------------------------------------------------------------------------- PER per condition
def _results(d: Path, dev: float, test: float) -> None:
    d.mkdir(parents=True, exist_ok=True)
    counts = {"errors": 1, "ref": 10, "ins": 0, "del": 1, "sub": 0}
    res = {
        "dev": {"per": dev, "lmwt": 3, "wip": 0.0, "counts": counts},
        "test": {"per": test, "lmwt": 3, "wip": 0.0, "counts": counts,
                 "per_best_lmwt": test - 0.5, "best_lmwt": 4, "best_wip": 0.0},
        "feats": "mfcc", "environment": {"pase": "x"},
    }  # fmt: skip
    (d / "results.json").write_text(json.dumps(res))
    (d / "RESULTS.md").write_text("# TIMIT\n\n| set | PER |\n\n## Environment\n\n- pase: x\n")


def test_condition_rows_in_results(tmp_path: Path, capsys) -> None:
    m = tmp_path / "exp/mlp_mfcc"
    _results(m, 20.0, 21.0)
    _results(m / "conditions/noise", 40.0, 42.25)
    sim = {"seed": 0, "noises": {"kinds": ["white", "pink"]}, "rirs": {"rt60_s": [0.2, 0.9]}}
    cond = {
        "condition": "noise", "seed": 7, "snr_db": [0.0, 20.0], "method": {},
        "noises": {"list": "/n/noise.list", "files": ["/n/a.wav", "/n/b.wav"], "simulated": sim},
        "rirs": None, "utterances": {"u": {"snr_db": 3.0}},
    }  # fmt: skip
    (m / "conditions/noise/condition.json").write_text(json.dumps(cond))
    argv = [str(m), f"clean={m}", f"noise={m / 'conditions/noise'}"]
    assert summarize_conditions.main(argv) == 0
    assert "| noise | 42.25 | 40.00 | 3 | 41.75 (LM weight 4) | 0-20 |" in capsys.readouterr().out
    text = (m / "RESULTS.md").read_text()
    assert "| clean | 21.00 | 20.00 | 3 |" in text
    assert "2 files of /n/noise.list (simulated white, pink noise, seed 0)" in text
    assert text.index(HEADING) < text.index("## Environment")  # before the environment
    res = json.loads((m / "results.json").read_text())
    assert list(res["conditions"]) == ["clean", "noise"] and res["test"]["per"] == 21.0
    noise = res["conditions"]["noise"]
    assert noise["test"]["per"] == 42.25 and noise["contamination"]["seed"] == 7
    assert noise["contamination"]["noises"]["num_files"] == 2
    # a rerun replaces the section instead of adding another
    write_condition_results(m, {"clean": m})
    text = (m / "RESULTS.md").read_text()
    assert text.count(HEADING) == 1 and "| noise |" not in text and "## Environment" in text
    with pytest.raises(ConditionResultsError, match=r"nowhere/results\.json: missing"):
        write_condition_results(m, {"x": tmp_path / "nowhere"})
    assert summarize_conditions.main([str(m), "clean"]) == 1
    assert "expected NAME=DIR" in capsys.readouterr().err


# --------------------------------------------------------------------------- recipe options
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test_condition", "clean babble"], "unknown condition 'babble'"),
        (["--snr", "5"], "--snr takes two numbers"),
        (["--probe_phones", "61"], "--probe_phones must be 39 or 48"),
    ],
)
def test_run_sh_refuses_bad_condition_options(tmp_path: Path, args: list[str], message: str):
    p = subprocess.run(
        ["./run.sh", "--stage", "7", "--exp", str(tmp_path), *args],
        cwd=RECIPE, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert p.returncode == 1 and message in p.stderr, p.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("feats", ["mfcc", "fbank", "pase"])
def test_run_sh_set_up_passes_for_every_feature_type(tmp_path: Path, feats: str) -> None:
    """Past the option checks and the set-up (nothing to run from stage 12 on): status 0."""
    p = subprocess.run(
        ["./run.sh", "--feats", feats, "--stage", "12", "--exp", str(tmp_path / "exp"),
         "--test_condition", "clean noise+reverb"],
        cwd=RECIPE, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    assert not (tmp_path / "exp").exists()


# --------------------------------------------------------------------------- end to end (slow)
SMALL_MLP = """hidden: [128]
dropout: [0.1]
batchnorm: [true]
left: 3
right: 3
epochs: 2
batch_size: 128
lr: 0.036
avg_spk: true
"""
MONO = """num_iters: 12
realign_iters: [1, 2, 3, 4, 5, 6, 8, 10]
tot_gauss: 300
max_iter_inc: 8
"""


def snr_against(y: np.ndarray, clean: np.ndarray) -> float:
    """SNR (dB) of ``y`` as a scaled ``clean`` plus what is left (least-squares scale)."""
    a = float(y @ clean / (clean @ clean))
    rest = y - a * clean
    return 10 * np.log10(float((a * clean) @ (a * clean)) / float(rest @ rest))


@pytest.mark.slow
def test_recipe_with_a_noisy_condition_and_the_frame_probe(tmp_path: Path) -> None:
    """run.sh on the synthetic TIMIT (fbank acoustic model): clean and noise+reverb test
    conditions with the simulated noises and RIRs, PER rows for both, the frame probe on mfcc
    and fbank for both; the noisy audio is the same when made again and is noisier."""
    from pase.corpus.espeak import espeak_available
    from pase.corpus.synth_timit import make_synthetic_timit

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    if shutil.which("pase-make-condition") is None:
        pytest.skip("the pase-* commands are not installed (pip install -e .)")
    corpus = tmp_path / "TIMIT"
    make_synthetic_timit(
        corpus, train_speakers=4, dev_speakers=1, test_speakers=1, utts_per_speaker=6, jobs=2
    )
    (tmp_path / "mlp.yaml").write_text(SMALL_MLP)
    (tmp_path / "mono.yaml").write_text(MONO)
    w = tmp_path / "w"
    proc = subprocess.run(
        ["./run.sh", "--timit", str(corpus), "--feats", "fbank", "--nj", "2",
         "--mlp_cfg", str(tmp_path / "mlp.yaml"), "--mono_cfg", str(tmp_path / "mono.yaml"),
         "--test_condition", "clean noise+reverb", "--snr", "0 10",
         "--probe_args", "--batch-size 2 --lr 0.01 --epochs 3",
         "--data", str(w / "data"), "--dump", str(w / "dump"), "--exp", str(w / "exp")],
        cwd=RECIPE, capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # one PER row per condition, numbers, and which noises / RIRs were used
    m = w / "exp/mlp_fbank"
    res = json.loads((m / "results.json").read_text())
    assert list(res["conditions"]) == ["clean", "noise+reverb"]
    for entry in res["conditions"].values():
        for x in ("dev", "test"):
            assert isinstance(entry[x]["per"], float) and 0.0 <= entry[x]["per"] <= 200.0
    assert res["conditions"]["clean"]["test"]["per"] == res["test"]["per"]
    text = (m / "RESULTS.md").read_text()
    assert "| noise+reverb |" in text and "simulated white, pink, brown noise" in text
    assert "simulated rooms, RT60 0.2-0.9 s" in text
    sim = w / "data/local/simulated_distortions"
    assert (sim / "noise.list").is_file() and (sim / "simulated.json").is_file()

    # the frame probe: every feature type and condition, accuracies as numbers
    table = (w / "exp/probe_phone/RESULTS_probe.md").read_text()
    for feat in ("mfcc", "fbank"):
        for cond in ("clean", "noise+reverb"):
            r = json.loads((w / f"exp/probe_phone/{feat}_{cond}/results.json").read_text())
            assert r["task"] == "frame" and r["num_classes"] <= 39
            assert 0.0 < r["test"]["accuracy"] <= 1.0 and r["splits"]["test"].endswith(
                "test" if cond == "clean" else f"test_{cond}"
            )
            assert f"| {feat}, {cond} |" in table
    labels = read_kv(w / "dump/mfcc/test_noise+reverb/phones39.ali")
    assert labels == read_kv(w / "data/test/phones39.ali")  # the clean test's frames
    assert 3 <= len(labels) <= 6 and set(labels) <= set(read_kv(w / "data/test/utt2spk"))
    clean_probe = json.loads((w / "exp/probe_phone/mfcc_clean/results.json").read_text())
    assert clean_probe["test"]["accuracy"] > 1 / 39  # learned something on clean speech

    # the noisy audio: the same bytes when made again (elsewhere), and noisier than the clean
    cond_dir = w / "data/test_noise+reverb"
    info = json.loads((cond_dir / "condition.json").read_text())
    again = tmp_path / "again"
    files = ["--seed", "0", "--snr", "0", "10", "--noise-list", str(sim / "noise.list"),
             "--rir-list", str(sim / "rir.list")]  # fmt: skip
    subprocess.run(["pase-make-condition", "--condition", "noise+reverb", *files,
                    str(w / "data/test"), str(again)], check=True, capture_output=True,
                   timeout=300)  # fmt: skip
    clean_scp, noisy_scp = read_kv(w / "data/test/wav.scp"), read_kv(cond_dir / "wav.scp")
    assert list(noisy_scp) == list(clean_scp)
    for utt, path in noisy_scp.items():
        assert Path(path).read_bytes() == (again / "wav" / f"{utt}.wav").read_bytes()
        clean = sf.read(clean_scp[utt], dtype="float64")[0]
        noisy = sf.read(path, dtype="float64")[0]
        snr = info["utterances"][utt]["snr_db"]
        assert noisy.shape == clean.shape and 0.0 <= snr <= 10.0
        # reverberation adds to what is not the clean signal: at most the drawn SNR
        assert snr_against(noisy, clean) < min(snr + 1.0, 12.0)
    # noise alone: the drawn SNR is the SNR of what is written
    subprocess.run(["pase-make-condition", "--condition", "noise", *files[:7],
                    str(w / "data/test"), str(tmp_path / "n")], check=True, capture_output=True,
                   timeout=300)  # fmt: skip
    info = json.loads((tmp_path / "n/condition.json").read_text())
    for utt, path in read_kv(tmp_path / "n/wav.scp").items():
        clean = sf.read(clean_scp[utt], dtype="float64")[0]
        measured = snr_against(sf.read(path, dtype="float64")[0], clean)
        assert measured == pytest.approx(info["utterances"][utt]["snr_db"], abs=0.5)
