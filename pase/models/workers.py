"""Workers ("minions"): small heads on PASE embeddings, each owning its target and loss.

Built from the original workers cfg JSON (``{"regr": [...], "cls": [...]}``, see
``pase/conf/workers/``): every entry is the keyword arguments of one worker plus ``name``
(also the key of its target), optional ``type`` and ``loss`` (a ``torch.nn`` loss class name).

Kinds (all frame-wise 1x1 convolutions over ``(B, C, T)`` embeddings at 100 frames/s):

- ``mlp`` regressor: ``hidden_layers`` x [Conv1d(kernel ``context``) -> PReLU(0.25) -> Dropout]
  then a 1x1 Conv1d to ``num_outputs * r`` channels; the target ``(B, C, T)`` is expanded to
  ``r`` frames of context with :func:`pase.targets.functional.contextualize`.
- ``decoder`` (waveform, ``cchunk``): transposed convolutions (PReLU init 0) that upsample by
  ``prod(strides)`` (160), an MLP block, a 1x1 Conv1d to one channel; output ``(B, 1, 160 T)``.
- ``lim`` / ``gim`` (local / global info max, names ``mi`` / ``cmi``): discriminate
  (chunk, context chunk) from (chunk, random chunk) pairs, per frame (LIM) or on time-averaged
  embeddings (GIM, optionally ``augment``-ed with the pairs swapped).
- ``spc`` (sequence predictive coding, PASE v0.1): frame t with 5 future frames vs 5 past frames.
- ``gap``: predicts the normalised distance ``|a - b| / (T - 1)`` between two random frames.

:class:`WorkerSet` builds all workers of a cfg for an encoder ``emb_dim`` and returns per-worker
losses given the embeddings of (chunk, chunk_ctxt, chunk_rand) and the targets dict.
"""

from __future__ import annotations

import abc
import copy
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from pase.constants import HOP
from pase.targets.functional import contextualize
from pase.workers.config import WorkersConfigError, load_workers_cfg


class WorkerConfigError(WorkersConfigError):
    """A workers cfg that cannot be built (the message names the worker and the key)."""


class Embeddings(NamedTuple):
    """Encoder outputs ``(B, D, T)`` of the chunk, the context chunk and the random chunk."""

    chunk: Tensor
    ctxt: Tensor | None = None
    rand: Tensor | None = None

    @classmethod
    def split(cls, h: Tensor, parts: int = 3) -> Embeddings:
        """Split the encoder output of the stacked batch ``[chunk; ctxt; rand]`` ``(3B, D, T)``."""
        if h.dim() != 3 or h.shape[0] % parts:
            raise ValueError(
                f"expected stacked embeddings (B*{parts}, D, T), got shape {tuple(h.shape)}"
            )
        return cls(*h.chunk(parts, dim=0))


# --------------------------------------------------------------------------------------------
# configuration


def resolve_workers_cfg(cfg: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Load a workers cfg: ``"workers"`` / ``"workers+"`` (built-in), a JSON file, or a dict.

    Same resolution as :class:`pase.targets.TargetSet`; returns a deep copy.
    """
    data, _ = load_workers_cfg(cfg)
    return copy.deepcopy(data)


def build_criterion(name: str, *, worker: str) -> nn.Module:
    """A mean-reduced ``torch.nn`` loss from its class name (``MSELoss``, ``L1Loss``, ...)."""
    cls = getattr(nn, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, nn.modules.loss._Loss)):
        raise WorkerConfigError(
            f"worker {worker!r}: unknown loss {name!r} "
            "(expected a torch.nn loss class name such as MSELoss, L1Loss, BCEWithLogitsLoss)"
        )
    return cls()


# --------------------------------------------------------------------------------------------
# building blocks


class MLPBlock(nn.Module):
    """Conv1d (kernel ``context``, 'same' padding) -> PReLU(per channel) -> Dropout.

    ``(B, C_in, T)`` -> ``(B, C_out, T)``; ``context`` must be odd.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        context: int = 1,
        dropout: float = 0.0,
        prelu_init: float = 0.25,
    ) -> None:
        super().__init__()
        if context < 1 or context % 2 == 0:
            raise ValueError(f"context must be an odd positive kernel width, got {context}")
        self.conv = nn.Conv1d(in_channels, out_channels, context, padding=context // 2)
        self.act = nn.PReLU(out_channels, init=prelu_init)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.act(self.conv(x)))


class MLP(nn.Module):
    """``hidden_layers`` MLP blocks then a 1x1 output Conv1d: ``(B, C_in, T)`` -> ``(B, C_out, T)``.

    Only the first block uses the ``context`` kernel width (as the original).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        hidden_size: int = 256,
        hidden_layers: int = 1,
        context: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        blocks = []
        ch = in_channels
        for i in range(hidden_layers):
            blocks.append(
                MLPBlock(ch, hidden_size, context=context if i == 0 else 1, dropout=dropout)
            )
            ch = hidden_size
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Conv1d(ch, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.blocks(x))


class DeconvBlock(nn.Module):
    """ConvTranspose1d upsampling exactly ``stride`` times, then PReLU (init 0).

    ``(B, C_in, T)`` -> ``(B, C_out, stride * T)``. Padding ``max(0, (k - s) // 2)``; for an odd
    ``k - s`` the one extra output sample is cut at the end, and a kernel narrower than the
    stride gets ``output_padding`` (k=30 with s=4 / s=10 needs neither).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int) -> None:
        super().__init__()
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel and stride must be positive, got {kernel}, {stride}")
        self.stride = stride
        self.deconv = nn.ConvTranspose1d(
            in_channels,
            out_channels,
            kernel,
            stride=stride,
            padding=max(0, (kernel - stride) // 2),
            output_padding=max(0, stride - kernel),
        )
        self.act = nn.PReLU(out_channels, init=0.0)

    def forward(self, x: Tensor) -> Tensor:
        h = self.deconv(x)[..., : self.stride * x.shape[-1]]
        return self.act(h)


class WaveDecoder(nn.Module):
    """Waveform decoder: deconv blocks -> MLP blocks -> 1x1 Conv1d.

    ``(B, C_in, T)`` -> ``(B, out_channels, prod(strides) * T)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 1,
        *,
        fmaps: Sequence[int] = (512, 256, 128),
        strides: Sequence[int] = (4, 4, 10),
        kwidths: Sequence[int] = (30, 30, 30),
        hidden_size: int = 64,
        hidden_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not (len(fmaps) == len(strides) == len(kwidths)) or not fmaps:
            raise ValueError(
                f"fmaps, strides and kwidths must have the same non-zero length, got "
                f"{list(fmaps)}, {list(strides)}, {list(kwidths)}"
            )
        ch = in_channels
        ups = []
        for fm, s, k in zip(fmaps, strides, kwidths):
            ups.append(DeconvBlock(ch, int(fm), int(k), int(s)))
            ch = int(fm)
        self.upsample = nn.Sequential(*ups)
        self.factor = math.prod(int(s) for s in strides)
        self.mlp = MLP(
            ch, out_channels, hidden_size=hidden_size, hidden_layers=hidden_layers, dropout=dropout
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.upsample(x))


def drop_frames(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero whole frames of ``x`` ``(B, C, T)`` independently with probability ``p``."""
    if p <= 0:
        return x
    shape = (x.shape[0], 1, x.shape[2])
    dev = x.device if generator is None else generator.device
    keep = torch.rand(shape, generator=generator, device=dev).to(x.device) >= p
    return x * keep.to(x.dtype)


def shuffle_frames(x: Tensor, depth: int, generator: torch.Generator | None = None) -> Tensor:
    """Permute frames of ``x`` ``(B, C, T)`` inside consecutive blocks of ``depth`` frames.

    One permutation per block, shared by the batch (as the original ``shuffle`` option).
    """
    T = x.shape[2]
    idx = []
    for b in range(0, T, depth):
        n = min(depth, T - b)
        idx.append(b + torch.randperm(n, generator=generator))
    return x[:, :, torch.cat(idx).to(x.device)]


def align_time(
    pred: Tensor, label: Tensor, *, worker: str, tolerance: int
) -> tuple[Tensor, Tensor]:
    """Crop prediction and target to their common length on the last axis.

    The encoder gives ``floor(ceil(L/10)/16)`` frames and frame targets ``L // 160``: for chunk
    sizes that are not a multiple of 160 they differ by one frame (160 samples for the
    waveform). Larger mismatches are errors.
    """
    tp, tl = pred.shape[-1], label.shape[-1]
    if abs(tp - tl) > tolerance:
        raise ValueError(
            f"worker {worker!r}: prediction has {tp} steps but its target has {tl} "
            f"(shapes {tuple(pred.shape)} vs {tuple(label.shape)})"
        )
    n = min(tp, tl)
    return pred[..., :n], label[..., :n]


# --------------------------------------------------------------------------------------------
# workers


class Worker(nn.Module, abc.ABC):
    """Base class: a named head with its criterion and loss weight.

    ``forward(emb, targets)`` returns ``(prediction, label)``; ``loss(prediction, label)`` is the
    unweighted scalar loss.
    """

    kind = "worker"
    needs_context = False
    target_key: str | None = None

    def __init__(self, name: str, loss: str, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.name = name
        self.loss_name = loss
        self.loss_weight = float(loss_weight)
        self.criterion = build_criterion(loss, worker=name)

    def _target(self, targets: Mapping[str, Tensor]) -> Tensor:
        key = self.target_key or self.name
        if key not in targets:
            raise KeyError(
                f"worker {self.name!r}: no target {key!r} in the targets dict "
                f"(have: {sorted(targets)})"
            )
        return targets[key]

    def loss(self, pred: Tensor, label: Tensor) -> Tensor:
        """Unweighted mean loss of ``pred`` against ``label``."""
        return self.criterion(pred, label.to(pred.dtype))

    @abc.abstractmethod
    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(prediction, label)`` for the embeddings of a batch and its targets."""

    def extra_repr(self) -> str:
        return f"name={self.name!r}, loss={self.loss_name}, loss_weight={self.loss_weight}"


class RegressionWorker(Worker):
    """MLP regressor of target ``name`` ``(B, C, T)``: prediction ``(B, C * r, T)``.

    With ``r > 1`` each frame predicts the target at frames ``t - r//2 .. t + r//2``
    (zero-padded at the chunk edges), channel-major (index ``c * r + k``).
    """

    kind = "mlp"

    def __init__(
        self,
        name: str,
        in_channels: int,
        num_outputs: int,
        *,
        loss: str = "MSELoss",
        loss_weight: float = 1.0,
        r: int = 1,
        hidden_size: int = 256,
        hidden_layers: int = 1,
        context: int = 1,
        dropout: float = 0.0,
        dropout_time: float = 0.0,
    ) -> None:
        super().__init__(name, loss, loss_weight)
        if r < 1:
            raise WorkerConfigError(f"worker {name!r}: r must be >= 1, got {r}")
        self.num_outputs = num_outputs
        self.r = r
        self.dropout_time = dropout_time
        self.mlp = MLP(
            in_channels,
            num_outputs * r,
            hidden_size=hidden_size,
            hidden_layers=hidden_layers,
            context=context,
            dropout=dropout,
        )

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        x = emb.chunk
        if self.training:
            x = drop_frames(x, self.dropout_time, generator)
        pred = self.mlp(x)
        target = self._target(targets)
        if target.dim() != 3 or target.shape[1] != self.num_outputs:
            raise ValueError(
                f"worker {self.name!r}: expected a target (B, {self.num_outputs}, T), "
                f"got {tuple(target.shape)}"
            )
        pred, target = align_time(pred, target, worker=self.name, tolerance=1)
        if self.r > 1:
            target = contextualize(target, self.r)
        return pred, target


class DecoderWorker(Worker):
    """Waveform decoder: embeddings ``(B, D, T)`` -> waveform ``(B, 1, 160 T)`` vs ``(B, 1, L)``."""

    kind = "decoder"

    def __init__(
        self,
        name: str,
        in_channels: int,
        num_outputs: int = 1,
        *,
        loss: str = "L1Loss",
        loss_weight: float = 1.0,
        fmaps: Sequence[int] = (512, 256, 128),
        strides: Sequence[int] = (4, 4, 10),
        kwidths: Sequence[int] = (30, 30, 30),
        hidden_size: int = 64,
        hidden_layers: int = 1,
        dropout: float = 0.0,
        dropout_time: float = 0.0,
        shuffle: bool = False,
        shuffle_depth: int = 7,
    ) -> None:
        super().__init__(name, loss, loss_weight)
        self.decoder = WaveDecoder(
            in_channels,
            num_outputs,
            fmaps=fmaps,
            strides=strides,
            kwidths=kwidths,
            hidden_size=hidden_size,
            hidden_layers=hidden_layers,
            dropout=dropout,
        )
        self.dropout_time = dropout_time
        self.shuffle = bool(shuffle)
        self.shuffle_depth = int(shuffle_depth)
        if self.shuffle and self.shuffle_depth < 1:
            raise WorkerConfigError(f"worker {name!r}: shuffle_depth must be >= 1")

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        x = emb.chunk
        if self.training:
            x = drop_frames(x, self.dropout_time, generator)
            if self.shuffle:
                x = shuffle_frames(x, self.shuffle_depth, generator)
        pred = self.decoder(x)
        target = self._target(targets)
        if target.dim() == 2:
            target = target.unsqueeze(1)
        return align_time(pred, target, worker=self.name, tolerance=self.decoder.factor)


def _binary_labels(n_pos: int, n_neg: int, like: Tensor) -> Tensor:
    """Labels shaped like ``like`` ``(n_pos + n_neg, C, T)``: ones then zeros."""
    lab = torch.zeros_like(like)
    lab[:n_pos] = 1.0
    return lab


class InfoMaxWorker(Worker):
    """LIM (``pooled=False``) / GIM (``pooled=True``) discriminator.

    Positives: channel-concatenation (chunk, ctxt); negatives: (chunk, rand); with ``augment``
    also (ctxt, chunk) positives and (ctxt, rand) negatives. Prediction ``(nB, 1, T)`` logits
    (``(nB, 1, 1)`` for GIM, time-averaged first), label 1 for positives, 0 for negatives.
    """

    needs_context = True

    def __init__(
        self,
        name: str,
        emb_dim: int,
        num_outputs: int = 1,
        *,
        pooled: bool,
        augment: bool = False,
        loss: str = "BCEWithLogitsLoss",
        loss_weight: float = 1.0,
        hidden_size: int = 256,
        hidden_layers: int = 1,
        context: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(name, loss, loss_weight)
        self.pooled = pooled
        self.augment = bool(augment)
        self.kind = "gim" if pooled else "lim"
        self.mlp = MLP(
            2 * emb_dim,
            num_outputs,
            hidden_size=hidden_size,
            hidden_layers=hidden_layers,
            context=context,
            dropout=dropout,
        )

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        c, ctx, rnd = emb.chunk, emb.ctxt, emb.rand
        if ctx is None or rnd is None:
            raise ValueError(f"worker {self.name!r} needs the context and random chunk embeddings")
        pos = [torch.cat((c, ctx), dim=1)]
        neg = [torch.cat((c, rnd), dim=1)]
        if self.augment:
            pos.append(torch.cat((ctx, c), dim=1))
            neg.append(torch.cat((ctx, rnd), dim=1))
        x = torch.cat(pos + neg, dim=0)
        if self.pooled:
            x = x.mean(dim=2, keepdim=True)
        pred = self.mlp(x)
        n_pos = len(pos) * c.shape[0]
        return pred, _binary_labels(n_pos, pred.shape[0] - n_pos, pred)


class SPCWorker(Worker):
    """Sequence predictive coding: [frame t; ``ctxt_frames`` future frames] vs past frames.

    One centre frame ``t`` (same for the batch) in ``[M+1, T-M)`` with
    ``M = seq_pad + ctxt_frames``; a future window starting in ``[t + seq_pad, T - N)`` and a
    past window ending in ``[N, t - seq_pad)``. Prediction ``(2B, 1, 1)`` logits, labels 1
    (future) / 0 (past). Needs ``T >= 2M + 2`` frames.
    """

    kind = "spc"

    def __init__(
        self,
        name: str,
        emb_dim: int,
        num_outputs: int = 1,
        *,
        loss: str = "BCEWithLogitsLoss",
        loss_weight: float = 1.0,
        ctxt_frames: int = 5,
        seq_pad: int = 16,
        hidden_size: int = 256,
        hidden_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(name, loss, loss_weight)
        self.ctxt_frames = int(ctxt_frames)
        self.seq_pad = int(seq_pad)
        self.mlp = MLP(
            (self.ctxt_frames + 1) * emb_dim,
            num_outputs,
            hidden_size=hidden_size,
            hidden_layers=hidden_layers,
            dropout=dropout,
        )

    @property
    def min_frames(self) -> int:
        """Smallest number of frames this worker accepts."""
        return 2 * (self.seq_pad + self.ctxt_frames) + 2

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        x = emb.chunk
        B, _, T = x.shape
        if T < self.min_frames:
            raise ValueError(
                f"worker {self.name!r}: needs at least {self.min_frames} frames per chunk "
                f"({self.min_frames * HOP} samples), got {T}"
            )
        N, pad = self.ctxt_frames, self.seq_pad
        M = N + pad

        def draw(lo: int, hi: int) -> int:
            return int(torch.randint(lo, hi, (1,), generator=generator).item())

        t = draw(M + 1, T - M)
        fut = draw(t + pad, T - N)
        past_end = draw(N, t - pad)
        cur = x[:, :, t]
        future = x[:, :, fut : fut + N].reshape(B, -1)
        past = x[:, :, past_end - N : past_end].reshape(B, -1)
        inp = torch.cat((torch.cat((cur, future), 1), torch.cat((cur, past), 1)), 0).unsqueeze(2)
        pred = self.mlp(inp)
        return pred, _binary_labels(B, B, pred)


class GapWorker(Worker):
    """Predicts ``|a - b| / (T - 1)`` from the concatenated embeddings of two random frames.

    Prediction ``(B, num_outputs, 1)``, label ``(B, 1, 1)`` in [0, 1].
    """

    kind = "gap"

    def __init__(
        self,
        name: str,
        emb_dim: int,
        num_outputs: int = 1,
        *,
        loss: str = "MSELoss",
        loss_weight: float = 1.0,
        hidden_size: int = 256,
        hidden_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(name, loss, loss_weight)
        self.mlp = MLP(
            2 * emb_dim,
            num_outputs,
            hidden_size=hidden_size,
            hidden_layers=hidden_layers,
            dropout=dropout,
        )

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        x = emb.chunk
        B, _, T = x.shape
        if T < 2:
            raise ValueError(f"worker {self.name!r}: needs at least 2 frames, got {T}")
        a = torch.randint(0, T, (B,), generator=generator).to(x.device)
        b = torch.randint(0, T, (B,), generator=generator).to(x.device)
        rows = torch.arange(B, device=x.device)
        inp = torch.cat((x[rows, :, a], x[rows, :, b]), dim=1).unsqueeze(2)
        pred = self.mlp(inp)
        label = ((a - b).abs().to(pred.dtype) / (T - 1)).view(B, 1, 1)
        return pred, label


# --------------------------------------------------------------------------------------------
# building from the original cfg

_COMMON_KEYS = {
    "name",
    "type",
    "loss",
    "loss_weight",
    "keys",
    "transform",
    "num_inputs",
    "num_outputs",
    "dropout",
    "hidden_size",
    "hidden_layers",
    "skip",
    "norm_type",
    "dropin",
    "tie_context_weights",
}
_EXTRA_KEYS = {
    "mlp": {"r", "context", "dropout_time"},
    "decoder": {"fmaps", "strides", "kwidths", "dropout_time", "shuffle", "shuffle_depth"},
    "lim": {"augment", "context"},
    "gim": {"augment", "context"},
    "spc": {"ctxt_frames", "seq_pad"},
    "gap": set(),
}
# Options of the original that are accepted only at their neutral (default-off) value.
_NEUTRAL_ONLY = {"skip": False, "norm_type": None, "dropin": 0, "tie_context_weights": False}
_CLS_BY_NAME = {"mi": "lim", "cmi": "gim", "spc": "spc", "gap": "gap"}
_UNSUPPORTED_TYPES = {"gru", "wavernn", "regularizer"}


def _worker_kind(spec: Mapping[str, Any], group: str) -> str:
    name = spec["name"]
    kind = spec.get("type")
    if kind is None:
        kind = _CLS_BY_NAME.get(name, "mlp") if group == "cls" else "mlp"
    kind = str(kind).lower()
    if kind in _UNSUPPORTED_TYPES:
        raise WorkerConfigError(f"worker {name!r}: worker type {kind!r} is not supported")
    if kind not in _EXTRA_KEYS:
        raise WorkerConfigError(
            f"worker {name!r}: unknown worker type {kind!r} (known: {sorted(_EXTRA_KEYS)})"
        )
    return kind


def build_worker(spec: Mapping[str, Any], emb_dim: int, group: str = "regr") -> Worker:
    """Build one worker from its cfg entry for an encoder of ``emb_dim`` channels.

    ``group`` is the cfg list it came from (``"regr"`` or ``"cls"``): in ``cls`` the names
    ``mi``/``cmi``/``spc``/``gap`` select LIM/GIM/SPC/Gap, as in the original (an explicit
    ``type`` of ``lim``/``gim``/``spc``/``gap`` works in either list). Keys missing from the
    entry take the original's defaults (``hidden_layers`` 2, ``hidden_size`` 256, dropout 0).
    """
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise WorkerConfigError(f"workers cfg {group!r}: every worker needs a 'name', got {spec!r}")
    name = str(spec["name"])
    if not name or "." in name:
        raise WorkerConfigError(f"worker {name!r}: invalid name (non-empty, no '.')")
    kind = _worker_kind(spec, group)
    unknown = set(spec) - _COMMON_KEYS - _EXTRA_KEYS[kind]
    if unknown:
        raise WorkerConfigError(
            f"worker {name!r} ({kind}): unknown key(s) {sorted(unknown)}; "
            f"known: {sorted(_COMMON_KEYS | _EXTRA_KEYS[kind])}"
        )
    for key, neutral in _NEUTRAL_ONLY.items():
        if key in spec and spec[key] != neutral:
            raise WorkerConfigError(
                f"worker {name!r}: {key}={spec[key]!r} is not supported (only {neutral!r})"
            )

    def get(key: str, default: Any, typ: type = int) -> Any:
        v = spec.get(key, default)
        try:
            return typ(v)
        except (TypeError, ValueError) as e:
            raise WorkerConfigError(f"worker {name!r}: bad value for {key!r}: {v!r}") from e

    common: dict[str, Any] = {
        "loss_weight": get("loss_weight", 1.0, float),
        "hidden_size": get("hidden_size", 256),
        "dropout": get("dropout", 0.0, float),
    }
    if "loss" in spec:
        common["loss"] = str(spec["loss"])
    try:
        if kind == "mlp":
            if "num_outputs" not in spec:
                raise WorkerConfigError(f"worker {name!r}: 'num_outputs' is required")
            return RegressionWorker(
                name,
                emb_dim,
                get("num_outputs", 1),
                r=get("r", 1),
                hidden_layers=get("hidden_layers", 2),
                context=get("context", 1),
                dropout_time=get("dropout_time", 0.0, float),
                **common,
            )
        if kind == "decoder":
            return DecoderWorker(
                name,
                emb_dim,
                get("num_outputs", 1),
                fmaps=[int(v) for v in spec.get("fmaps", (512, 256, 128))],
                strides=[int(v) for v in spec.get("strides", (4, 4, 10))],
                kwidths=[int(v) for v in spec.get("kwidths", (30, 30, 30))],
                hidden_layers=get("hidden_layers", 2),
                dropout_time=get("dropout_time", 0.0, float),
                shuffle=bool(spec.get("shuffle", False)),
                shuffle_depth=get("shuffle_depth", 7),
                **common,
            )
        if kind in ("lim", "gim"):
            return InfoMaxWorker(
                name,
                emb_dim,
                get("num_outputs", 1),
                pooled=kind == "gim",
                augment=bool(spec.get("augment", False)),
                hidden_layers=get("hidden_layers", 2),
                context=get("context", 1),
                **common,
            )
        if kind == "spc":
            return SPCWorker(
                name,
                emb_dim,
                get("num_outputs", 1),
                ctxt_frames=get("ctxt_frames", 5),
                seq_pad=get("seq_pad", 16),
                hidden_layers=get("hidden_layers", 2),
                **common,
            )
        return GapWorker(
            name, emb_dim, get("num_outputs", 1), hidden_layers=get("hidden_layers", 2), **common
        )
    except WorkerConfigError:
        raise
    except (ValueError, TypeError) as e:
        raise WorkerConfigError(f"worker {name!r} ({kind}): {e}") from e


class WorkerSet(nn.Module):
    """All workers of a cfg, keyed by name (cfg order: ``regr`` then ``cls``)."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        super().__init__()
        self.workers = nn.ModuleDict()
        for w in workers:
            if w.name in self.workers:
                raise WorkerConfigError(f"worker {w.name!r} appears twice")
            self.workers[w.name] = w

    @classmethod
    def from_config(cls, cfg: str | os.PathLike | Mapping[str, Any], emb_dim: int) -> WorkerSet:
        """Build from ``"workers"`` / ``"workers+"`` / a JSON path / a dict."""
        data = resolve_workers_cfg(cfg)
        unknown = set(data) - {"regr", "cls", "regu"}
        if unknown:
            raise WorkerConfigError(
                f"workers cfg: unknown top-level key(s) {sorted(unknown)} "
                "(expected 'regr' and 'cls')"
            )
        if data.get("regu"):
            names = [s.get("name") for s in data["regu"]]
            raise WorkerConfigError(
                f"workers cfg: regulariser workers ('regu' list: {names}) are not supported"
            )
        workers = []
        for group in ("regr", "cls"):
            specs = data.get(group, [])
            if not isinstance(specs, list):
                raise WorkerConfigError(f"workers cfg: {group!r} must be a list")
            workers += [build_worker(s, emb_dim, group) for s in specs]
        if not workers:
            raise WorkerConfigError("workers cfg: no workers")
        return cls(workers)

    @property
    def names(self) -> list[str]:
        """Worker names in cfg order."""
        return list(self.workers.keys())

    @property
    def needs_context(self) -> bool:
        """True when some worker needs the context and random chunk embeddings."""
        return any(w.needs_context for w in self.workers.values())

    @property
    def loss_weights(self) -> dict[str, float]:
        """Worker name -> loss weight."""
        return {n: w.loss_weight for n, w in self.workers.items()}

    def __getitem__(self, name: str) -> Worker:
        return self.workers[name]

    def __iter__(self):
        return iter(self.workers.values())

    def __len__(self) -> int:
        return len(self.workers)

    def forward(
        self,
        emb: Embeddings,
        targets: Mapping[str, Tensor],
        *,
        names: Sequence[str] | None = None,
        generator: torch.Generator | None = None,
        return_outputs: bool = False,
    ) -> dict[str, Tensor] | tuple[dict[str, Tensor], dict[str, tuple[Tensor, Tensor]]]:
        """Unweighted per-worker losses (scalars), for all workers or only ``names``.

        Args:
            emb: embeddings ``(B, D, T)`` of chunk, context chunk and random chunk.
            targets: target name -> ``(B, C, T)`` frames (normalised) or ``(B, 1, L)`` samples.
            names: subset of workers to run (e.g. ``select_half`` back-propagation).
            generator: RNG for the random choices of SPC / Gap / frame dropout.
            return_outputs: also return name -> (prediction, label).
        """
        losses: dict[str, Tensor] = {}
        outputs: dict[str, tuple[Tensor, Tensor]] = {}
        for name in self.names if names is None else names:
            w = self.workers[name]
            pred, label = w(emb, targets, generator)
            losses[name] = w.loss(pred, label)
            if return_outputs:
                outputs[name] = (pred, label)
        return (losses, outputs) if return_outputs else losses

    def weighted_sum(self, losses: Mapping[str, Tensor]) -> Tensor:
        """``sum_w loss_weight_w * loss_w`` over the given losses."""
        if not losses:
            raise ValueError("no worker losses to sum")
        return sum(self.workers[n].loss_weight * v for n, v in losses.items())  # type: ignore[return-value]
