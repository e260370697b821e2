"""The PASE / PASE+ waveform encoder (``WaveFe``) and its builder ``wf_builder``.

Drop-in compatible with the original ``pase.models.frontend``: same config files (JSON
``.cfg``), same module names (``blocks``, ``denseskips``, ``rnn``, ``W``, ``norm_out``) and
state_dict, same outputs for the same weights; plus variable-length batches, hidden layers,
input checks and chunked extraction of arbitrarily long audio with constant memory.

Shapes: input ``(B, 1, L)`` waveform samples at 16 kHz; output ``(B, emb_dim, T)`` with
``T = num_frames(L) = floor(ceil(L / 10) / 16)`` frames (hop 160 samples, 100 frames/s).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pase.configs import PACKAGE_CONF, not_found_hint, resolve_config
from pase.constants import SAMPLE_RATE
from pase.io.atomic import torch_save_atomic
from pase.models.checkpoint import (
    CheckpointError,
    extract_state_dict,
    match_state_dict,
    read_checkpoint,
    strip_prefixes,
)
from pase.models.fast import FastConvStack, pool_frames, supports
from pase.models.fast_train import encode_first_blocks
from pase.models.modules import FeBlock, batch_norm_groups
from pase.models.qrnn import QRNN

__all__ = ["BUILTIN_CONFIGS", "WaveFe", "load_config", "resolve_frontend_cfg", "wf_builder"]

CONF_DIR = PACKAGE_CONF / "frontend"
BUILTIN_CONFIGS = {"PASE": CONF_DIR / "PASE.cfg", "PASE+": CONF_DIR / "PASE+.cfg"}

#: Every ``WaveFe`` constructor key of the original, with its default.
DEFAULTS: dict[str, Any] = {
    "num_inputs": 1,
    "sincnet": True,
    "kwidths": [251, 10, 5, 5, 5, 5, 5, 5],
    "strides": [1, 10, 2, 1, 2, 1, 2, 2],
    "dilations": [1, 1, 1, 1, 1, 1, 1, 1],
    "fmaps": [64, 64, 128, 128, 256, 256, 512, 512],
    "norm_type": "bnorm",
    "pad_mode": "reflect",
    "sr": SAMPLE_RATE,
    "emb_dim": 256,
    "rnn_dim": None,
    "activation": None,
    "rnn_pool": False,
    "rnn_layers": 1,
    "rnn_dropout": 0,
    "rnn_type": "qrnn",
    "vq_K": None,
    "vq_beta": 0.25,
    "vq_gamma": 0.99,
    "norm_out": False,
    "tanh_out": False,
    "resblocks": False,
    "denseskips": False,
    "densemerge": "sum",
    "name": "WaveFe",
    # ours: how dense skips are averaged to the frame rate (see WaveFe docstring)
    "skip_pool": "aligned",
}

MODES = (None, "avg_norm", "avg_concat", "avg_norm_concat")


def resolve_frontend_cfg(cfg: str | os.PathLike) -> tuple[Path, str | None]:
    """``(file, built-in name or None)`` of a frontend config: "PASE" / "PASE+" in any case,
    a ``.cfg`` file, or the original repository's ``cfg/frontend/PASE+.cfg`` (the packaged
    copy when that path does not exist here; :mod:`pase.configs`).

    Raises:
        ValueError: none of these.
    """
    found = resolve_config(cfg, BUILTIN_CONFIGS)
    if found is None:
        raise ValueError(
            f"frontend config {os.fspath(cfg)!r}: not a file and not a built-in name; "
            + not_found_hint(BUILTIN_CONFIGS)
        )
    return found


def load_config(cfg: str | os.PathLike | dict[str, Any]) -> dict[str, Any]:
    """Resolve ``cfg`` (built-in name "PASE"/"PASE+" in any case, path to a JSON ``.cfg``,
    see :func:`resolve_frontend_cfg`, or dict) into a complete, validated constructor config
    (defaults filled in).

    Raises:
        ValueError: unknown keys, unsupported values, or an unreadable file.
    """
    if isinstance(cfg, dict):
        user = dict(cfg)
        where = "frontend config"
    else:
        path = resolve_frontend_cfg(cfg)[0]
        try:
            user = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(user, dict):
            raise ValueError(f"{path}: expected a JSON object of WaveFe arguments")
        where = str(path)
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; accepted keys: {sorted(DEFAULTS)}")
    full = {**DEFAULTS, **user}
    _validate(full, where)
    return full


def _validate(c: dict[str, Any], where: str) -> None:
    def fail(msg: str) -> None:
        raise ValueError(f"{where}: {msg}")

    if c["name"] != "WaveFe":
        fail(f"name {c['name']!r}: only the 'WaveFe' encoder (PASE/PASE+) is implemented")
    n = len(c["fmaps"])
    for key in ("kwidths", "strides", "dilations"):
        if not isinstance(c[key], list) or len(c[key]) != n:
            fail(f"{key} must be a list of {n} integers like fmaps, got {c[key]!r}")
    for key in ("kwidths", "strides", "dilations", "fmaps"):
        if not all(isinstance(v, int) and v > 0 for v in c[key]):
            fail(f"{key} must hold positive integers, got {c[key]!r}")
    if c["rnn_type"] not in ("qrnn", "lstm", "gru"):
        fail(f"rnn_type {c['rnn_type']!r} not supported (qrnn, lstm, gru)")
    if c["norm_type"] not in ("bnorm", "inorm", None):
        fail(f"norm_type {c['norm_type']!r} not supported (bnorm, inorm, null)")
    if c["activation"] not in (None, "prelu", "relu"):
        fail(f"activation {c['activation']!r} not supported (null = PReLU, 'prelu', 'relu')")
    if c["pad_mode"] not in ("reflect", "replicate", "constant", "circular"):
        fail(f"pad_mode {c['pad_mode']!r} not supported")
    if c["vq_K"] is not None:
        fail("vq_K: the VQ-EMA quantiser is not supported by this implementation")
    if c["resblocks"]:
        fail("resblocks: residual conv blocks are not supported by this implementation")
    if c["densemerge"] != "sum":
        fail(f"densemerge {c['densemerge']!r}: only 'sum' is supported")
    if c["skip_pool"] not in ("aligned", "original"):
        fail(f"skip_pool {c['skip_pool']!r}: use 'aligned' or 'original'")
    if c["sincnet"] and c["num_inputs"] != 1:
        fail("sincnet needs num_inputs = 1")
    for key in ("emb_dim", "rnn_layers", "sr", "num_inputs"):
        if not isinstance(c[key], int) or c[key] <= 0:
            fail(f"{key} must be a positive integer, got {c[key]!r}")
    if c["rnn_dim"] is not None and (not isinstance(c["rnn_dim"], int) or c["rnn_dim"] < 2):
        fail(f"rnn_dim must be an integer >= 2 or null, got {c['rnn_dim']!r}")
    if not 0 <= float(c["rnn_dropout"]) < 1:
        fail(f"rnn_dropout must be in [0, 1), got {c['rnn_dropout']!r}")


class WaveFe(nn.Module):
    """PASE / PASE+ encoder. Build it with :func:`wf_builder`.

    Architecture: ``blocks`` (SincConv + conv blocks, each BatchNorm + PReLU), optional
    ``denseskips`` (bias-free 1x1 projections of blocks 0..n-2, averaged to the frame rate and
    summed into the output), optional ``rnn`` (causal QRNN, or bidirectional LSTM/GRU) on the
    last block, ``W`` (1x1 projection to ``emb_dim``), optional ``norm_out``
    (BatchNorm1d without affine parameters) and ``tanh_out``.

    Dense-skip pooling (``skip_pool``): ``"aligned"`` (default) averages, for output frame t,
    exactly the skip positions inside frame t's hop, so every frame sees its own audio for any
    input length and long audio can be processed in chunks. ``"original"`` reproduces the
    original's windows of ``floor(T_skip / T)`` positions, which differ from the hop (159 or
    161+ samples for block 0) for inputs shorter than ~1.6 s or with ``L mod 160`` in
    151..159, and then drift along the signal. Both give identical outputs whenever the two
    factors agree (e.g. every training chunk of a multiple of 160 samples).
    """

    def __init__(self, **cfg: Any) -> None:
        super().__init__()
        c = {**DEFAULTS, **cfg}
        _validate(c, "WaveFe")
        self.config = c
        fmaps, kwidths, strides, dilations = c["fmaps"], c["kwidths"], c["strides"], c["dilations"]
        self.emb_dim = c["emb_dim"]
        self.sr = c["sr"]
        self.skip_pool = c["skip_pool"]
        self.tanh_out = bool(c["tanh_out"])
        act = "prelu" if c["activation"] is None else c["activation"]

        if c["denseskips"]:
            # Registered first: the original's state_dict lists denseskips before blocks.
            self.denseskips: nn.ModuleList | None = nn.ModuleList(
                nn.Conv1d(f, self.emb_dim, 1, bias=False) for f in fmaps[:-1]
            )
        else:
            self.denseskips = None
        blocks = []
        ninp = c["num_inputs"]
        for i, (f, k, s, d) in enumerate(zip(fmaps, kwidths, strides, dilations)):
            blocks.append(
                FeBlock(
                    ninp,
                    f,
                    k,
                    s,
                    d,
                    pad_mode=c["pad_mode"],
                    norm_type=c["norm_type"],
                    act=act,
                    sincnet=c["sincnet"] and i == 0,
                    sr=c["sr"],
                )
            )
            ninp = f
        self.blocks = nn.ModuleList(blocks)

        self.rnn: nn.Module | None = None
        self.rnn_type = c["rnn_type"]
        out_ch = fmaps[-1]
        if c["rnn_pool"]:
            rnn_dim = c["rnn_dim"] if c["rnn_dim"] is not None else self.emb_dim
            half = rnn_dim // 2
            if self.rnn_type == "qrnn":
                # The original asks for a bidirectional layer of rnn_dim/2 units; its QRNN
                # ignores the flag and doubles the size back: causal, rnn_dim units.
                self.rnn = QRNN(fmaps[-1], 2 * half, c["rnn_layers"], float(c["rnn_dropout"]))
            else:
                cls = nn.LSTM if self.rnn_type == "lstm" else nn.GRU
                self.rnn = cls(
                    fmaps[-1],
                    half,
                    num_layers=c["rnn_layers"],
                    bidirectional=True,
                    dropout=float(c["rnn_dropout"]),
                )
            out_ch = 2 * half
        self.W = nn.Conv1d(out_ch, self.emb_dim, 1)
        self.norm_out: nn.Module | None = (
            nn.BatchNorm1d(self.emb_dim, affine=False) if c["norm_out"] else None
        )
        # frames per position of each block's output (1x1 skip pooling factors)
        total = math.prod(strides)
        self._skip_factors = [total // math.prod(strides[: i + 1]) for i in range(len(strides))]
        self.min_input_samples = self._min_samples()
        #: use the fast conv stack (pase.models.fast) in eval mode when no gradient is needed
        self.fast_inference = True
        self._fast = FastConvStack() if supports(self.blocks) else None
        #: use the time-major first blocks (pase.models.fast_train, same geometry) in training
        self.fast_training = True

    # ------------------------------------------------------------------ fine-tuning
    def freeze_bn(self, frozen: bool = True) -> WaveFe:
        """Keep every BatchNorm in eval mode (running statistics, never updated) even after
        ``train()``: for fine-tuning on padded batches with each example encoded exactly as
        if alone (``forward(x, lengths=...)``); the other layers still train."""
        self._bn_frozen = frozen
        return self.train(self.training)

    def train(self, mode: bool = True) -> WaveFe:
        """``nn.Module.train``, keeping BatchNorm in eval mode after :meth:`freeze_bn`."""
        super().train(mode)
        if getattr(self, "_bn_frozen", False):
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    # ------------------------------------------------------------------ geometry
    @property
    def hop(self) -> int:
        """Samples per output frame (160 for PASE/PASE+)."""
        return math.prod(self.config["strides"])

    def num_frames(self, num_samples: int) -> int:
        """Output frames for an input of ``num_samples`` samples."""
        n = num_samples
        for blk in self.blocks:
            n = blk.output_length(n)
        return n

    def _min_samples(self) -> int:
        """Smallest input length every layer accepts (reflect padding needs pad < length)."""

        def ok(n: int) -> bool:
            for blk in self.blocks:
                if self.config["pad_mode"] == "reflect" and max(blk.padding) >= n:
                    return False
                n = blk.output_length(n)
                if n < 1:
                    return False
            return True

        n = 1
        while not ok(n):
            n += 1
        return n

    @property
    def receptive_field(self) -> int:
        """Receptive field of the conv stack in samples (the QRNN adds unbounded left
        context)."""
        rf, jump = 1, 1
        for blk in self.blocks:
            rf += (blk.span - 1) * jump
            jump *= blk.stride
        return rf

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x: torch.Tensor | dict[str, torch.Tensor],
        device: str | torch.device | None = None,
        mode: str | None = None,
        lengths: torch.Tensor | list[int] | None = None,
        return_hidden: bool = False,
    ) -> Any:
        """Encode waveforms.

        Args:
            x: ``(B, 1, L)`` float waveform (16 kHz), or the original's training dict
                (``chunk``, ``chunk_ctxt``, ``chunk_rand`` [, ``cchunk``]).
            device: move the input there first (original API).
            mode: None, "avg_norm" (subtract the per-utterance time mean), "avg_concat"
                (append the mean, 2*emb_dim channels), "avg_norm_concat" (both).
            lengths: valid samples per example ``(B,)`` for a zero-padded batch: padding never
                reaches a real frame (padded output frames are zero). In eval mode (or with
                :meth:`freeze_bn`) each example is encoded exactly as if alone; in training
                BatchNorm uses the statistics of all real positions of the batch.
            return_hidden: also return the hidden layers (s3prl order): the 7 dense skips
                pooled to frame rate, the ``W`` output, the final output, each
                ``(B, emb_dim, T)`` (only ``W`` and final for encoders without dense skips).

        Returns:
            ``y`` ``(B, C, T)``; ``(y, frame_lengths)`` with ``lengths``; ``(y, hidden)``
            with ``return_hidden``; ``(y, frame_lengths, hidden)`` with both. A dict input
            returns ``(embeddings_tuple, embedding_of_chunk)`` as the original.
        """
        if isinstance(x, dict):
            return self._forward_dict(x, device)
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} unknown; use one of {MODES}")
        x = self.check_input(x, device)
        if lengths is not None:
            return self._forward_lengths(x, lengths, mode, return_hidden)
        h, pooled = self.encode_blocks(x)
        y, hidden, _ = self.encode_head(h, pooled, return_hidden=return_hidden)
        y = apply_mode(y, mode)
        if return_hidden:
            return y, hidden
        return y

    def check_input(
        self, x: torch.Tensor, device: str | torch.device | None = None
    ) -> torch.Tensor:
        """Validate a ``(B, C_in, L)`` waveform batch; raises ``ValueError`` with the reason."""
        if not torch.is_tensor(x):
            raise ValueError(f"expected a torch.Tensor (B, 1, L), got {type(x).__name__}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point waveform, got dtype {x.dtype}")
        nin = self.config["num_inputs"]
        if x.dim() != 3 or x.shape[1] != nin:
            hint = " (use x.view(B, 1, L))" if x.dim() in (1, 2) else ""
            raise ValueError(f"expected shape (B, {nin}, L), got {tuple(x.shape)}{hint}")
        if x.shape[0] == 0:
            raise ValueError("empty batch")
        if x.shape[-1] < self.min_input_samples:
            raise ValueError(
                f"input of {x.shape[-1]} samples is too short: the encoder needs at least "
                f"{self.min_input_samples} samples ({self.min_input_samples / self.sr * 1000:.0f} "
                f"ms at {self.sr} Hz)"
            )
        if not torch.isfinite(x).all():
            raise ValueError("input contains NaN or Inf samples")
        if device is not None:
            x = x.to(device)
        return x

    def encode_blocks(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Conv stack: ``(B, 1, L)`` -> last block ``(B, C, T)`` and the dense-skip inputs
        (blocks 0..n-2) averaged to the frame rate, each ``(B, C_i, T)`` (not yet projected:
        the bias-free 1x1 projection commutes with averaging, so it is applied after)."""
        t_out = self.num_frames(x.shape[-1])
        if self._use_fast(x):
            factor = None
            if self.denseskips is not None:
                factor = lambda n, length: self._skip_factor(n, length, t_out)  # noqa: E731
            return self._fast(self.blocks, x, t_out, factor)
        h = x
        pooled: list[torch.Tensor] = []
        start = 0
        if self._use_fast_training(x):
            factor = None
            if self.denseskips is not None:
                factor = lambda n, length: self._skip_factor(n, length, t_out)  # noqa: E731
            h, pooled = encode_first_blocks(self.blocks, x, t_out, factor)
            start = 2
        for n, block in enumerate(self.blocks[start:], start):
            h = block(h)
            if self.denseskips is not None and n < len(self.blocks) - 1:
                pooled.append(pool_frames(h, self._skip_factor(n, h.shape[-1], t_out), t_out))
        return h, pooled

    def _use_fast(self, x: torch.Tensor) -> bool:
        """Eval mode, no gradient needed, supported geometry, float32/float64 (FFT has no
        bfloat16 on CPU; half-precision models take the plain path), not disabled."""
        if self.training or self._fast is None or not self.fast_inference:
            return False
        if x.dtype not in (torch.float32, torch.float64):
            return False
        if not torch.is_grad_enabled():
            return True
        return not x.requires_grad and not any(p.requires_grad for p in self.blocks.parameters())

    def _use_fast_training(self, x: torch.Tensor) -> bool:
        """Time-major first blocks with autograd (:mod:`pase.models.fast_train`): where the
        eval fast path does not apply, for a supported geometry, unless disabled, and when
        the waveform needs no gradient."""
        return self._fast is not None and self.fast_training and not x.requires_grad

    def _skip_factor(self, n: int, length: int, t_out: int) -> int:
        """Pooling window of block ``n``'s output (``length`` positions) for ``t_out`` frames."""
        return self._skip_factors[n] if self.skip_pool == "aligned" else length // t_out

    def encode_head(
        self,
        h: torch.Tensor,
        pooled: list[torch.Tensor],
        state: Any = None,
        return_hidden: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor], Any]:
        """RNN, projection, dense skips, output norm: ``(B, C, T)`` -> ``(B, emb_dim, T)``.

        ``state`` carries the QRNN memory between consecutive chunks; returns
        ``(y, hidden, new_state)``.
        """
        y, hidden, new_state = self._project(h, pooled, state, return_hidden)
        y = self._output([y])[0]
        if return_hidden:
            hidden.append(y)
        return y, hidden, new_state

    def _project(
        self, h: torch.Tensor, pooled: list[torch.Tensor], state: Any, return_hidden: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor], Any]:
        """RNN, ``W`` and dense skips (before the output norm); hidden: skips then ``W``."""
        new_state = None
        if self.rnn is not None:
            seq = h.permute(2, 0, 1)
            if self.rnn_type == "qrnn":
                seq, new_state = self.rnn(seq, state)
            else:
                if state is not None:
                    raise ValueError("chunked processing needs a causal rnn (qrnn)")
                seq, _ = self.rnn(seq)
            h = seq.permute(1, 2, 0)
        w = self.W(h)
        y = w
        hidden: list[torch.Tensor] = []
        if self.denseskips is not None:
            for proj, p in zip(self.denseskips, pooled):
                s = proj(p)
                y = y + s
                if return_hidden:
                    hidden.append(s)
        if return_hidden:
            hidden.append(w)
        return y, hidden, new_state

    def _output(self, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        """Output norm (statistics over all groups together in training) and tanh."""
        ys = batch_norm_groups(self.norm_out, ys)
        return [torch.tanh(y) for y in ys] if self.tanh_out else ys

    def _encode_groups(
        self, xs: list[torch.Tensor], return_hidden: bool
    ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """Encode groups ``(B_g, 1, L_g)`` of different lengths in one training step: each
        group through its own convolutions, every BatchNorm normalising with the statistics
        of all groups' positions together (no padding enters them; see
        :func:`pase.models.modules.batch_norm_groups`). Returns ``(y, hidden)`` per group."""
        t_outs = [self.num_frames(x.shape[-1]) for x in xs]
        hs = xs
        pooled: list[list[torch.Tensor]] = [[] for _ in xs]
        last = len(self.blocks) - 1
        for n, block in enumerate(self.blocks):
            ys = batch_norm_groups(block.norm, [block.forward_conv(h) for h in hs])
            hs = [block.forward_act(y) for y in ys]
            if self.denseskips is not None and n < last:
                for g, h in enumerate(hs):
                    f = self._skip_factor(n, h.shape[-1], t_outs[g])
                    pooled[g].append(pool_frames(h, f, t_outs[g]))
        projected = [self._project(h, p, None, return_hidden) for h, p in zip(hs, pooled)]
        outs = self._output([y for y, _, _ in projected])
        result = []
        for y, (_, hidden, _) in zip(outs, projected):
            result.append((y, [*hidden, y] if return_hidden else []))
        return result

    def _forward_lengths(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | list[int],
        mode: str | None,
        return_hidden: bool,
    ) -> Any:
        lengths = [int(v) for v in (lengths.tolist() if torch.is_tensor(lengths) else lengths)]
        if len(lengths) != x.shape[0]:
            raise ValueError(f"lengths has {len(lengths)} entries for a batch of {x.shape[0]}")
        for i, n in enumerate(lengths):
            if not self.min_input_samples <= n <= x.shape[-1]:
                raise ValueError(
                    f"lengths[{i}] = {n} is outside [{self.min_input_samples}, {x.shape[-1]}]"
                )
        frames = [self.num_frames(n) for n in lengths]
        t_max = max(frames)
        outs: list[torch.Tensor] = []
        hiddens: list[list[torch.Tensor]] = []
        # examples of equal length share one pass
        order: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            order.setdefault(n, []).append(i)
        results: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}
        if self.training:  # one step: BatchNorm statistics over the real positions of all
            groups = list(order.items())
            encoded = self._encode_groups([x[idx, :, :n] for n, idx in groups], return_hidden)
        else:
            encoded = []
            for n, idx in order.items():
                h, pooled = self.encode_blocks(x[idx, :, :n])
                y, hid, _ = self.encode_head(h, pooled, return_hidden=return_hidden)
                encoded.append((y, hid))
        for (_, idx), (y, hid) in zip(order.items(), encoded):
            y = apply_mode(y, mode)
            for j, i in enumerate(idx):
                results[i] = (y[j], [t[j] for t in hid])
        for i in range(len(lengths)):
            y, hid = results[i]
            outs.append(F.pad(y, (0, t_max - y.shape[-1])))
            hiddens.append([F.pad(t, (0, t_max - t.shape[-1])) for t in hid])
        y = torch.stack(outs)
        frame_lengths = torch.tensor(frames, dtype=torch.long, device=y.device)
        if return_hidden:
            hidden = [torch.stack([hs[k] for hs in hiddens]) for k in range(len(hiddens[0]))]
            return y, frame_lengths, hidden
        return y, frame_lengths

    def _forward_dict(self, batch: dict[str, torch.Tensor], device: Any) -> Any:
        keys = ["chunk", "chunk_ctxt", "chunk_rand"] if "chunk_rand" in batch else ["chunk"]
        if "chunk_rand" in batch and "cchunk" in batch:
            keys.append("cchunk")
        missing = [k for k in keys if k not in batch]
        if missing:
            raise ValueError(f"training batch lacks {missing}")
        xs = [self.check_input(batch[k], device) for k in keys]
        y = self(torch.cat(xs, 0))
        parts = torch.split(y, [t.shape[0] for t in xs], 0)
        if len(parts) == 1:
            return parts[0], parts[0]
        return parts, parts[0]

    # ------------------------------------------------------------------ long audio
    @torch.no_grad()
    def extract_chunked(
        self,
        x: torch.Tensor,
        chunk_frames: int = 2000,
        context_frames: int | None = None,
        mode: str | None = None,
    ) -> torch.Tensor:
        """Encode a long ``(B, 1, L)`` batch in pieces of ``chunk_frames`` output frames;
        equals the one-shot output (eval mode, causal QRNN). See :meth:`iter_chunks`."""
        x = self.check_input(x)
        y = x.new_empty(x.shape[0], self.emb_dim, self.num_frames(x.shape[-1]))
        for start, piece in self.iter_chunks(x, chunk_frames, context_frames):
            y[..., start : start + piece.shape[-1]] = piece
        return apply_mode(y, mode)

    @torch.no_grad()
    def iter_chunks(
        self, x: torch.Tensor, chunk_frames: int = 2000, context_frames: int | None = None
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(first_frame, features (B, emb_dim, n))`` of a long ``(B, 1, L)`` input,
        piece by piece, in constant memory (eval mode, causal QRNN).

        Each piece is encoded with ``context_frames`` frames of real audio on each side
        (default: enough to cover the conv receptive field); only its central frames are kept
        and the QRNN memory is carried from piece to piece, so the concatenation equals the
        one-shot output.
        """
        if self.training:
            raise ValueError("chunked extraction needs eval mode (call .eval())")
        if self.rnn is not None and self.rnn_type != "qrnn":
            raise ValueError(f"chunked extraction needs a causal rnn; rnn_type is {self.rnn_type}")
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        x = self.check_input(x)
        hop = self.hop
        if context_frames is None:
            context_frames = -(-self.receptive_field // hop) + 1
        length = x.shape[-1]
        total = self.num_frames(length)
        if self.denseskips is not None and self.skip_pool == "original":
            lengths, n = [], length
            for blk in self.blocks[:-1]:
                n = blk.output_length(n)
                lengths.append(n)
            if any(n // total != f for n, f in zip(lengths, self._skip_factors)):
                raise ValueError(
                    "skip_pool='original' uses length-dependent pooling windows for this input "
                    "length; chunked extraction needs skip_pool='aligned'"
                )
        if total <= chunk_frames + context_frames:
            yield 0, self(x)
            return
        state = None
        for s in range(0, total, chunk_frames):
            e = min(s + chunk_frames, total)
            left = min(context_frames, s)
            last = e == total
            b = length if last else min(length, (e + context_frames) * hop)
            if not last and b == length:
                # not enough audio on the right for a full context: finish in this piece
                e, last = total, True
            h, pooled = self.encode_blocks(x[..., (s - left) * hop : b])
            h = h[..., left : left + e - s]
            pooled = [p[..., left : left + e - s] for p in pooled]
            y, _, state = self.encode_head(h, pooled, state)
            yield s, y
            if last:
                return

    # ------------------------------------------------------------------ checkpoints
    def load_pretrained(
        self,
        ckpt_path: str | os.PathLike,
        load_last: bool = False,
        verbose: bool = True,
        strict: bool = True,
    ) -> WaveFe:
        """Load encoder weights from an original or our checkpoint (safe: no code runs).

        Accepts the original raw state_dict (``FE_e199.ckpt``), the original saver format
        ``{"state_dict", "step", "optimizer"}`` and ours; strips ``module.``/``frontend.``
        prefixes. ``load_last=False`` (original semantics) skips the checkpoint's last two
        entries (its final layer), keeping the model's current values for them; pass
        ``load_last=True`` for the complete model, as the original README does.

        Raises:
            CheckpointError: unsafe/unreadable file, or (``strict``) keys the model needs are
                missing or have another shape. Keys the model does not have (e.g. workers) are
                reported, not fatal.
        """
        obj = read_checkpoint(ckpt_path)
        state = strip_prefixes(extract_state_dict(obj, str(ckpt_path)))
        skipped: list[str] = []
        if not load_last:
            skipped = list(state)[-2:]
            for k in skipped:
                del state[k]
        match = match_state_dict(self.state_dict(), state)
        missing = [k for k in match.missing if k not in skipped]
        if strict and (missing or match.mismatched):
            raise CheckpointError(f"{ckpt_path}: does not fit this encoder:\n{match.report()}")
        self.load_state_dict(match.loadable, strict=False)
        if verbose:
            msg = f"Loaded {ckpt_path}: {match.report()}"
            if skipped:
                msg += f"\nload_last=False: kept the model's own values for {skipped}"
            print(msg)
        elif match.unexpected:
            warnings.warn(
                f"{ckpt_path}: ignored {len(match.unexpected)} entries not in the encoder "
                f"(e.g. {match.unexpected[:3]})",
                stacklevel=2,
            )
        return self

    def save(self, path: str | os.PathLike, **extra: Any) -> None:
        """Write ``{"format", "config", "state_dict", **extra}`` atomically (no pickled
        objects: loadable with ``weights_only=True``)."""
        torch_save_atomic(
            {
                "format": "pase-frontend",
                "version": 1,
                "config": dict(self.config),
                "state_dict": self.state_dict(),
                **extra,
            },
            path,
        )

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, cfg: str | dict[str, Any] | None = None, device: Any = "cpu"
    ) -> WaveFe:
        """Build an encoder from our checkpoint format (its stored config), or from any
        supported checkpoint plus ``cfg``; returned in eval mode."""
        obj = read_checkpoint(path)
        if cfg is None:
            if not (isinstance(obj, dict) and isinstance(obj.get("config"), dict)):
                raise CheckpointError(f"{path}: holds no config; pass cfg= (e.g. 'PASE+')")
            cfg = obj["config"]
        model = wf_builder(cfg)
        model.load_pretrained(path, load_last=True, verbose=False)
        return model.to(device).eval()


def apply_mode(y: torch.Tensor, mode: str | None) -> torch.Tensor:
    """Original post-processing modes on ``(B, C, T)`` features (see ``WaveFe.forward``)."""
    if mode is None:
        return y
    mean = y.mean(-1, keepdim=True)
    if mode == "avg_norm":
        return y - mean
    if mode == "avg_concat":
        return torch.cat([y, mean.expand_as(y)], 1)
    if mode == "avg_norm_concat":
        return torch.cat([y - mean, mean.expand_as(y)], 1)
    raise ValueError(f"mode {mode!r} unknown; use one of {MODES}")


def wf_builder(cfg: str | os.PathLike | dict[str, Any]) -> WaveFe:
    """Build an (untrained) encoder from a built-in name ("PASE", "PASE+", any case), the
    path of an original JSON ``.cfg`` (the original repository's ``cfg/frontend/PASE+.cfg``
    works from any folder), or a dict of ``WaveFe`` arguments."""
    return WaveFe(**load_config(cfg))
