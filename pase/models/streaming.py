"""Streaming PASE / PASE+ encoding: audio in pieces as it arrives, frames as soon as ready.

:class:`StreamingEncoder` wraps an eval-mode :class:`~pase.models.frontend.WaveFe`. Every conv
block keeps a small buffer of its input (the last ``kernel - stride`` positions, or the last
``right_pad + 1`` ones for the reflection at the end); a piece of audio runs through the
blocks as far as their complete windows reach, dense skips are averaged per frame-aligned
window, and frames whose every part is complete go through the QRNN (its memory carried from
call to call), ``W``, the skips' projections and the output norm. ``flush()`` at the end of
the signal applies each block's right padding (reflection of the signal's last samples, as
the offline forward) and returns the remaining frames, so that the concatenation of all the
outputs equals the offline ``model(x)`` of the whole signal (to float rounding, ~1e-6
relative) with ``num_frames(L)`` frames.

Latency: the frame of samples ``[hop t, hop (t + 1))`` is returned by the ``push`` that
delivers sample ``hop (t + 1) - 1 + latency_samples``; for the PASE and PASE+ conv stacks
``latency_samples = 1176`` (73.5 ms at 16 kHz), the right context of the conv stack beyond
the frame's own 10 ms hop (the QRNN is causal and adds none). Memory is constant: the
buffers hold at most ~50,000 values (PASE+) between calls whatever the stream length, and
long pieces are processed in 2 s slices.

What cannot be streamed exactly, and is refused with ``ValueError``: training mode
(BatchNorm batch statistics over the whole input), ``norm_type="inorm"`` (InstanceNorm over
the whole input), a bidirectional LSTM/GRU, ``pad_mode="circular"`` (the start padded with
the end), ``skip_pool="original"`` (windows that depend on the total length). The offline
``mode`` options ("avg_norm", ...) use the mean over the whole utterance and are not offered;
subtract a running mean downstream if needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pase.models import gemm
from pase.models.fast import pool_frames
from pase.models.frontend import WaveFe
from pase.models.modules import FeBlock, _conv1d, fold_batchnorm

__all__ = ["StreamingEncoder"]

#: up to this many outputs per call a block is computed as one GEMM over its windows
GEMM_MAX_OUTPUTS = 64
#: longer pieces are pushed in slices of this many samples (2 s: ~8 MB of activations)
MAX_SLICE = 32000


class _BlockStream:
    """One conv block (padding, convolution with BatchNorm folded, activation), streamed.

    Positions are counted in the block's padded input (left padding included). ``buf`` holds
    the input positions ``[offset, offset + buf.shape[-1])``; ``next_out`` is the next output
    position, whose window is ``[next_out * stride, next_out * stride + span)``.
    """

    def __init__(self, block: FeBlock, weight: Tensor, bias: Tensor | None, c_in: int) -> None:
        self.block = block
        self.weight = weight
        self.bias = bias
        self.c_in = c_in
        self.span = block.span
        self.stride = block.stride
        self.dilation = block.dilation
        self.left, self.right = block.padding
        self.pad_mode = block.pad_mode
        #: ``(k * C_in, C_out)`` weight of the GEMM path (row ``j * C_in + c``: tap j, channel
        #: c); None for the SincNet layer (one input channel: the convolution is as fast)
        self.flat: Tensor | None = None
        if not block.sincnet and self.dilation == 1:
            self.flat = weight.permute(2, 1, 0).reshape(-1, weight.shape[0]).contiguous()
        # real inputs needed before the left padding can be formed
        self.need_left = {"reflect": self.left + 1, "replicate": 1}.get(self.pad_mode, 0)
        if self.left == 0:
            self.need_left = 0
        self.reset()

    def reset(self) -> None:
        """Forget the stream (start of a new signal)."""
        self.buf = self.weight.new_zeros(1, self.c_in, 0)
        self.offset = 0
        self.received = 0
        self.padded_left = False
        self.next_out = 0

    def numel(self) -> int:
        """Values buffered."""
        return self.buf.numel()

    def push(self, x: Tensor) -> Tensor:
        """Input positions ``(1, C_in, n)`` -> the outputs ``(1, C_out, m)`` they complete."""
        self.buf = torch.cat([self.buf, x], -1)
        self.received += x.shape[-1]
        if not self.padded_left:
            if self.received < self.need_left:
                return self._empty()
            self.buf = F.pad(self.buf, (self.left, 0), mode=self.pad_mode)
            self.padded_left = True
        return self._run()

    def flush(self, x: Tensor) -> Tensor:
        """The last input positions ``(1, C_in, n)`` -> every remaining output, the block's
        right padding applied (the offline forward's)."""
        self.buf = torch.cat([self.buf, x], -1)
        self.received += x.shape[-1]
        left = 0 if self.padded_left else self.left
        self.buf = F.pad(self.buf, (left, self.right), mode=self.pad_mode)
        self.padded_left = True
        return self._run(final=True)

    def _conv(self, seg: Tensor, n_out: int) -> Tensor:
        """'valid' convolution of ``(1, C_in, (n_out - 1) * stride + span)`` positions."""
        if self.flat is None or n_out > GEMM_MAX_OUTPUTS:
            return _conv1d(seg, self.weight, self.bias, self.stride, self.dilation)
        # few outputs (small pieces): one GEMM over the windows, several times faster than
        # oneDNN's direct convolution at these sizes
        cols = seg[0].unfold(-1, self.span, self.stride)  # (C_in, n, k)
        cols = cols.permute(1, 2, 0).reshape(n_out, -1)  # (n, k * C_in)
        y = gemm.mm(cols, self.flat, self.bias)
        return y.t().unsqueeze(0)

    def _empty(self) -> Tensor:
        return self.weight.new_zeros(1, self.weight.shape[0], 0)

    def _run(self, final: bool = False) -> Tensor:
        end = self.offset + self.buf.shape[-1]
        n_out = (end - self.span) // self.stride + 1 - self.next_out
        if n_out > 0:
            start = self.next_out * self.stride - self.offset
            seg = self.buf[..., start : start + (n_out - 1) * self.stride + self.span]
            y = self._conv(seg, n_out)
            y = self.block.forward_act(y)
            self.next_out += n_out
        else:
            y = self._empty()
        # keep the next window's start, and the last right+1 positions for the reflection
        keep = min(self.next_out * self.stride, end - (self.right + 1))
        if final:
            keep = end
        cut = max(0, keep - self.offset)
        if cut:
            self.buf = self.buf[..., cut:]
            self.offset += cut
        return y


class _PoolStream:
    """Frame-aligned means of a dense skip input: windows of ``factor`` positions."""

    def __init__(self, factor: int, channels: int, like: Tensor) -> None:
        self.factor = factor
        self.channels = channels
        self.like = like
        self.reset()

    def reset(self) -> None:
        self.buf = self.like.new_zeros(1, self.channels, 0)

    def push(self, h: Tensor) -> Tensor:
        """Positions ``(1, C, n)`` -> means ``(1, C, m)`` of the windows they complete."""
        h = torch.cat([self.buf, h], -1)
        m = h.shape[-1] // self.factor
        self.buf = h[..., m * self.factor :]
        return h[..., : m * self.factor].unflatten(-1, (m, self.factor)).mean(-1)

    def flush(self, h: Tensor, frames: int) -> Tensor:
        """The last positions -> ``frames`` more means, the offline rule (the last window
        may be partial)."""
        h = torch.cat([self.buf, h], -1)
        self.buf = h[..., :0]
        if frames <= 0:
            return h[..., :0]
        return pool_frames(h, self.factor, frames)


class StreamingEncoder:
    """Encode one signal given piece by piece; equals the offline ``model(x)`` of the whole.

    Args:
        model: a :class:`~pase.models.frontend.WaveFe` in eval mode (e.g.
            ``wf_builder("PASE+").eval()``). Its weights are read once here: build a new
            ``StreamingEncoder`` after changing them.
        mode: only None; the offline post-processing modes ("avg_norm", ...) raise
            ``ValueError`` (they need the whole utterance).

    Usage::

        stream = StreamingEncoder(model)
        for piece in pieces:                 # 1-D float samples at 16 kHz, any lengths
            frames = stream.push(piece)      # (emb_dim, n) new frames, n >= 0
        frames = stream.flush()              # (emb_dim, n) the last frames

    Frames are channel-major ``(emb_dim, n)`` like one example of the offline output
    ``(B, emb_dim, T)``; concatenated along the last dimension they are ``(emb_dim,
    num_frames(L))``. After ``flush()`` (or :meth:`reset`) the object encodes a new signal.

    Raises:
        ValueError: a configuration or mode that cannot be streamed exactly (see the module
            docstring).
    """

    def __init__(self, model: WaveFe, mode: str | None = None) -> None:
        if mode is not None:
            raise ValueError(
                f"mode {mode!r} uses the mean over the whole utterance and cannot be streamed "
                "(subtract a running mean of the frames instead, an approximation)"
            )
        if model.training:
            raise ValueError(
                "streaming needs the encoder in eval mode (call .eval()): training-mode "
                "BatchNorm normalises with statistics of the whole input"
            )
        cfg = model.config
        if cfg["norm_type"] == "inorm":
            raise ValueError(
                "norm_type 'inorm' normalises over the whole input and cannot be streamed"
            )
        if model.rnn is not None and model.rnn_type != "qrnn":
            raise ValueError(
                f"rnn_type {model.rnn_type!r} is bidirectional and cannot be streamed "
                "(the causal qrnn can)"
            )
        if cfg["pad_mode"] == "circular":
            raise ValueError("pad_mode 'circular' pads the start with the end: cannot be streamed")
        if model.denseskips is not None and model.skip_pool != "aligned":
            raise ValueError(
                "skip_pool 'original' pools over windows that depend on the total length; "
                "streaming needs skip_pool='aligned'"
            )
        self.model = model
        self.hop = model.hop
        self.sr = model.sr
        self.emb_dim = model.emb_dim
        param = next(model.parameters())
        self._device, self._dtype = param.device, param.dtype
        self._blocks: list[_BlockStream] = []
        c_in = cfg["num_inputs"]
        with torch.no_grad():
            for blk in model.blocks:
                weight, bias = blk.conv_weight()
                if isinstance(blk.norm, nn.BatchNorm1d):
                    weight, bias = fold_batchnorm(weight, bias, blk.norm)
                self._blocks.append(
                    _BlockStream(
                        blk,
                        weight.detach().clone(),
                        None if bias is None else bias.detach().clone(),
                        c_in,
                    )
                )
                c_in = weight.shape[0]
        self._pools: list[_PoolStream] = []
        if model.denseskips is not None:
            self._pools = [
                _PoolStream(model._skip_factors[i], b.weight.shape[0], b.weight)
                for i, b in enumerate(self._blocks[:-1])
            ]
        self._latency_samples = self._latency()
        self.reset()

    # ------------------------------------------------------------------ geometry
    def _latency(self) -> int:
        """Samples needed after the end of a frame's hop before the frame is complete."""

        def to_input(pos: int, upto: int) -> int:
            """Last waveform sample that block ``upto - 1``'s output ``pos`` needs."""
            for blk in reversed(self._blocks[:upto]):
                pos = pos * blk.stride + blk.span - 1 - blk.left
            return pos

        last = to_input(0, len(self._blocks))
        for i, pool in enumerate(self._pools):
            last = max(last, to_input(pool.factor - 1, i + 1))
        return last + 1 - self.hop

    @property
    def latency_samples(self) -> int:
        """Look-ahead in samples: frame t (samples ``[hop t, hop (t + 1))``) is returned by
        the ``push`` that delivers sample ``hop (t + 1) - 1 + latency_samples``."""
        return self._latency_samples

    @property
    def latency_ms(self) -> float:
        """:attr:`latency_samples` in milliseconds."""
        return 1000.0 * self.latency_samples / self.sr

    @property
    def samples_seen(self) -> int:
        """Samples pushed since the start of the signal."""
        return self._samples

    @property
    def frames_emitted(self) -> int:
        """Frames returned since the start of the signal."""
        return self._frames

    def buffered_values(self) -> int:
        """Values held between calls (block buffers, skip windows, frames waiting for their
        other parts, QRNN memory): bounded by a constant of the encoder, not the stream."""
        n = sum(b.numel() for b in self._blocks) + sum(p.buf.numel() for p in self._pools)
        n += sum(q.numel() for q in self._queues)
        if self._state is not None:
            n += sum(t.numel() for s in self._state for t in s)
        return n

    # ------------------------------------------------------------------ streaming
    def reset(self) -> None:
        """Start a new signal."""
        for b in self._blocks:
            b.reset()
        for p in self._pools:
            p.reset()
        # frames computed but not yet emitted: last block, then one per dense skip
        self._queues: list[Tensor] = [
            self._blocks[-1].weight.new_zeros(1, self._blocks[-1].weight.shape[0], 0)
        ] + [p.like.new_zeros(1, p.channels, 0) for p in self._pools]
        self._state: Any = None
        self._samples = 0
        self._frames = 0

    def _as_input(self, samples: Tensor | np.ndarray) -> Tensor:
        x = torch.as_tensor(samples)
        if x.dim() != 1:
            raise ValueError(f"expected 1-D samples (n,), got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected floating-point samples, got dtype {x.dtype}")
        if not torch.isfinite(x).all():
            raise ValueError("input contains NaN or Inf samples")
        return x.to(device=self._device, dtype=self._dtype).view(1, 1, -1)

    @torch.no_grad()
    def push(self, samples: Tensor | np.ndarray) -> Tensor:
        """Add ``samples`` (1-D, 16 kHz, any length >= 0) to the stream.

        Returns:
            ``(emb_dim, n)`` the frames completed by them (``n`` may be 0).
        """
        x = self._as_input(samples)
        outs = []
        # long pieces in slices: the intermediate activations stay small whatever the piece
        for start in range(0, x.shape[-1], MAX_SLICE):
            piece = x[..., start : start + MAX_SLICE]
            self._samples += piece.shape[-1]
            h = piece
            for i, blk in enumerate(self._blocks):
                if h.shape[-1] == 0:
                    break
                h = blk.push(h)
                self._enqueue(i, h)
            outs.append(self._emit(self._ready()))
        if not outs:
            return self._emit(0)
        return outs[0] if len(outs) == 1 else torch.cat(outs, -1)

    @torch.no_grad()
    def flush(self) -> Tensor:
        """End of the signal: the remaining frames ``(emb_dim, n)``, the right edge padded
        as offline; then the encoder is ready for a new signal.

        Raises:
            ValueError: fewer samples in all than the offline encoder accepts
                (``model.min_input_samples``); the stream is reset.
        """
        if self._samples < self.model.min_input_samples:
            n = self._samples
            self.reset()
            raise ValueError(
                f"stream of {n} samples is too short: the encoder needs at least "
                f"{self.model.min_input_samples} samples "
                f"({self.model.min_input_samples / self.sr * 1000:.0f} ms at {self.sr} Hz)"
            )
        total = self.model.num_frames(self._samples)
        h = self._blocks[0].weight.new_zeros(1, 1, 0)
        for i, blk in enumerate(self._blocks):
            h = blk.flush(h)
            if i < len(self._pools):
                done = self._frames + self._queues[1 + i].shape[-1]
                tail = self._pools[i].flush(h, total - done)
                self._queues[1 + i] = torch.cat([self._queues[1 + i], tail], -1)
            elif i == len(self._blocks) - 1:
                self._queues[0] = torch.cat([self._queues[0], h], -1)
        if self._frames + self._queues[0].shape[-1] != total:
            raise RuntimeError(
                f"streaming frame count {self._frames + self._queues[0].shape[-1]} != offline "
                f"{total} for {self._samples} samples"
            )
        y = self._emit(total - self._frames)
        self.reset()
        return y

    def _enqueue(self, i: int, h: Tensor) -> None:
        """Block ``i``'s new outputs ``(1, C, n)`` into the frame queues."""
        if i == len(self._blocks) - 1:
            self._queues[0] = torch.cat([self._queues[0], h], -1)
        elif i < len(self._pools):
            pooled = self._pools[i].push(h)
            self._queues[1 + i] = torch.cat([self._queues[1 + i], pooled], -1)

    def _ready(self) -> int:
        """Frames whose every part (last block, each dense skip) is computed."""
        return min(q.shape[-1] for q in self._queues)

    def _emit(self, n: int) -> Tensor:
        """The next ``n`` frames through the head: ``(emb_dim, n)``."""
        if n <= 0:
            return self._blocks[-1].weight.new_zeros(self.emb_dim, 0)
        parts = [q[..., :n] for q in self._queues]
        self._queues = [q[..., n:] for q in self._queues]
        y, _, self._state = self.model.encode_head(parts[0], parts[1:], self._state)
        self._frames += n
        return y[0]
