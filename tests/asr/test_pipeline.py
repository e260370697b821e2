"""End to end on a synthetic TIMIT corpus: data prep -> features -> HMM-GMM alignments -> HCLG ->
MLP -> JOB-parallel decoding -> scoring, through the console scripts the recipe calls.

The MLP+HMM system must clearly beat two controls on the same test set: a phone loop fed uniform
acoustic scores (the same HCLG, so only the bigram and the HMM speak) and frame-wise arg-max of
the same MLP without the HMM.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from pase.asr.decode import DecodeConfig, decode_lattice, lattice_best_path
from pase.asr.expdir import load_lang_and_hmm
from pase.asr.feats import load_features
from pase.asr.graph import read_fst
from pase.asr.recognize import framewise_phones, load_model_dir
from pase.asr.scoring import PhoneMap, count_errors, read_text
from pase.bin import (
    asr_align,
    asr_decode,
    asr_lang,
    asr_mkgraph,
    asr_results,
    asr_score,
    asr_train,
    timit_prepare,
)
from pase.io.audio import read_audio
from pase.io.datadir import DataDir, read_kv

pytestmark = pytest.mark.slow
RECIPE = Path(__file__).resolve().parents[2] / "egs" / "timit" / "asr1"
SMALL_MLP = """hidden: [256, 256]
dropout: [0.15, 0.15]
batchnorm: [true, true]
left: 5
right: 5
epochs: 8
batch_size: 128
lr: 0.036
avg_spk: true
"""
MONO = """num_iters: 25
realign_iters: [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22]
tot_gauss: 600
max_iter_inc: 20
"""


def ok(rc: int) -> None:
    assert rc == 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from pase.corpus.espeak import espeak_available
    from pase.corpus.synth_timit import make_synthetic_timit

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    root = tmp_path_factory.mktemp("timit")
    make_synthetic_timit(
        root / "TIMIT", train_speakers=8, dev_speakers=2, test_speakers=2, utts_per_speaker=8,
        jobs=2,
    )  # fmt: skip
    return root / "TIMIT"


@pytest.fixture(scope="module")
def mfcc_exp(corpus: Path, tmp_path_factory) -> Path:
    """Data, lang, MFCC features, GMM alignments and graph (stages 0-3)."""
    from pase.features.kaldi import mfcc

    w = tmp_path_factory.mktemp("exp")
    ok(timit_prepare.main([str(corpus), str(w / "data")]))
    ok(asr_lang.main(["--text", str(w / "data/train/text"), str(w / "data/lang")]))
    for x in ("train", "dev", "test"):
        d = w / "dump/mfcc" / x
        d.mkdir(parents=True)
        feats = {u.utt_id: mfcc(read_audio(u.source)) for u in DataDir(w / "data" / x).utterances()}
        kaldiio.save_ark(str(d / "feats.ark"), feats, scp=str(d / "feats.scp"))
    (w / "mono.yaml").write_text(MONO)
    ok(asr_align.main(["--lang", str(w / "data/lang"), "--data", str(w / "data/train"),
                       "--feats", str(w / "dump/mfcc/train/feats.scp"),
                       "--config", str(w / "mono.yaml"), str(w / "exp/mono")]))  # fmt: skip
    ok(asr_align.main(["--model", str(w / "exp/mono"), "--data", str(w / "data/dev"),
                       "--feats", str(w / "dump/mfcc/dev/feats.scp"),
                       str(w / "exp/mono/ali_dev")]))  # fmt: skip
    ok(asr_mkgraph.main(["--lang", str(w / "data/lang"), "--model", str(w / "exp/mono"),
                         str(w / "exp/mono/graph")]))  # fmt: skip
    (w / "mlp.yaml").write_text(SMALL_MLP)
    return w


def train_decode_score(w: Path, feats: str, norm: str, deltas: int) -> dict:
    """Stages 4-6 through the console scripts; returns results.json."""
    m = w / f"exp/mlp_{feats}"
    ok(asr_train.main(["--config", str(w / "mlp.yaml"), "--norm", norm, "--deltas", str(deltas),
                       "--device", "cpu",
                       "--train-feats", str(w / f"dump/{feats}/train/feats.scp"),
                       "--train-data", str(w / "data/train"), "--train-ali", str(w / "exp/mono"),
                       "--dev-feats", str(w / f"dump/{feats}/dev/feats.scp"),
                       "--dev-data", str(w / "data/dev"), "--dev-ali", str(w / "exp/mono/ali_dev"),
                       str(m)]))  # fmt: skip
    for x in ("dev", "test"):
        for job in (1, 2):
            ok(asr_decode.main(["--model", str(m), "--graph", str(w / "exp/mono/graph"),
                                "--config", str(RECIPE / "conf/decoder.cfg"),
                                "--feats", str(w / f"dump/{feats}/{x}/feats.scp"),
                                "--data", str(w / f"data/{x}"), "--nj", "2", "--job", str(job),
                                str(m / f"decode_{x}")]))  # fmt: skip
        ok(asr_score.main(["--data", str(w / f"data/{x}"), str(m / f"decode_{x}")]))
    ok(asr_results.main(["--dev", str(m / "decode_dev"), "--test", str(m / "decode_test"),
                         "--feats", feats, str(m)]))  # fmt: skip
    return json.loads((m / "results.json").read_text())


def test_mfcc_hybrid_beats_phone_loop_and_framewise_argmax(mfcc_exp: Path) -> None:
    w = mfcc_exp
    res = train_decode_score(w, "mfcc", "cmvn", 2)
    assert set(res) >= {"dev", "test", "feats", "environment"}
    assert res["feats"] == "mfcc" and 1 <= res["dev"]["lmwt"] <= 10
    per_hybrid = res["test"]["per"]
    text = (w / "exp/mlp_mfcc/RESULTS.md").read_text()
    assert f"{per_hybrid:.2f}" in text and "kaldi-hmm-gmm" in text
    assert (w / f"exp/mlp_mfcc/decode_test/scoring/per_{res['dev']['lmwt']}.txt").is_file()

    # controls on the same test set and the same graph
    m = w / "exp/mlp_mfcc"
    model, mcfg, log_prior, info = load_model_dir(m)
    lang, hmm = load_lang_and_hmm(m)
    hclg = read_fst(w / "exp/mono/graph/HCLG.fst")
    cfg = DecodeConfig.from_file(RECIPE / "conf/decoder.cfg")
    refs = read_text(w / "data/test/text")
    feats = load_features(w / "dump/mfcc/test/feats.scp", read_kv(w / "data/test/utt2spk"),
                          norm=info["norm"], deltas=info["deltas"])  # fmt: skip
    from pase.asr.mlp import log_likelihoods

    uniform, argmax = {}, {}
    lmwt = res["dev"]["lmwt"]
    for utt, x in feats.items():
        lat = decode_lattice(hclg, np.zeros((x.shape[0], hmm.num_pdfs), np.float32),
                             hmm.tid2pdf, cfg)  # fmt: skip
        uniform[utt] = lang.decode(lattice_best_path(lat, lmwt)[0])
        ll = log_likelihoods(model, x, log_prior, mcfg)
        argmax[utt] = framewise_phones(ll + log_prior, hmm.pdf2phone, lang.id_to_phone)
    pm = PhoneMap.load()
    per_uniform = count_errors(refs, uniform, pm).per
    per_argmax = count_errors(refs, argmax, pm).per
    summary = {"mlp_hmm": per_hybrid, "uniform_phone_loop": per_uniform,
               "framewise_argmax": per_argmax}  # fmt: skip
    (w / "controls.json").write_text(json.dumps(summary))
    print("test PER (%):", summary)
    assert per_hybrid < 0.5 * per_uniform, summary
    assert per_hybrid < 0.7 * per_argmax, summary


def test_run_sh_end_to_end_untrained_pase_plus(corpus: Path, tmp_path: Path) -> None:
    """The recipe itself with PASE+ features from a random (seeded) encoder: pase-dump-feats,
    the original's per-speaker mean removal, all stages; dev and test PER printed."""
    if shutil.which("pase-dump-feats") is None:
        pytest.skip("pase-dump-feats (feature dumping, recipes issue) is not installed")
    (tmp_path / "mlp.yaml").write_text(SMALL_MLP.replace("epochs: 8", "epochs: 4"))
    (tmp_path / "mono.yaml").write_text(MONO)
    proc = subprocess.run(
        ["./run.sh", "--timit", str(corpus), "--feats", "pase", "--nj", "2",
         "--mlp_cfg", str(tmp_path / "mlp.yaml"), "--mono_cfg", str(tmp_path / "mono.yaml"),
         "--data", str(tmp_path / "data"), "--dump", str(tmp_path / "dump"),
         "--exp", str(tmp_path / "exp")],
        cwd=RECIPE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "dev: %PER" in proc.stdout and "test: %PER" in proc.stdout
    assert (tmp_path / "exp/pase_random/FE_random.ckpt").is_file()
    m = tmp_path / "exp/mlp_pase"
    res = json.loads((m / "results.json").read_text())
    info = json.loads((m / "input.json").read_text())
    assert info["dim"] == 256 and info["norm"] == "avg_spk" and res["feats"] == "pase"
    # random conv features still carry phonetic information when every job uses the same
    # network: far better than the ~95% of a phone loop without acoustics
    assert res["test"]["per"] < 70.0, res["test"]
    print("untrained PASE+ (run.sh): dev PER", res["dev"]["per"], "test PER", res["test"]["per"])
