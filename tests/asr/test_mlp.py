"""The hybrid MLP: configs (original JSON and YAML), per-utterance splicing, priors, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.asr.mlp import (
    FrameTable,
    HybridMLP,
    MLPConfig,
    MLPConfigError,
    load_model,
    log_likelihoods,
    log_priors,
    match_length,
    next_lr,
    splice,
    train,
)

CONF = Path(__file__).resolve().parents[2] / "egs" / "timit" / "asr1" / "conf"


def test_shipped_configs_are_the_original() -> None:
    a = MLPConfig.from_file(CONF / "MLP_PASE.cfg")
    b = MLPConfig.from_file(CONF / "mlp.yaml")
    assert a.hidden == [1024] * 5 and a.dropout == [0.15] * 5 and a.batchnorm == [True] * 5
    assert (a.lr, a.batch_size, a.epochs, a.left, a.right) == (0.036, 128, 24, 8, 8)
    assert (a.halving_factor, a.seed, a.activation, a.num_outputs_cfg) == (0.5, 1234, "relu", 1973)
    a.num_outputs_cfg = None
    assert a == b
    m = HybridMLP(17 * 256, 1973, a)
    lin = [x for x in m.net if isinstance(x, torch.nn.Linear)]
    assert [x.in_features for x in lin] == [4352, 1024, 1024, 1024, 1024, 1024]
    bound = (0.01 / (4352 + 1024)) ** 0.5
    assert lin[0].weight.abs().max() <= bound and lin[0].bias.abs().max() == 0
    bns = [x for x in m.net if isinstance(x, torch.nn.BatchNorm1d)]
    assert len(bns) == 5 and bns[0].momentum == 0.05


def test_config_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("hidden: [10, 10]\ndropout: [0.1]\n")
    with pytest.raises(MLPConfigError, match=r"bad\.yaml.*dropout"):
        MLPConfig.from_file(p)
    p.write_text("hiden: [10]\n")
    with pytest.raises(MLPConfigError, match="hiden"):
        MLPConfig.from_file(p)
    p.write_text(json.dumps({"dnn_lay": "10,5", "dnn_drop": "0,0", "dnn_use_batchnorm": "x,y"}))
    with pytest.raises(MLPConfigError, match="boolean"):
        MLPConfig.from_file(p)


def test_splice_is_per_utterance_with_edge_copies() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)  # 4 frames, 3 dims
    s = splice(x, 2, 1)
    assert s.shape == (4, 12)
    # frame 0: frames [0, 0, 0, 1] (edge repeated); frame 3: [1, 2, 3, 3]
    np.testing.assert_array_equal(s[0].numpy(), np.concatenate([x[0], x[0], x[0], x[1]]))
    np.testing.assert_array_equal(s[3].numpy(), np.concatenate([x[1], x[2], x[3], x[3]]))
    # the frame table splices identically and never reaches into a neighbour utterance
    y = 100 + np.arange(6, dtype=np.float32).reshape(2, 3)
    table = FrameTable({"a": x, "b": y}, {"a": np.zeros(4), "b": np.ones(2)})
    got = table.batch(torch.arange(6), 2, 1)
    np.testing.assert_array_equal(got[:4].numpy(), s.numpy())
    np.testing.assert_array_equal(got[4:].numpy(), splice(y, 2, 1).numpy())


def test_length_matching_and_priors() -> None:
    x = np.zeros((10, 2), np.float32)
    assert match_length(x, 8, "u").shape == (8, 2)  # PASE's extra frames are trimmed
    with pytest.raises(ValueError, match=r"'u'.*10 feature frames but 6"):
        match_length(x, 6, "u")
    with pytest.raises(ValueError, match="'u'"):
        match_length(x, 11, "u")
    lp = log_priors({"a": np.array([0, 0, 1, 0])}, num_pdfs=3)
    np.testing.assert_allclose(np.exp(lp[:2]), [0.75, 0.25])
    assert lp[2] == 1e5  # never seen: effectively removed from decoding, no crash
    assert np.isfinite(lp).all()


def test_learning_rate_halving_rule() -> None:
    cfg = MLPConfig()
    assert next_lr(0.036, 0.40, 0.30, cfg) == 0.036  # 25% better: keep
    assert next_lr(0.036, 0.40, 0.3995, cfg) == 0.018  # 0.125% better: halve
    assert next_lr(0.036, 0.40, 0.41, cfg) == 0.018  # worse: halve


def _toy_tables(seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(4, 6)) * 1.5

    def utts(n, off):
        feats, labels = {}, {}
        for i in range(n):
            y = np.repeat(rng.integers(0, 4, size=8), 5)
            feats[f"u{off + i}"] = (means[y] + rng.normal(size=(y.size, 6))).astype(np.float32)
            labels[f"u{off + i}"] = y
        return feats, labels

    return utts(40, 0), utts(10, 100)


def test_training_learns_checkpoints_and_resumes(tmp_path: Path) -> None:
    (tf, tl), (df, dl) = _toy_tables()
    cfg = MLPConfig(
        hidden=[32, 32],
        dropout=[0.1, 0.1],
        batchnorm=[True, True],
        layernorm=[False, False],
        left=2,
        right=2,
        epochs=4,
        batch_size=32,
        lr=0.2,
    )
    hist = train(FrameTable(tf, tl), FrameTable(df, dl), 4, cfg, tmp_path, max_epochs=2)
    assert len(hist) == 2
    hist = train(FrameTable(tf, tl), FrameTable(df, dl), 4, cfg, tmp_path)  # resumes at 3
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    errs = [h["dev_frame_err"] for h in hist]
    assert errs[-1] < 0.3 < 0.75  # 4 balanced classes: chance is 0.75
    best_epoch = int(np.argmin(errs)) + 1
    model, cfg2 = load_model(tmp_path / "best.pt")  # weights_only loading
    assert cfg2 == cfg
    ck = torch.load(tmp_path / "best.pt", weights_only=True)
    assert ck["epoch"] == best_epoch
    ll = log_likelihoods(model, df["u100"], log_priors(tl, 4), cfg2)
    assert ll.shape == (40, 4) and ll.dtype == np.float32
    acc = (ll.argmax(1) == dl["u100"]).mean()
    assert acc > 0.6
    with pytest.raises(ValueError, match="expects 6"):
        log_likelihoods(model, np.zeros((5, 7), np.float32), log_priors(tl, 4), cfg2)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(MLPConfigError, match=r"junk\.pt"):
        load_model(tmp_path / "junk.pt")
