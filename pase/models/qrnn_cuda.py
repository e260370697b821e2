"""Optional fused CUDA kernel for the QRNN scan ``c_t = a_t * c_{t-1} + b_t`` (cupy).

One GPU thread per (batch, hidden) column walks the time axis. Used automatically by
:mod:`pase.models.qrnn` for float32/float64 CUDA tensors when cupy (``pip install
cupy-cuda12x``, the ``cuda`` extra) imports and a CUDA device is present; otherwise the pure
PyTorch blocked scan runs, on any device. Set ``PASE_QRNN_CUDA=0`` to disable the kernel.
"""

from __future__ import annotations

import functools
import os

import torch

_SOURCE = r"""
template <typename T>
__device__ void scan(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c,
                     const long long steps, const long long cols) {
  const long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= cols) return;
  T acc = 0;
  for (long long t = 0; t < steps; ++t) {
    const long long i = t * cols + n;
    acc = a[i] * acc + b[i];
    c[i] = acc;
  }
}
extern "C" __global__ void scan_f32(const float* a, const float* b, float* c,
                                    const long long steps, const long long cols) {
  scan<float>(a, b, c, steps, cols);
}
extern "C" __global__ void scan_f64(const double* a, const double* b, double* c,
                                    const long long steps, const long long cols) {
  scan<double>(a, b, c, steps, cols);
}
"""


@functools.lru_cache(maxsize=1)
def _module():  # pragma: no cover - needs a GPU
    import cupy

    return cupy.RawModule(code=_SOURCE, options=("--std=c++14",), name_expressions=None)


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True when the fused kernel can be used (cupy importable, CUDA device, not disabled)."""
    if os.environ.get("PASE_QRNN_CUDA", "1") == "0" or not torch.cuda.is_available():
        return False
    try:  # pragma: no cover - needs a GPU
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # pragma: no cover - needs a GPU
    """``(T, N)`` CUDA tensors -> ``(T, N)`` scan; falls back for unsupported dtypes."""
    import cupy

    from pase.models.qrnn import linear_scan

    if a.dtype not in (torch.float32, torch.float64):
        return linear_scan(a, b)
    a = a.contiguous()
    b = b.contiguous()
    c = torch.empty_like(b)
    steps, cols = a.shape
    kernel = _module().get_function("scan_f32" if a.dtype == torch.float32 else "scan_f64")
    threads = 256
    with (
        cupy.cuda.Device(a.device.index),
        cupy.cuda.ExternalStream(torch.cuda.current_stream(a.device).cuda_stream),
    ):
        kernel(
            ((cols + threads - 1) // threads,),
            (threads,),
            (
                cupy.asarray(a),
                cupy.asarray(b),
                cupy.asarray(c),
                cupy.int64(steps),
                cupy.int64(cols),
            ),
        )
    return c
