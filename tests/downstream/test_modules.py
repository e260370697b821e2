"""pase.downstream building blocks: pooling masks, heads, weighted layer sum, the encoder as a
front end (frozen / fine-tuned), accuracy intervals and confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.downstream import (
    Accuracy,
    EncoderFeatures,
    FrameHead,
    UtteranceHead,
    WeightedLayerSum,
    confusion_matrix,
    mean_pool,
    stats_pool,
)
from pase.downstream.metrics import plot_confusion
from pase.models.frontend import wf_builder


def test_pooling_ignores_padded_frames() -> None:
    x = torch.randn(2, 7, 3)
    lens = torch.tensor([4, 7])
    y = x.clone()
    y[0, 4:] = 1e6  # padding content must not matter
    torch.testing.assert_close(mean_pool(y, lens)[0], x[0, :4].mean(0))
    st = stats_pool(y, lens)
    torch.testing.assert_close(st[0, :3], x[0, :4].mean(0))
    torch.testing.assert_close(st[0, 3:], (x[0, :4].var(0, unbiased=False) + 1e-5).sqrt())
    torch.testing.assert_close(st[1, :3], x[1].mean(0))


def test_heads_shapes_and_bad_pooling() -> None:
    x, lens = torch.randn(3, 5, 8), torch.tensor([5, 2, 3])
    assert UtteranceHead(8, 4)(x, lens).shape == (3, 4)
    assert UtteranceHead(8, 4, pooling="stats", hidden=16)(x, lens).shape == (3, 4)
    assert FrameHead(8, 6, hidden=10)(x).shape == (3, 5, 6)
    with pytest.raises(ValueError, match="pooling"):
        UtteranceHead(8, 4, pooling="max")


def test_weighted_layer_sum() -> None:
    layers = [torch.full((1, 2, 3), float(k)) for k in range(4)]
    ws = WeightedLayerSum(4)
    torch.testing.assert_close(ws(layers), torch.full((1, 2, 3), 1.5))  # equal weights
    with torch.no_grad():
        ws.weights.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0]))
    torch.testing.assert_close(ws(layers), layers[2], rtol=0, atol=1e-12)
    ws(layers).sum().backward()
    assert ws.weights.grad is not None
    with pytest.raises(ValueError, match="expected 4 layers"):
        ws(layers[:3])


def _wave(lens: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    x = torch.zeros(len(lens), max(lens))
    for i, n in enumerate(lens):
        x[i, :n] = 0.1 * torch.randn(n, generator=g)
    return x, torch.tensor(lens)


def test_frozen_encoder_features_equal_the_encoder_alone() -> None:
    torch.manual_seed(0)
    enc = wf_builder("PASE+")
    front = EncoderFeatures(enc).train()  # frozen: the encoder stays in eval mode
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    x, lens = _wave([4000, 5600])
    feats, frames = front(x, lens)
    assert feats.shape == (2, int(frames.max()), 256)
    for i, n in enumerate(lens.tolist()):
        with torch.no_grad():
            alone = enc(x[i : i + 1, :n].unsqueeze(1))[0].t()
        torch.testing.assert_close(feats[i, : frames[i]], alone, rtol=1e-4, atol=1e-5)
    assert not feats.requires_grad


@pytest.mark.parametrize("layer", ["weighted", 3, "output"])
def test_finetuned_encoder_gets_gradients(layer) -> None:
    torch.manual_seed(0)
    front = EncoderFeatures(wf_builder("PASE+"), layer=layer, finetune=True).train()
    head = UtteranceHead(front.dim, 3)
    x, lens = _wave([4000, 5600, 4800])
    feats, frames = front(x, lens)
    loss = torch.nn.functional.cross_entropy(head(feats, frames), torch.tensor([0, 1, 2]))
    loss.backward()
    enc_grads = [p.grad for p in front.encoder.parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in enc_grads) > 0
    if layer == "weighted":
        assert front.weighted is not None and front.weighted.weights.grad is not None
        assert front.weighted.layer_weights.shape == (9,)


def test_wilson_interval_and_confusion(tmp_path) -> None:
    acc = Accuracy(8, 10)
    lo, hi = acc.interval()
    assert acc.value == 0.8 and lo == pytest.approx(0.4902, abs=1e-3)
    assert hi == pytest.approx(0.9433, abs=1e-3)
    assert Accuracy(0, 0).interval() == (0.0, 1.0)
    assert acc.to_dict()["ci95"] == [lo, hi]
    cm = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    pytest.importorskip("matplotlib")
    assert plot_confusion(cm, ["a", "b", "c"], tmp_path / "cm.png")
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
