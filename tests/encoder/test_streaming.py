"""StreamingEncoder: pieces in, frames out as soon as complete, equal to the offline forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.models import streaming
from pase.models.frontend import WaveFe, wf_builder
from pase.models.streaming import StreamingEncoder
from tests.conftest import pase_frames

ATOL = 1e-4


def _randomise_bn(model: WaveFe, seed: int) -> WaveFe:
    """Non-trivial BatchNorm statistics, so that folding them into the convs matters."""
    g = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.copy_(0.1 * torch.randn(mod.running_mean.shape, generator=g))
            mod.running_var.copy_(0.5 + 1.5 * torch.rand(mod.running_var.shape, generator=g))
    return model


@pytest.fixture(scope="module")
def models() -> dict[str, WaveFe]:
    torch.manual_seed(11)
    return {name: _randomise_bn(wf_builder(name), 1).eval() for name in ("PASE", "PASE+")}


def _signal(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000
    return 0.4 * torch.sin(2 * torch.pi * 150 * t) + 0.1 * torch.randn(n, generator=g)


def _pieces(n: int, seed: int, tiny: int = 400) -> list[int]:
    """Random piece sizes summing to ``n``: ``tiny`` 1-sample pieces first (the start-up
    buffering), then a mix of 1..20 samples, around a hop, and over the receptive field."""
    g = np.random.default_rng(seed)
    sizes = [1] * min(tiny, n)
    while sum(sizes) < n:
        kind = g.integers(4)
        size = [g.integers(1, 21), g.integers(100, 400), g.integers(2400, 9000), 1][kind]
        sizes.append(int(min(size, n - sum(sizes))))
    return sizes


def _stream(stream: StreamingEncoder, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    outs, i = [], 0
    for n in sizes:
        y = stream.push(x[i : i + n])
        assert y.shape[0] == stream.emb_dim
        outs.append(y)
        i += n
    assert i == x.numel()
    outs.append(stream.flush())
    return torch.cat(outs, -1)


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
@pytest.mark.parametrize("length", [471, 1000, 16155, 16159, 16160, 40003])
def test_stream_equals_offline(models, name: str, length: int) -> None:
    model = models[name]
    x = _signal(length, length)
    with torch.no_grad():
        offline = model(x.view(1, 1, -1))[0]
    y = _stream(StreamingEncoder(model), x, _pieces(length, length))
    assert offline.shape[-1] == pase_frames(length)
    assert y.shape == offline.shape
    torch.testing.assert_close(y, offline, atol=ATOL, rtol=0)


def test_every_sample_alone_and_numpy_pieces(models) -> None:
    model = models["PASE+"]
    x = _signal(2000, 3)
    stream = StreamingEncoder(model)
    assert stream.push(np.zeros(0, dtype=np.float32)).shape == (256, 0)
    # numpy float64 pieces, as a float32 tensor would be
    outs = [stream.push(x[i : i + 1].double().numpy()) for i in range(x.numel())]
    y = torch.cat([*outs, stream.flush()], -1)
    with torch.no_grad():
        torch.testing.assert_close(y, model(x.view(1, 1, -1))[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_latency_is_exact(models, name: str) -> None:
    stream = StreamingEncoder(models[name])
    assert stream.latency_samples == 1176
    assert stream.latency_ms == pytest.approx(73.5)
    x = _signal(12000, 5)
    for t in (0, 1, 9, 50):
        # frame t (samples 160 t .. 160 t + 159) needs latency_samples more samples
        need = 160 * (t + 1) + stream.latency_samples
        stream.reset()
        assert stream.push(x[: need - 1]).shape[-1] == t
        assert stream.push(x[need - 1 : need]).shape[-1] == 1
        assert stream.frames_emitted == t + 1


@pytest.mark.parametrize("max_slice", [None, 1000])
def test_long_pieces(models, monkeypatch, max_slice: int | None) -> None:
    """Pieces longer than the slice pushed internally (2 s, or 1000 samples here)."""
    if max_slice is not None:
        monkeypatch.setattr(streaming, "MAX_SLICE", max_slice)
    model = models["PASE+"]
    x = _signal(70001, 6)
    y = _stream(StreamingEncoder(model), x, [64000, 6001])
    with torch.no_grad():
        torch.testing.assert_close(y, model(x.view(1, 1, -1))[0], atol=ATOL, rtol=0)


def test_reuse_after_flush_and_reset(models) -> None:
    model = models["PASE+"]
    stream = StreamingEncoder(model)
    a, b = _signal(9000, 1), _signal(7000, 2)
    _stream(stream, a, [4000, 5000])
    stream.push(a[:3000])
    stream.reset()  # abandon a half-pushed signal
    y = _stream(stream, b, [123, 4567, 2310])
    with torch.no_grad():
        torch.testing.assert_close(y, model(b.view(1, 1, -1))[0], atol=ATOL, rtol=0)
    assert stream.samples_seen == 0 and stream.frames_emitted == 0


def _buffer_bound(stream: StreamingEncoder) -> int:
    """An upper bound of the values held between calls, from the geometry alone: each block
    keeps less than a window (or the right padding + 1), each skip less than one pooling
    window, the frame queues at most the latency plus two frames, and the QRNN its state."""
    n = sum(b.c_in * max(b.span - 1, b.right + 1) for b in stream._blocks)
    n += sum(p.factor * p.channels for p in stream._pools)
    queued = stream._blocks[-1].weight.shape[0] + sum(p.channels for p in stream._pools)
    n += queued * (stream.latency_samples // stream.hop + 2)
    rnn = stream.model.rnn
    if rnn is not None:
        n += sum(layer.input_size + layer.hidden_size for layer in rnn.layers)
    return n


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_buffers_stay_bounded(models, name: str) -> None:
    stream = StreamingEncoder(models[name])
    bound = _buffer_bound(stream)
    x = _signal(20 * 16000, 9)
    g = np.random.default_rng(4)
    i = 0
    while i < x.numel():
        n = int(g.choice([1, 37, 160, 1600, 16000]))
        stream.push(x[i : i + n])
        i += n
        assert stream.buffered_values() <= bound, (i, stream.buffered_values(), bound)
    ready = (x.numel() - stream.latency_samples) // stream.hop  # frames out before the end
    assert stream.frames_emitted == ready
    assert stream.flush().shape[-1] == pase_frames(x.numel()) - ready


@pytest.mark.parametrize("pad_mode", ["reflect", "replicate", "constant"])
def test_other_geometry(pad_mode: str) -> None:
    """No SincNet, no fast path, a dilated layer, even kernels, all pad modes; a 1x1 first
    layer, so that at the end the second one gets nothing more to reflect its end from."""
    cfg = {
        "sincnet": False,
        "kwidths": [1, 4, 7, 3, 5],
        "strides": [1, 2, 1, 1, 2],
        "dilations": [1, 1, 1, 2, 1],
        "fmaps": [6, 8, 8, 8, 10],
        "pad_mode": pad_mode,
        "emb_dim": 12,
        "rnn_pool": True,
        "rnn_dim": 8,
        "denseskips": True,
        "norm_out": True,
        "tanh_out": True,
        "activation": "relu",
    }
    torch.manual_seed(2)
    model = _randomise_bn(wf_builder(cfg), 3).eval()
    stream = StreamingEncoder(model)
    for length in (model.min_input_samples, 97, 1001):
        x = _signal(length, length)
        y = _stream(stream, x, _pieces(length, length, tiny=30))
        with torch.no_grad():
            torch.testing.assert_close(y, model(x.view(1, 1, -1))[0], atol=ATOL, rtol=0)
    # frame t ends at sample 4 t + 3: its right context is exactly the latency
    stream.reset()
    x = _signal(200, 0)
    need = 4 * 6 + stream.latency_samples
    assert stream.push(x[: need - 1]).shape[-1] == 5
    assert stream.push(x[need - 1 : need]).shape[-1] == 1


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"norm_type": "inorm"}, "inorm"),
        ({"rnn_pool": True, "rnn_type": "lstm"}, "bidirectional"),
        ({"pad_mode": "circular"}, "circular"),
        ({"denseskips": True, "skip_pool": "original"}, "skip_pool"),
    ],
)
def test_modes_that_cannot_be_streamed(cfg: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StreamingEncoder(wf_builder(cfg).eval())


def test_input_errors(models) -> None:
    with pytest.raises(ValueError, match="'avg_norm' uses the mean over the whole utterance"):
        StreamingEncoder(models["PASE"], mode="avg_norm")
    with pytest.raises(ValueError, match="eval mode"):
        StreamingEncoder(wf_builder("PASE"))
    stream = StreamingEncoder(models["PASE"])
    with pytest.raises(ValueError, match="1-D"):
        stream.push(torch.zeros(1, 10))
    with pytest.raises(ValueError, match="floating-point"):
        stream.push(np.zeros(10, dtype=np.int16))
    with pytest.raises(ValueError, match="NaN"):
        stream.push(torch.tensor([0.0, float("nan")]))
    stream.push(torch.zeros(470))
    with pytest.raises(ValueError, match="470 samples is too short"):
        stream.flush()
    assert stream.samples_seen == 0  # reset: the next signal starts clean


def test_lazy_export() -> None:
    import subprocess
    import sys

    import pase

    assert pase.StreamingEncoder is StreamingEncoder
    code = "import sys, pase; print('pase.models.streaming' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
