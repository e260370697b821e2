"""1-D convolution by overlap-save FFT blocks, with autograd: the channel mixing becomes one
complex batched GEMM per frequency bin.

For a kernel of ``k`` taps and blocks of ``nfft`` points, each output sample costs
``4 (nfft / 2 + 1) / (nfft - k + 1)`` real multiply-adds per input/output channel pair
instead of ``k`` (2.4 instead of 11 for PASE's k = 11 with ``nfft = 64``), plus the
transforms. A stride-``s`` convolution is the stride-1 convolution of its ``s`` input phases
stacked as channels (kernel ``ceil(k / s)``).

A transposed convolution with stride ``s`` is ``s`` interleaved convolutions of its input
(one per output phase, :func:`polyphase_weight`): with ``k / s`` taps per phase large enough,
the FFT pays there too.

Where it paid (CPU, 2 threads, PASE+ training batch 48 x 2 s, forward + backward, measured
against oneDNN's direct convolution, on an earlier host with the products in MKL): stride 1,
128 x 128 channels 0.42 -> 0.25 s and 256 x 256 0.80 -> 0.34 s; stride 2, 128 -> 256 0.42 ->
0.35 s, 256 -> 512 0.84 -> 0.61 s, 512 -> 512 0.88 -> 0.78 s; not for 64 -> 128 (0.23 ->
0.27 s). With the products in oneDNN (:mod:`pase.models.gemm`), Winograd beat it for
256 -> 512 and 512 -> 512 (:mod:`pase.models.winograd`), and for the PASE+ waveform
decoder's transposed convolutions (512 -> 256, k 30, stride 4 at 16 x 800 frames: 0.82 s by
FFT, 0.79 s by oneDNN, 0.63 s by Winograd's hop GEMMs); the FFT form stays for phases of more
than 8 taps. Not for inference batches: PASE+ at 1 x 10 s, the stride-2 layers took 2-5x
longer by FFT (the weight spectra are made every call and the products are thin).
:func:`wants_fft` and :func:`wants_fft_transposed` encode those choices; on GPU the direct
convolutions stay.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from pase.models.gemm import complex_bmm, complex_weight

__all__ = [
    "conv1d_fft",
    "conv_transpose1d_fft",
    "conv_transpose1d_polyphase",
    "fft_conv1d",
    "polyphase_weight",
    "wants_fft",
    "wants_fft_transposed",
    "weight_spectrum",
]

#: block size of the training convolutions
NFFT = 64
#: smallest C_in x C_out that gains from the FFT on CPU (64 -> 128 did not)
MIN_CHANNEL_PRODUCT = 128 * 128
#: smallest batch x output length: the weight spectra (6x the weights) are made every call,
#: and a 1 x 10 s inference (1000 to 4000 positions per layer) was 2-5x slower by FFT
MIN_POSITIONS = 8192


def weight_spectrum(weight: Tensor, nfft: int, real_form: bool = False) -> Tensor:
    """``(C_out, C_in, k)`` -> ``(F, C_in, C_out)`` spectra of the flipped kernel, the layout
    :func:`fft_conv1d` multiplies with (``F = nfft / 2 + 1``, complex of the weight's
    precision); with ``real_form`` their ``(F, 2 C_in, 2 C_out)`` real form
    (:func:`pase.models.gemm.complex_weight`), for which :func:`fft_conv1d` uses oneDNN's
    real products: worth it where the weights serve many rows (cached inference weights,
    long training batches), not where building it (4x the complex weights' values, and its
    gradient) costs more than the products gain (:func:`conv1d_fft`)."""
    spec = torch.fft.rfft(weight.flip(-1), n=nfft).permute(2, 1, 0)
    return (complex_weight(spec) if real_form else spec).contiguous()


def fft_conv1d(x: Tensor, spec: Tensor, k: int, bias: Tensor | None) -> Tensor:
    """'valid' stride-1 ``F.conv1d`` by overlap-save FFT blocks.

    Args:
        x: ``(B, C_in, L)``; computed in the precision of ``spec``.
        spec: :func:`weight_spectrum` of the ``(C_out, C_in, k)`` kernel, complex or real form
            (its FFT size sets the block size, its precision that of the products).
        k: kernel width.
        bias: ``(C_out,)`` or None.

    Returns:
        ``(B, C_out, L - k + 1)`` in ``x``'s dtype.
    """
    b, c_in, length = x.shape
    real_form = not spec.is_complex()
    n_bins, c_out = spec.shape[0], spec.shape[2] // (2 if real_form else 1)
    nfft = 2 * (n_bins - 1)
    step = nfft - k + 1
    l_out = length - k + 1
    n_blocks = _blocks(length, k, nfft)
    need = (n_blocks - 1) * step + nfft
    real = spec.dtype if real_form else spec.real.dtype
    frames = F.pad(x.to(real), (0, need - length)).unfold(-1, nfft, step)  # (B, C_in, N, nfft)
    spec_x = torch.fft.rfft(frames, n=nfft)  # (B, C_in, N, F)
    spec_x = spec_x.permute(3, 0, 2, 1).reshape(n_bins, b * n_blocks, c_in)
    spec_y = complex_bmm(spec_x, spec) if real_form else torch.bmm(spec_x, spec)  # (F, B N, C_out)
    if bias is not None:  # a constant is nfft times itself in the DC bin: no extra pass
        spec_y[0] += nfft * bias.to(real)
    spec_y = spec_y.view(n_bins, b, n_blocks, c_out).permute(1, 3, 2, 0)
    y = torch.fft.irfft(spec_y, n=nfft)[..., k - 1 :]  # (B, C_out, N, step)
    return y.reshape(b, c_out, n_blocks * step)[..., :l_out].to(x.dtype)


def _blocks(length: int, k: int, nfft: int) -> int:
    """Overlap-save blocks of ``nfft`` points for a 'valid' convolution of ``length`` inputs."""
    return -(-(length - k + 1) // (nfft - k + 1))


def conv1d_fft(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int = 1, nfft: int = NFFT
) -> Tensor:
    """``F.conv1d(x, weight, bias, stride)`` ('valid', no dilation) by FFT blocks, with
    autograd. ``x`` ``(B, C_in, L)``, ``weight`` ``(C_out, C_in, k)`` -> ``(B, C_out,
    (L - k) // stride + 1)``."""
    k = weight.shape[-1]
    length = x.shape[-1]
    t_out = (length - k) // stride + 1
    if stride > 1:
        # phase r of the input, x[s u + r], stacked as channels r * C_in + c; tap s q + r of
        # the kernel becomes tap q of phase r (zero beyond k)
        taps = -(-k // stride)
        x = F.pad(x, (0, (-length) % stride))
        x = x.unflatten(-1, (-1, stride)).permute(0, 3, 1, 2).flatten(1, 2)
        weight = F.pad(weight, (0, taps * stride - k))
        weight = weight.unflatten(-1, (taps, stride)).permute(0, 3, 1, 2).flatten(1, 2)
        k = taps
    # oneDNN's real products (pase.models.gemm) where the rows per frequency bin outnumber the
    # real form's 2 C_in rows of weights, built every call: PASE+'s 128 x 128 and 256 x 256
    # layers at 48 x 2 s (1440 and 720 rows), forward + backward 0.21 -> 0.18 s and 0.31 ->
    # 0.25 s; the decoder's 512 -> 1024 polyphase form at 16 x 2 s (240 rows) lost
    real_form = x.shape[0] * _blocks(x.shape[-1], k, nfft) >= 2 * x.shape[1]
    y = fft_conv1d(x, weight_spectrum(weight, nfft, real_form), k, bias)
    return y[..., :t_out]


def wants_fft(x: Tensor, weight: Tensor, stride: int, dilation: int) -> bool:
    """Whether :func:`conv1d_fft` beats the direct convolution here (see the module's
    measurements): CPU, no dilation, stride 1 or 2, at least 5 taps, C_in x C_out of at
    least 128 x 128, an output longer than one block and of at least
    :data:`MIN_POSITIONS` positions over the batch (training batches, not inference)."""
    c_out, c_in, k = weight.shape
    t_out = (x.shape[-1] - k) // stride + 1
    return (
        x.device.type == "cpu"
        and dilation == 1
        and stride in (1, 2)
        and k >= 5
        and c_in * c_out >= MIN_CHANNEL_PRODUCT
        and t_out >= NFFT
        and x.shape[0] * t_out >= MIN_POSITIONS
        and x.dtype in (torch.float32, torch.float64)
    )


def polyphase_weight(weight: Tensor, stride: int, padding: int) -> tuple[Tensor, int, int]:
    """The ``F.conv1d`` form of ``F.conv_transpose1d(x, weight, stride=stride,
    padding=padding)``: its output sample ``stride u + p`` is output channel ``p C_out + o``
    at position ``u`` of ``F.conv1d(F.pad(x, (jmax, -jmin)), w)``.

    Args:
        weight: ``(C_in, C_out, k)`` (``nn.ConvTranspose1d``'s layout).

    Returns:
        ``(w, jmin, jmax)``: ``w`` ``(stride C_out, C_in, jmax - jmin + 1)`` (zero where a
        phase has no tap); output position ``u`` of a phase reads the inputs
        ``x[u - jmax] .. x[u - jmin]``, hence the padding ``(jmax, -jmin)``.
    """
    c_in, c_out, k = weight.shape
    s, pad = stride, padding
    jmin = min(-((p + pad) // s) for p in range(s))
    jmax = max((k - 1 - p - pad) // s for p in range(s))
    taps = jmax - jmin + 1
    # tap i of phase p is the input x[u - (jmax - i)], kernel index s (jmax - i) + p + pad
    idx = torch.tensor(
        [[s * (jmax - i) + p + pad for i in range(taps)] for p in range(s)], device=weight.device
    )
    valid = ((idx >= 0) & (idx < k)).to(weight.dtype)
    w = weight[:, :, idx.clamp(0, k - 1)] * valid  # (C_in, C_out, s, taps)
    return w.permute(2, 1, 0, 3).reshape(s * c_out, c_in, taps), jmin, jmax


def conv_transpose1d_polyphase(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: int,
    padding: int,
    conv1d: Callable[[Tensor, Tensor], Tensor],
) -> Tensor:
    """The first ``stride T`` samples of ``F.conv_transpose1d(x, weight, bias, stride,
    padding)`` as one stride-1 convolution of its output phases (:func:`polyphase_weight`)
    computed by ``conv1d(x, w)`` ('valid', no bias), with autograd: ``x`` ``(B, C_in, T)``,
    ``weight`` ``(C_in, C_out, k)`` -> ``(B, C_out, stride T)``."""
    b, _, t = x.shape
    c_out = weight.shape[1]
    w, jmin, jmax = polyphase_weight(weight, stride, padding)
    y = conv1d(F.pad(x, (jmax, -jmin)), w)  # (B, s C_out, T)
    y = y.view(b, stride, c_out, t).permute(0, 2, 3, 1).reshape(b, c_out, t * stride)
    return y if bias is None else y + bias[:, None]


def conv_transpose1d_fft(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: int, padding: int, nfft: int = NFFT
) -> Tensor:
    """:func:`conv_transpose1d_polyphase` by FFT convolution (:func:`conv1d_fft`)."""
    return conv_transpose1d_polyphase(
        x, weight, bias, stride, padding, lambda h, w: conv1d_fft(h, w, None, 1, nfft)
    )


def wants_fft_transposed(x: Tensor, weight: Tensor, stride: int) -> bool:
    """Whether :func:`conv_transpose1d_fft` beats oneDNN here: CPU, at least 5 taps per
    output phase (``k >= 5 stride``), C_in x C_out of at least 128 x 128, at least
    :data:`MIN_POSITIONS` input positions over the batch."""
    c_in, c_out, k = weight.shape
    return (
        x.device.type == "cpu"
        and k >= 5 * stride
        and c_in * c_out >= MIN_CHANNEL_PRODUCT
        and x.shape[0] * x.shape[-1] >= MIN_POSITIONS
        and x.dtype in (torch.float32, torch.float64)
    )
