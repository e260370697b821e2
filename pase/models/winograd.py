"""Winograd (Toom-Cook) minimal filtering for 1-D convolutions on time-major hops.

**Hop form.** A convolution with stride ``s`` and ``k`` taps over a time-major ``(B, L, C_in)``
buffer is regrouped: ``P = s g`` consecutive input samples form a *hop* (a row of
``P C_in`` values: a free reshape of the buffer) and ``g`` consecutive outputs an output hop
(``g C_out`` values). The layer becomes a stride-1 convolution over hops with
``r = (s (g - 1) + k - 1) // P + 1`` taps, ``K = P C_in`` inputs and ``N = g C_out`` outputs
(:func:`hop_weight`). PASE's ``k = 11`` layers: stride 2 with ``g = 1`` and stride 1 with
``g = 2`` both give ``r = 6`` (the padded taps cost 9 %); narrow stride-1 kernels keep
``g = 1`` (``r = k``).

**Winograd F(m, r).** ``m`` output hops from ``n = m + r - 1`` input hops:
``Y = A^T [(G w) (.) (B^T d)]``, where the elementwise product over the ``n`` points is, for
all tiles and channels at once, ``n`` GEMMs ``(tiles, K) @ (K, N)`` instead of ``m r``
(F(3, 6): 8 GEMMs for 18 taps, 2.25x fewer multiply-adds; F(6, 3) the same). The transforms
``A^T`` (m x n), ``G`` (n x r), ``B^T`` (n x n) are exact rational matrices from the
interpolation points ``0, 1, -1, 2, -2, 1/2, -1/2, ...`` and infinity
(:func:`winograd_matrices`); in float32 the results stay within ~2e-6 (relative to the
largest output) of a float64 convolution for ``n <= 8``, against ~4e-7 for oneDNN's direct
convolution. Larger tiles lose accuracy quickly (F(4, 6): 1e-5), so tiles stay within
:data:`MAX_POINTS` points.

Used by the eval fast path (:mod:`pase.models.fast`) for the wide strided blocks: at batch
1 x 10 s on 2 CPU threads oneDNN's direct convolutions already ran as fast as its GEMMs, so
only fewer multiply-adds could make them faster. In training (:func:`conv1d_winograd`, with
autograd: the backward passes are the same ``n`` GEMMs transposed) for PASE+'s 256 -> 512 and
512 -> 512 stride-2 blocks, where it beat the FFT convolution (whose complex weight spectra,
made every step, cost more than its products), and for the waveform decoder's transposed
convolutions as their polyphase form (:func:`conv_transpose1d_winograd`: F(6, 3) for the
stride-10 one; 8 taps per phase, one hop GEMM each, for the stride-4 one). The products go
through :mod:`pase.models.gemm` (oneDNN on CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor

from pase.models import gemm
from pase.models.fft_conv import MIN_POSITIONS, conv_transpose1d_polyphase

__all__ = [
    "MAX_POINTS",
    "HopConv",
    "conv1d_winograd",
    "conv_transpose1d_winograd",
    "hop_weight",
    "wants_winograd",
    "wants_winograd_transposed",
    "winograd_matrices",
]

#: points (GEMMs) per Winograd tile at most: F(m, r) with m + r - 1 <= 8 stayed within ~2e-6
#: of a float64 convolution in float32 (F(3, 6), F(6, 3)); 9 points lost 5x that
MAX_POINTS = 8

#: smallest C_in x C_out where training batches gained over the FFT convolution (512 -> 512,
#: stride 2, forward + backward on 48 x 2 s: 0.86 s by FFT, 0.65 s). With the products in
#: oneDNN (pase.models.gemm) 256 -> 512 gained too: PASE+ encoder forward + backward on
#: 48 x 2 s 3.72 -> 3.47 s (median of 5 interleaved rounds); 128 -> 256 was even
TRAIN_MIN_CHANNEL_PRODUCT = 256 * 512

#: floats per pass of the Winograd products (inputs, products), so that they stay in cache
CHUNK = 1 << 21

_POINTS = [Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2)]
_POINTS += [Fraction(1, 2), Fraction(-1, 2), Fraction(3), Fraction(-3), Fraction(1, 3)]


def _solve_inverse(a: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse of a square rational matrix (Gauss-Jordan)."""
    n = len(a)
    m = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        piv = next(r for r in range(col, n) if m[r][col] != 0)
        m[col], m[piv] = m[piv], m[col]
        p = m[col][col]
        m[col] = [v / p for v in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col]
                m[r] = [v - f * w for v, w in zip(m[r], m[col])]
    return [row[n:] for row in m]


@cache
def winograd_matrices(m: int, r: int) -> tuple[Tensor, Tensor, Tensor]:
    """Transforms of F(m, r), float64: ``A^T`` ``(m, n)``, ``G`` ``(n, r)``, ``B^T``
    ``(n, n)`` with ``n = m + r - 1``, such that for a tile ``d`` of ``n`` inputs the ``m``
    outputs of the correlation ``y[t] = sum_i w[i] d[t + i]`` are
    ``A^T ((G w) * (B^T d))``."""
    n = m + r - 1
    if not 1 <= n - 1 <= len(_POINTS):
        raise ValueError(f"F({m}, {r}) needs {n - 1} interpolation points; at most {len(_POINTS)}")
    points = _POINTS[: n - 1]

    def evaluation(cols: int) -> list[list[Fraction]]:  # rows: points, then infinity
        rows = [[p**j for j in range(cols)] for p in points]
        return [*rows, [Fraction(0)] * (cols - 1) + [Fraction(1)]]

    v_m, v_r, v_n = evaluation(m), evaluation(r), evaluation(n)
    # linear convolution p = V_n^-1 ((V_m u) * (V_r w)); the correlation is its transpose in u
    inv = _solve_inverse(v_n)
    at = [[v_m[j][i] for j in range(n)] for i in range(m)]
    bt = [[inv[j][i] for j in range(n)] for i in range(n)]

    def tensor(rows: list[list[Fraction]]) -> Tensor:
        return torch.tensor([[float(v) for v in row] for row in rows], dtype=torch.float64)

    return tensor(at), tensor(v_r), tensor(bt)


def hop_weight(weight: Tensor, stride: int, group: int) -> Tensor:
    """``(C_out, C_in, k)`` -> hop kernel ``(r, P C_in, g C_out)`` (``P = stride * group``):
    entry ``[i, p C_in + c, q C_out + o] = weight[o, c, P i + p - stride q]`` (zero where that
    tap does not exist)."""
    c_out, c_in, k = weight.shape
    hop = stride * group
    r = (stride * (group - 1) + k - 1) // hop + 1
    out = weight.new_zeros(r, hop, c_in, group, c_out)
    w = weight.permute(2, 1, 0)  # (k, C_in, C_out)
    for i in range(r):
        for p in range(hop):
            for q in range(group):
                tap = hop * i + p - stride * q
                if 0 <= tap < k:
                    out[i, p, :, q] = w[tap]
    return out.reshape(r, hop * c_in, group * c_out)


@dataclass(frozen=True)
class HopConv:
    """Geometry of one layer in hop form, and its Winograd tile.

    ``stride``/``kwidth``: the layer's; ``group``: outputs per hop (1 for strided layers, 2
    for stride 1 so that hops hold two samples); ``tile``: output hops per Winograd tile
    (``m``; 1 means the direct hop convolution, ``r`` GEMMs).
    """

    stride: int
    kwidth: int
    group: int
    tile: int

    @classmethod
    def for_layer(cls, stride: int, kwidth: int) -> HopConv:
        """The hop form used for a ``(stride, kwidth)`` layer: hops of two samples for wide
        stride-1 kernels (``k > 6``, whose taps would need too many points), and the largest
        tile of at most :data:`MAX_POINTS` points (none for a single hop tap)."""
        group = 2 if stride == 1 and kwidth > 6 else 1
        r = (stride * (group - 1) + kwidth - 1) // (stride * group) + 1
        return cls(stride, kwidth, group, max(1, MAX_POINTS + 1 - r) if r > 1 else 1)

    @property
    def hop(self) -> int:
        """Input samples per hop (``P``)."""
        return self.stride * self.group

    @property
    def taps(self) -> int:
        """Hop taps ``r``."""
        return (self.stride * (self.group - 1) + self.kwidth - 1) // self.hop + 1

    @property
    def points(self) -> int:
        """GEMMs per tile (``n = m + r - 1``)."""
        return self.tile + self.taps - 1

    def output_length(self, length: int) -> int:
        """Outputs of a padded input of ``length`` samples."""
        return (length - self.kwidth) // self.stride + 1

    def input_length(self, length: int) -> int:
        """Padded input samples :meth:`__call__` reads for an input of ``length`` samples
        (whole tiles; the buffer must hold them, zeros after the real ones)."""
        tiles = self._tiles(self.output_length(length))
        return (tiles * self.tile + self.taps - 1) * self.hop

    def output_rows(self, length: int) -> int:
        """Rows :meth:`__call__` writes for an input of ``length`` samples (whole tiles)."""
        return self._tiles(self.output_length(length)) * self.tile * self.group

    def _tiles(self, t_out: int) -> int:
        hops = -(-t_out // self.group)
        return -(-hops // self.tile)

    def weight(self, weight: Tensor) -> Tensor:
        """Layer weight ``(C_out, C_in, k)`` -> the transformed kernel ``(n, K, N)`` that
        :meth:`products` multiplies with (differentiable; ``G``'s entries are powers of 2,
        exact in float32)."""
        w = hop_weight(weight, self.stride, self.group)
        if self.tile > 1:
            _, g, _ = winograd_matrices(self.tile, self.taps)
            w = torch.einsum("jr,rkn->jkn", g.to(weight.device, weight.dtype), w)
        return w.contiguous()

    def products(self, h: Tensor, t0: int, t1: int, wt: Tensor) -> Tensor:
        """Output tiles ``t0 .. t1 - 1`` of every example from the hops ``h`` ``(B, hops, K)``
        (tile ``t`` reads hops ``m t .. m t + n - 1``) -> ``(m, B, t1 - t0, g, C_out)``, the
        ``m`` output hops of a tile first. Differentiable."""
        n, k_dim, n_dim = wt.shape
        m, r = self.tile, self.taps
        count, batch = t1 - t0, h.shape[0]
        first = h[:, t0 * m :]
        shape = (m, batch, count, self.group, n_dim // self.group)
        if m == 1:  # direct hop convolution: r GEMMs accumulated
            y = torch.matmul(first[:, :count], wt[0])
            for i in range(1, r):
                y = y + torch.matmul(first[:, i : i + count], wt[i])
            return y.view(shape)
        at, _, bt = (t.to(h.device, h.dtype) for t in winograd_matrices(m, r))
        d = torch.stack([first[:, i : i + m * count : m] for i in range(n)])  # (n, B, tiles, K)
        u = torch.mm(bt, d.view(n, -1)).view(n, batch * count, k_dim)
        prod = gemm.bmm(u, wt)  # (n, B tiles, N): the n products of every tile
        return torch.mm(at, prod.view(n, -1)).view(shape)

    def __call__(self, x: Tensor, length: int, wt: Tensor, out: Tensor | None = None) -> Tensor:
        """'valid' convolution of the time-major buffer ``x`` ``(B, >= input_length(length),
        C_in)`` whose first ``length`` rows are the padded layer input (the rest zeros) ->
        ``(B, output_rows(length), C_out)``: whole tiles of outputs, the rows after
        ``output_length(length)`` meaningless. ``wt`` from :meth:`weight`; ``out`` an optional
        view of that shape to write into (any batch stride; rows of ``C_out`` contiguous
        values)."""
        batch, rows, c_in = x.shape
        n, k_dim, n_dim = wt.shape
        tiles = self._tiles(self.output_length(length))
        hops_in = tiles * self.tile + self.taps - 1
        if rows < hops_in * self.hop:
            raise ValueError(f"buffer of {rows} rows, {hops_in * self.hop} needed")
        h = x[:, : hops_in * self.hop].reshape(batch, hops_in, self.hop * c_in)
        if out is None:
            out = x.new_empty(batch, tiles * self.tile * self.group, n_dim // self.group)
        tiled = out.unflatten(1, (tiles, self.tile, self.group))
        step = max(1, CHUNK // (n * max(k_dim, n_dim)))  # tiles per pass, kept in cache
        for b in range(batch):
            for t0 in range(0, tiles, step):
                t1 = min(tiles, t0 + step)
                y = self.products(h[b : b + 1], t0, t1, wt)
                tiled[b, t0:t1].copy_(y[:, 0].transpose(0, 1))
        return out


def conv1d_winograd(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int) -> Tensor:
    """``F.conv1d(x, weight, bias, stride)`` ('valid', no dilation) by Winograd F(3, r) on
    hops, with autograd, all examples' tiles in one GEMM per point (training batches):
    ``x`` ``(B, C_in, L)``, ``weight`` ``(C_out, C_in, k)`` -> ``(B, C_out, T)``."""
    batch, c_in, length = x.shape
    c_out, _, k = weight.shape
    conv = HopConv.for_layer(stride, k)
    t_out = conv.output_length(length)
    tiles = conv._tiles(t_out)
    need = max(length, conv.input_length(length))
    rows = F.pad(x, (0, need - length)).transpose(1, 2)  # (B, need, C_in)
    h = rows.reshape(batch, need // conv.hop, conv.hop * c_in)  # one copy: time-major hops
    y = conv.products(h, 0, tiles, conv.weight(weight))  # (m, B, tiles, g, C_out)
    y = y.permute(1, 4, 2, 0, 3).reshape(batch, c_out, -1)[..., :t_out]
    return y if bias is None else y + bias[:, None]


def wants_winograd(x: Tensor, weight: Tensor, stride: int, dilation: int) -> bool:
    """Whether :func:`conv1d_winograd` beats the FFT and direct convolutions for a training
    batch (measured forward + backward, 48 x 2 s, 2 CPU threads): CPU, stride 2, no
    dilation, at least 5 taps, C_in x C_out of at least :data:`TRAIN_MIN_CHANNEL_PRODUCT`,
    at least ``fft_conv.MIN_POSITIONS`` output positions over the batch, float32/64."""
    c_out, c_in, k = weight.shape
    t_out = (x.shape[-1] - k) // stride + 1
    return (
        x.device.type == "cpu"
        and dilation == 1
        and stride == 2
        and k >= 5
        and c_in * c_out >= TRAIN_MIN_CHANNEL_PRODUCT
        and x.shape[0] * t_out >= MIN_POSITIONS
        and x.dtype in (torch.float32, torch.float64)
    )


def conv_transpose1d_winograd(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int
) -> Tensor:
    """The first ``stride T`` samples of ``F.conv_transpose1d(x, weight, bias, stride,
    padding)``: its polyphase form (one stride-1 convolution of ``ceil(k / stride)``-ish taps
    with ``stride C_out`` outputs, :func:`pase.models.fft_conv.polyphase_weight`) by
    :func:`conv1d_winograd`, with autograd. ``x`` ``(B, C_in, T)``, ``weight``
    ``(C_in, C_out, k)`` -> ``(B, C_out, stride T)``."""
    return conv_transpose1d_polyphase(
        x, weight, bias, stride, padding, lambda h, w: conv1d_winograd(h, w, None, 1)
    )


def wants_winograd_transposed(x: Tensor, weight: Tensor, stride: int) -> bool:
    """Whether :func:`conv_transpose1d_winograd` beats oneDNN and the FFT form: CPU, 2 to
    :data:`MAX_POINTS` kernel taps per output phase (``2 stride <= k <= 8 stride``; wider
    phases go to the FFT), C_in x C_out of at least 128 x 128, at least
    ``fft_conv.MIN_POSITIONS`` input positions over the batch, float32/64. Measured (forward
    + backward): the PASE+ waveform decoder's 256 -> 128, k 30, stride 10 (3 taps per phase,
    F(6, 3)) on 16 x 3200 frames 1.90 -> 1.22 s; its 512 -> 256, k 30, stride 4 (8 taps per
    phase: one hop GEMM per tap, no Winograd saving, but products in oneDNN) on 16 x 800
    frames 0.82 s by FFT, 0.79 s by oneDNN's transposed convolution, 0.63 s."""
    c_in, c_out, k = weight.shape
    return (
        x.device.type == "cpu"
        and stride > 1
        and 2 * stride <= k <= MAX_POINTS * stride
        and c_in * c_out >= 128 * 128
        and x.shape[0] * x.shape[-1] >= MIN_POSITIONS
        and x.dtype in (torch.float32, torch.float64)
    )
