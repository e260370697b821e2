"""Export an eval-mode PASE / PASE+ encoder to TorchScript or ONNX, with dynamic length.

:class:`ExportableEncoder` is a scriptable copy of an eval-mode :class:`WaveFe`: the same
``(B, 1, L)`` -> ``(B, emb_dim, T)`` function, written with operations TorchScript compiles
and the ONNX exporter converts: BatchNorm folded into the convolutions, SincNet filters
precomputed, the dense-skip averaging and the QRNN recurrence computed from the input's own
length (the recurrence is a loop over frames: a TorchScript loop, an ONNX ``Loop``), so one
exported file takes any batch size and any input length of at least ``min_input_samples``.

:func:`export_encoder` scripts it, writes the file, loads it back and checks it against the
eager encoder on a random input of another length than the one used to export.

Limits: the output layer only (no hidden layers, no ``mode``); no training; ``rnn_type``
``qrnn`` or no RNN (the LSTM/GRU variants are refused); ``norm_type`` ``bnorm`` or none; ONNX
goes through the TorchScript-based exporter (``dynamo=False``): torch.export cannot express a
loop whose trip count is the input's frame count, so the dynamo exporter would fix the length.
"""

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pase.models.frontend import WaveFe
from pase.models.modules import fold_batchnorm

__all__ = ["FORMATS", "ExportReport", "ExportableEncoder", "export_encoder"]

FORMATS = ("torchscript", "onnx")


class _Block(nn.Module):
    """Padding, convolution (BatchNorm folded in), activation of one encoder block."""

    stride: int
    dilation: int
    pad_left: int
    pad_right: int
    pad_mode: str
    act: int  # 0 none, 1 PReLU, 2 ReLU

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        weight, bias = block.conv_weight()
        weight = weight.detach().clone()
        bias = None if bias is None else bias.detach().clone()
        if isinstance(block.norm, nn.BatchNorm1d):
            weight, bias = fold_batchnorm(weight, bias, block.norm)
        elif block.norm is not None:
            raise ValueError(f"export supports BatchNorm or no norm, not {type(block.norm)}")
        if bias is None:
            bias = weight.new_zeros(weight.shape[0])
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", bias.detach().clone())
        self.stride = block.stride
        self.dilation = 1 if block.sincnet else block.dilation
        self.pad_left = int(block.padding[0])
        self.pad_right = int(block.padding[1])
        self.pad_mode = block.pad_mode
        act = block.act
        self.act = 0 if act is None else (1 if isinstance(act, nn.PReLU) else 2)
        slope = act.weight.detach().clone() if isinstance(act, nn.PReLU) else torch.zeros(1)
        self.register_buffer("slope", slope)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, [self.pad_left, self.pad_right], mode=self.pad_mode)
        y = F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation)
        if self.act == 1:
            y = F.prelu(y, self.slope)
        elif self.act == 2:
            y = F.relu(y)
        return y


class _QRNNLayer(nn.Module):
    """One QRNN layer (window 1 or 2, output gate) from zero state, ``(T, B, C)``."""

    window: int
    output_gate: bool
    hidden: int

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.register_buffer("weight", layer.linear.weight.detach().clone())
        self.register_buffer("bias", layer.linear.bias.detach().clone())
        self.window = layer.window
        self.output_gate = layer.output_gate
        self.hidden = layer.hidden_size

    def forward(self, x: Tensor) -> Tensor:
        if self.window == 2:
            x = torch.cat([x, torch.cat([torch.zeros_like(x[:1]), x[:-1]], 0)], 2)
        y = F.linear(x, self.weight, self.bias)
        h = self.hidden
        z = torch.tanh(y[:, :, :h])
        f = torch.sigmoid(y[:, :, h : 2 * h])
        b = f * z
        a = 1.0 - f
        c = torch.zeros_like(b[0])
        out: list[Tensor] = []
        for t in range(b.shape[0]):
            c = b[t] + a[t] * c
            out.append(c)
        cs = torch.stack(out, 0)
        if self.output_gate:
            cs = torch.sigmoid(y[:, :, 2 * h :]) * cs
        return cs


class ExportableEncoder(nn.Module):
    """Scriptable eval-mode copy of ``model``: ``(B, 1, L)`` float 16 kHz -> ``(B, emb_dim,
    T)`` with ``T = model.num_frames(L)``; the weights are copied (later changes to ``model``
    do not reach it)."""

    skip_factors: list[int]
    aligned: bool
    tanh_out: bool
    min_input_samples: int
    emb_dim: int

    def __init__(self, model: WaveFe) -> None:
        super().__init__()
        if model.rnn is not None and model.rnn_type != "qrnn":
            raise ValueError(
                f"export supports rnn_type qrnn or no rnn, not {model.rnn_type!r} "
                "(its recurrence is not in the exportable copy)"
            )
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                self.blocks = nn.ModuleList(_Block(b) for b in model.blocks)
                self.qrnn = nn.ModuleList(
                    [] if model.rnn is None else [_QRNNLayer(layer) for layer in model.rnn.layers]
                )
                skips = [] if model.denseskips is None else list(model.denseskips)
                self.skips = nn.ParameterList(
                    nn.Parameter(s.weight.detach().clone(), requires_grad=False) for s in skips
                )
                self.register_buffer("w_weight", model.W.weight.detach().clone())
                self.register_buffer("w_bias", model.W.bias.detach().clone())
                norm = model.norm_out
                if norm is not None:
                    scale = torch.rsqrt(norm.running_var + norm.eps)
                    shift = -norm.running_mean * scale
                else:
                    scale = torch.ones(model.emb_dim)
                    shift = torch.zeros(model.emb_dim)
                self.register_buffer("out_scale", scale.detach().clone())
                self.register_buffer("out_shift", shift.detach().clone())
        finally:
            model.train(was_training)
        self.skip_factors = list(model._skip_factors)
        self.aligned = model.skip_pool == "aligned"
        self.tanh_out = model.tanh_out
        self.min_input_samples = model.min_input_samples
        self.emb_dim = model.emb_dim

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1, L)`` -> ``(B, emb_dim, T)``."""
        if x.shape[-1] < self.min_input_samples:
            raise ValueError("input too short for the encoder's receptive field")
        h = x
        outs: list[Tensor] = []
        for blk in self.blocks:
            h = blk(h)
            outs.append(h)
        t_out = h.shape[-1]
        if len(self.qrnn) > 0:
            seq = h.permute(2, 0, 1)
            for layer in self.qrnn:
                seq = layer(seq)
            h = seq.permute(1, 2, 0)
        y = F.conv1d(h, self.w_weight, self.w_bias)
        n = 0
        for proj in self.skips:
            src = outs[n]
            f = self.skip_factors[n] if self.aligned else src.shape[-1] // t_out
            pooled = _pool_frames(src, f, t_out)
            y = y + F.conv1d(pooled, proj)
            n += 1
        y = y * self.out_scale.view(1, -1, 1) + self.out_shift.view(1, -1, 1)
        if self.tanh_out:
            y = torch.tanh(y)
        return y


def _pool_frames(h: Tensor, f: int, t_out: int) -> Tensor:
    """``(B, C, T')`` -> ``(B, C, t_out)``: means over windows of ``f`` positions, the last
    (partial) window repeated (as :func:`pase.models.fast.pool_frames`)."""
    length = h.shape[-1]
    if length >= t_out * f:
        return h[:, :, : t_out * f].reshape(h.shape[0], h.shape[1], t_out, f).mean(-1)
    full = length // f
    head = h[:, :, : full * f].reshape(h.shape[0], h.shape[1], full, f).mean(-1)
    tail = h[:, :, full * f :].mean(-1, keepdim=True)
    return torch.cat([head, tail.expand(-1, -1, t_out - full)], -1)


@dataclass
class ExportReport:
    """What :func:`export_encoder` wrote and checked."""

    path: Path
    format: str
    export_samples: int
    check_samples: int
    max_abs_diff: float
    tolerance: float


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the deprecation notices of TorchScript and of the TorchScript-based ONNX
    exporter (both still work), and the exporter's notes on constant folding."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", "Constant folding", UserWarning)
        yield


def _script(module: ExportableEncoder) -> torch.jit.ScriptModule:
    with _quiet():
        return torch.jit.script(module)


def export_encoder(
    model: WaveFe,
    path: str | os.PathLike,
    fmt: str = "torchscript",
    *,
    export_samples: int = 16000,
    check_samples: int = 24253,
    opset: int = 17,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Export ``model`` (its eval-mode function) to ``path`` and verify the file.

    Args:
        model: the encoder (left unchanged).
        path: file to write (``.pt`` TorchScript, ``.onnx``).
        fmt: ``"torchscript"`` or ``"onnx"``.
        export_samples: length of the example input used to export (samples).
        check_samples: length of the random check input (samples, must differ from
            ``export_samples``: the file has to accept another length).
        opset: ONNX opset.
        tolerance: largest allowed ``|exported - eager|`` on the check input.
        seed: seed of the example and check inputs.

    Raises:
        ValueError: unknown format, unsupported encoder, a check input the encoder refuses,
            or the reloaded file differs from the eager encoder by more than ``tolerance``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: use one of {FORMATS}")
    if check_samples == export_samples:
        raise ValueError("check_samples must differ from export_samples (dynamic length)")
    for n in (export_samples, check_samples):
        if n < model.min_input_samples:
            raise ValueError(
                f"{n} samples is shorter than the encoder's minimum {model.min_input_samples}"
            )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    example = 0.1 * torch.randn(1, 1, export_samples, generator=g)
    check = 0.1 * torch.randn(2, 1, check_samples, generator=g)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = model(check).float()
    finally:
        model.train(was_training)
    scripted = _script(ExportableEncoder(model).cpu().float())
    if fmt == "torchscript":
        scripted.save(str(path))
        with _quiet():
            loaded = torch.jit.load(str(path))
        with torch.no_grad():
            got = loaded(check)
    else:
        got = torch.from_numpy(_export_onnx(scripted, example, path, opset, check.numpy()))
    if got.shape != expected.shape:
        raise ValueError(
            f"{path}: the exported encoder gives shape {tuple(got.shape)} for {check_samples} "
            f"samples, the encoder {tuple(expected.shape)}"
        )
    diff = float((got - expected).abs().max())
    if not diff <= tolerance:
        raise ValueError(
            f"{path}: the exported encoder differs from the eager one by {diff:.3g} "
            f"(tolerance {tolerance:g}) on {check_samples} samples"
        )
    return ExportReport(path, fmt, export_samples, check_samples, diff, tolerance)


def _export_onnx(
    scripted: torch.jit.ScriptModule, example: Tensor, path: Path, opset: int, check: object
) -> object:
    """Write the ONNX file (TorchScript-based exporter) and run ``check`` through it with
    onnxruntime; returns the output array."""
    try:
        import onnxruntime
    except ImportError as e:
        raise ValueError(
            "ONNX export is checked with onnxruntime: pip install onnx onnxruntime"
        ) from e
    with _quiet():
        torch.onnx.export(
            scripted,
            (example,),
            str(path),
            dynamo=False,
            input_names=["wav"],
            output_names=["feats"],
            dynamic_axes={"wav": {0: "batch", 2: "samples"}, "feats": {0: "batch", 2: "frames"}},
            opset_version=opset,
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["feats"], {"wav": check})[0]
