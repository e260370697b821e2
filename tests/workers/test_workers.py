"""Workers: architecture (parameter counts of the original), shapes, losses, labels, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pase.targets.functional import contextualize
from pase.workers import Embeddings, WorkerConfigError, WorkersConfigError, WorkerSet, build_worker
from pase.workers.blocks import DeconvBlock, WaveDecoder, drop_frames, shuffle_frames
from pase.workers.kinds import (
    DecoderWorker,
    GapWorker,
    GIMWorker,
    InfoMaxWorker,
    LIMWorker,
    RegressionWorker,
    SPCWorker,
)

# Measured parameter counts of the original PASE+ workers (emb_dim 256), from the spec §4.3.
PASE_PLUS_PARAMS = {
    "cchunk": 8_857_537,
    "lps": 5_597_973,
    "lps_long": 5_597_973,
    "fbank": 281_928,
    "fbank_long": 281_928,
    "gtn": 281_928,
    "gtn_long": 281_928,
    "mfcc": 136_209,
    "mfcc_long": 173_988,
    "prosody": 87_636,
    "mi": 131_841,
    "cmi": 131_841,
}


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def mlp_spec(name: str, n: int, **kw) -> dict:
    return {
        "num_outputs": n,
        "dropout": 0,
        "hidden_size": 256,
        "hidden_layers": 1,
        "name": name,
        "loss": "MSELoss",
        "skip": False,
        **kw,
    }


def test_builtin_pase_plus_workers_match_original_parameter_counts() -> None:
    ws = WorkerSet.from_config("workers+", emb_dim=256)
    assert ws.names == list(PASE_PLUS_PARAMS)
    assert {n: n_params(w) for n, w in ws.workers.items()} == PASE_PLUS_PARAMS
    assert all(w.loss_weight == 1.0 for w in ws)
    assert ws["cmi"].augment and not ws["mi"].augment
    assert ws["lps"].r == 7 and ws["lps"].mlp.out.out_channels == 3075 * 7


def test_builtin_pase_workers() -> None:
    ws = WorkerSet.from_config("workers", emb_dim=100)
    assert ws.names == ["cchunk", "lps", "mfcc", "prosody", "spc", "mi", "cmi"]
    kinds = {n: w.kind for n, w in ws.workers.items()}
    assert kinds == {
        "cchunk": "decoder",
        "lps": "mlp",
        "mfcc": "mlp",
        "prosody": "mlp",
        "spc": "spc",
        "mi": "lim",
        "cmi": "gim",
    }
    # SPC sees the centre frame plus 5 flattened frames: 6 * 100 inputs
    assert ws["spc"].mlp.blocks[0].conv.in_channels == 600
    assert ws["mi"].mlp.blocks[0].conv.in_channels == 200
    # PASE v0.1 has no r: one output per target channel
    assert ws["lps"].mlp.out.out_channels == 1025


def test_prelu_inits() -> None:
    dec = build_worker(
        {
            "name": "cchunk",
            "type": "decoder",
            "hidden_size": 64,
            "hidden_layers": 1,
            "num_outputs": 1,
            "loss": "L1Loss",
        },
        16,
    )
    for blk in dec.decoder.upsample:
        assert torch.all(blk.act.weight == 0.0)
    assert torch.allclose(dec.decoder.mlp.blocks[0].act.weight, torch.tensor(0.25))
    reg = build_worker(mlp_spec("lps", 5), 16)
    assert reg.mlp.blocks[0].act.weight.shape == (256,)
    assert torch.allclose(reg.mlp.blocks[0].act.weight, torch.tensor(0.25))


@pytest.mark.parametrize("T", [1, 7, 50, 200])
def test_decoder_output_is_exactly_160_T(T: int) -> None:
    dec = WaveDecoder(
        8, 1, fmaps=(16, 8, 4), strides=(4, 4, 10), kwidths=(30, 30, 30), hidden_size=4,
        hidden_layers=1, dropout=0.0,
    )  # fmt: skip
    assert dec(torch.randn(2, 8, T)).shape == (2, 1, 160 * T)


@pytest.mark.parametrize(("k", "s"), [(30, 4), (30, 10), (31, 4), (5, 2), (3, 8), (1, 1), (4, 4)])
def test_deconv_block_upsamples_exactly(k: int, s: int) -> None:
    assert DeconvBlock(3, 2, k, s)(torch.randn(1, 3, 11)).shape == (1, 2, 11 * s)


def test_deconv_padding_rule_of_original() -> None:
    assert DeconvBlock(1, 1, 30, 4).deconv.padding == (13,)
    assert DeconvBlock(1, 1, 30, 10).deconv.padding == (10,)


def test_regression_worker_shapes_and_contextual_loss() -> None:
    B, D, C, T, r = 3, 8, 5, 20, 7
    w = RegressionWorker.create("lps", D, num_outputs=C, r=r, hidden_size=16)
    emb = Embeddings(torch.randn(B, D, T))
    target = torch.randn(B, C, T)
    pred, label = w(emb, {"lps": target})
    assert pred.shape == (B, C * r, T)
    assert torch.equal(label, contextualize(target, r))
    assert torch.allclose(w.loss(pred, label), F.mse_loss(pred, contextualize(target, r)))


def test_regression_perfect_prediction_gives_zero_loss() -> None:
    # A worker without hidden layer whose 1x1 output is the identity predicts its input; give
    # it the contextualised target as input: the loss is zero only if the worker lays out the
    # r frames exactly as contextualize does, and not with a shifted target.
    C, r, T = 3, 5, 12
    w = RegressionWorker.create("fbank", C * r, num_outputs=C, r=r, hidden_layers=0)
    with torch.no_grad():
        w.mlp.out.weight.copy_(torch.eye(C * r).unsqueeze(-1))
        w.mlp.out.bias.zero_()
    target = torch.randn(2, C, T)
    emb = Embeddings(contextualize(target, r))
    loss = w.loss(*w(emb, {"fbank": target}))
    assert loss.item() < 1e-12
    shifted = torch.roll(target, 1, dims=2)
    assert w.loss(*w(emb, {"fbank": shifted})).item() > 0.1


def test_regression_worker_trims_one_extra_encoder_frame() -> None:
    # 16159 samples: the encoder gives 101 frames, the targets 16159 // 160 = 100
    w = RegressionWorker.create("mfcc", 4, num_outputs=2, r=3, hidden_size=8)
    pred, label = w(Embeddings(torch.randn(1, 4, 101)), {"mfcc": torch.randn(1, 2, 100)})
    assert pred.shape == (1, 6, 100) and label.shape == (1, 6, 100)
    with pytest.raises(ValueError, match=r"worker .mfcc.*101 steps.*97"):
        w(Embeddings(torch.randn(1, 4, 101)), {"mfcc": torch.randn(1, 2, 97)})


def test_regression_missing_or_misshaped_target_names_worker() -> None:
    w = RegressionWorker.create("prosody", 4, num_outputs=12, r=7, hidden_size=8)
    emb = Embeddings(torch.randn(1, 4, 10))
    with pytest.raises(KeyError, match="worker 'prosody': no target 'prosody'"):
        w(emb, {"lps": torch.randn(1, 12, 10)})
    with pytest.raises(ValueError, match=r"worker 'prosody': expected a target \(B, 12, T\)"):
        w(emb, {"prosody": torch.randn(1, 4, 10)})


def test_decoder_worker_loss_on_waveform() -> None:
    w = DecoderWorker.create("cchunk", 8, fmaps=(8, 8, 4), hidden_size=4, hidden_layers=1)
    wav = torch.randn(2, 1, 3200)
    pred, label = w(Embeddings(torch.randn(2, 8, 20)), {"cchunk": wav})
    assert pred.shape == (2, 1, 3200) and torch.equal(label, wav)
    assert torch.allclose(w.loss(pred, label), (pred - wav).abs().mean())
    # (B, L) targets are accepted; a waveform longer than 160 T is cut to the prediction
    pred, label = w(Embeddings(torch.randn(2, 8, 20)), {"cchunk": torch.randn(2, 3300)})
    assert label.shape == (2, 1, 3200)


def _infomax(pooled: bool, augment: bool, D: int = 4) -> InfoMaxWorker:
    # no hidden layer: logit = sum of channel 0 of both halves of the pair
    kind = GIMWorker if pooled else LIMWorker
    w = kind.create("x", D, augment=augment, hidden_layers=0)
    assert isinstance(w, InfoMaxWorker) and w.pooled == pooled
    with torch.no_grad():
        w.mlp.out.weight.zero_()
        w.mlp.out.weight[0, 0, 0] = 1.0
        w.mlp.out.weight[0, D, 0] = 1.0
        w.mlp.out.bias.zero_()
    return w


@pytest.mark.parametrize(
    ("pooled", "augment"), [(False, False), (True, False), (True, True), (False, True)]
)
def test_infomax_pairs_and_labels(pooled: bool, augment: bool) -> None:
    B, D, T = 3, 4, 6
    w = _infomax(pooled, augment, D)
    c = torch.zeros(B, D, T)
    ctx = torch.full((B, D, T), 10.0)
    rnd = torch.full((B, D, T), -30.0)
    pred, label = w(Embeddings(c, ctx, rnd), {})
    n = (4 if augment else 2) * B
    assert pred.shape == (n, 1, 1 if pooled else T)
    assert torch.equal(label[: n // 2], torch.ones_like(label[: n // 2]))
    assert torch.equal(label[n // 2 :], torch.zeros_like(label[n // 2 :]))
    # positives (chunk, ctxt) [+ (ctxt, chunk)] score +10, negatives (chunk|ctxt, rand) < 0
    assert torch.all(pred[: n // 2] == 10.0) and torch.all(pred[n // 2 :] < 0)
    assert w.loss(pred, label).item() < 1e-3
    # swapping context and random chunks makes the discriminator maximally wrong
    pred, label = w(Embeddings(c, rnd, ctx), {})
    assert w.loss(pred, label).item() > 5


def test_gim_averages_over_time() -> None:
    w = _infomax(pooled=True, augment=False)
    c = torch.zeros(1, 4, 4)
    ctx = torch.tensor([[[0.0, 0.0, 0.0, 8.0]]]).expand(1, 4, 4)
    pred, _ = w(Embeddings(c, ctx, -ctx), {})
    assert pred.flatten().tolist() == [2.0, -2.0]


def test_infomax_needs_pairs() -> None:
    with pytest.raises(ValueError, match="worker 'x' needs the context"):
        _infomax(False, False)(Embeddings(torch.zeros(1, 4, 3)), {})


def test_spc_windows_labels_and_determinism() -> None:
    D, T, B = 2, 60, 4
    w = SPCWorker.create("spc", D, hidden_layers=0)
    # identify frames by their time index in channel 0
    x = torch.arange(T, dtype=torch.float32).expand(B, D, T).clone()
    seen = []

    def grab(_m, inp, _out):
        seen.append(inp[0].detach().clone())

    h = w.mlp.out.register_forward_hook(grab)
    pred, label = w(Embeddings(x), {}, torch.Generator().manual_seed(3))
    h.remove()
    assert pred.shape == (2 * B, 1, 1)
    assert label.flatten().tolist() == [1.0] * B + [0.0] * B
    # rows: [frame t (D channels); 5 frames of channel 0; 5 frames of channel 1]
    inp = seen[0][:, :, 0]
    assert inp.shape == (2 * B, 6 * D)
    t = inp[0, 0].item()
    assert torch.all(inp[:, :D] == t)
    fut, past = inp[0, D : D + 5], inp[B, D : D + 5]
    assert torch.equal(inp[0, D + 5 :], fut) and torch.equal(inp[B, D + 5 :], past)
    assert 22 <= t < T - 21
    assert torch.equal(fut, torch.arange(5.0) + fut[0]) and fut[0] >= t + 16 and fut[-1] < T
    assert torch.equal(past, torch.arange(5.0) + past[0]) and past[-1] < t - 16 and past[0] >= 0
    p2, _ = w(Embeddings(x), {}, torch.Generator().manual_seed(3))
    assert torch.equal(pred, p2)
    with pytest.raises(ValueError, match="worker 'spc': needs at least 44 frames"):
        w(Embeddings(torch.randn(1, D, 43)), {})


def test_gap_labels() -> None:
    w = GapWorker.create("gap", 3, hidden_size=8)
    pred, label = w(Embeddings(torch.randn(5, 3, 11)), {}, torch.Generator().manual_seed(0))
    assert pred.shape == (5, 1, 1) and label.shape == (5, 1, 1)
    assert torch.all((label >= 0) & (label <= 1))
    assert torch.allclose(label * 10, torch.round(label * 10))


def test_workerset_forward_all_losses_and_weights() -> None:
    cfg = {
        "regr": [
            mlp_spec("mfcc", 6, r=3, loss_weight=2.0),
            {
                "name": "cchunk",
                "type": "decoder",
                "num_outputs": 1,
                "hidden_size": 4,
                "hidden_layers": 1,
                "fmaps": [4, 4, 4],
                "loss": "L1Loss",
            },
        ],
        "cls": [
            {
                "name": "mi",
                "num_outputs": 1,
                "hidden_size": 8,
                "hidden_layers": 1,
                "loss": "BCEWithLogitsLoss",
            },
            {
                "name": "cmi",
                "num_outputs": 1,
                "hidden_size": 8,
                "hidden_layers": 1,
                "augment": True,
                "loss": "BCEWithLogitsLoss",
            },
        ],
    }
    ws = WorkerSet.from_config(cfg, emb_dim=8)
    assert ws.needs_context and ws.loss_weights == {
        "mfcc": 2.0,
        "cchunk": 1.0,
        "mi": 1.0,
        "cmi": 1.0,
    }
    B, T = 2, 10
    h = torch.randn(3 * B, 8, T, requires_grad=True)
    targets = {"mfcc": torch.randn(B, 6, T), "cchunk": torch.randn(B, 1, 160 * T)}
    losses = ws(Embeddings.split(h), targets)
    assert list(losses) == ["mfcc", "cchunk", "mi", "cmi"]
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    sum(ws.loss_weights[n] * v for n, v in losses.items()).backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    sub = ws(Embeddings.split(h), targets, names=["mi"])
    assert list(sub) == ["mi"]
    losses, outs = ws(Embeddings.split(h), targets, return_outputs=True)
    assert outs["cmi"][0].shape == (4 * B, 1, 1)


def test_training_lowers_regression_loss() -> None:
    torch.manual_seed(0)
    D, C, r, T = 6, 3, 3, 30
    w = RegressionWorker.create("lps", D, num_outputs=C, r=r, hidden_size=32, hidden_layers=1)
    emb = torch.randn(4, D, T)
    target = torch.tanh(torch.einsum("cd,bdt->bct", torch.randn(C, D), emb))
    opt = torch.optim.Adam(w.parameters(), 3e-2)
    first = None
    for _ in range(30):
        loss = w.loss(*w(Embeddings(emb), {"lps": target}))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    # frames t-1, t+1 of the contextual target are not predictable from frame t, so the loss
    # cannot reach 0, but the centre frame is learned through the r-frame layout
    assert loss.item() < 0.6 * first


@pytest.mark.parametrize(
    ("spec", "msg"),
    [
        ({"name": "lps", "type": "wavenet", "num_outputs": 3}, "'lps': unknown worker type"),
        ({"name": "lps", "type": "gru", "num_outputs": 3}, "'lps': worker type 'gru' is not"),
        ({"name": "lps", "num_outputs": 3, "foo": 1}, r"'lps' \(mlp\): unknown key\(s\) \['foo'\]"),
        ({"name": "lps", "num_outputs": 3, "loss": "HingeLos"}, "'lps': unknown loss 'HingeLos'"),
        ({"name": "lps", "num_outputs": 3, "skip": True}, "'lps': skip=True is not supported"),
        ({"name": "lps"}, "worker 'lps': 'num_outputs' is required"),
        ({"name": "lps", "num_outputs": 3, "context": 2}, "worker 'lps'.*odd"),
        ({"name": "lps", "num_outputs": "x"}, "worker 'lps': bad value for 'num_outputs'"),
        ({"name": "cc", "type": "decoder", "strides": [4, 4]}, "worker 'cc'.*same non-zero length"),
        ({"num_outputs": 3}, "every worker needs a 'name'"),
    ],
)
def test_bad_worker_specs_name_the_worker(spec: dict, msg: str) -> None:
    with pytest.raises(WorkerConfigError, match=msg):
        build_worker(spec, 8)


def test_bad_cfgs(tmp_path) -> None:
    with pytest.raises(WorkerConfigError, match="unknown top-level key"):
        WorkerSet.from_config({"regr": [], "minions": []}, 8)
    with pytest.raises(WorkerConfigError, match="regulariser workers"):
        WorkerSet.from_config({"regu": [{"name": "r"}]}, 8)
    with pytest.raises(WorkerConfigError, match="worker 'a' appears twice"):
        WorkerSet.from_config({"regr": [mlp_spec("a", 1), mlp_spec("a", 2)]}, 8)
    with pytest.raises(WorkersConfigError, match=r"nope\.cfg: cannot read"):
        WorkerSet.from_config(str(tmp_path / "nope.cfg"), 8)
    bad = tmp_path / "bad.cfg"
    bad.write_text("{not json")
    with pytest.raises(WorkersConfigError, match="not valid JSON"):
        WorkerSet.from_config(bad, 8)


def test_embeddings_split() -> None:
    h = torch.arange(6.0).view(6, 1, 1)
    e = Embeddings.split(h)
    assert e.chunk.flatten().tolist() == [0, 1] and e.rand.flatten().tolist() == [4, 5]
    with pytest.raises(ValueError, match="stacked embeddings"):
        Embeddings.split(torch.zeros(5, 1, 1))


def test_frame_dropout_and_local_shuffle() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.ones(4, 3, 200)
    y = drop_frames(x, 0.5, g)
    kept = y[:, 0, :]
    assert torch.equal(y, kept.unsqueeze(1).expand_as(y))  # whole frames, all channels
    assert 0.35 < kept.mean().item() < 0.65
    assert drop_frames(x, 0.0) is x
    t = torch.arange(20.0).view(1, 1, 20).expand(2, 2, 20)
    s = shuffle_frames(t, 7, g)
    for b in range(0, 20, 7):
        assert sorted(s[0, 0, b : b + 7].tolist()) == list(range(b, min(b + 7, 20)))
    assert not torch.equal(s, t) and torch.equal(s[0], s[1])
    w = DecoderWorker.create("cchunk", 3, fmaps=(4, 4, 4), hidden_size=4, dropout_time=0.9)
    emb = Embeddings(torch.randn(2, 3, 5))
    w.eval()
    a, _ = w(emb, {"cchunk": torch.zeros(2, 1, 800)})
    b, _ = w(emb, {"cchunk": torch.zeros(2, 1, 800)})
    assert torch.equal(a, b)  # no frame dropout at evaluation
    w.train()
    c, _ = w(emb, {"cchunk": torch.zeros(2, 1, 800)}, torch.Generator().manual_seed(1))
    assert not torch.equal(a, c)
