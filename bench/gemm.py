"""float32 matrix products on CPU: torch's ``mm`` (MKL on x86 builds) next to oneDNN
(``pase.models.gemm``), on the shapes PASE+ inference and training multiply.

    python bench/gemm.py
    python bench/gemm.py --threads 1 --repeats 30

Prints milliseconds and GFLOP/s (2 M K N / time, best of ``--repeats``) per shape and the
ratio. ``pase.models.gemm`` sends a float32 product to oneDNN when it has at least
``MIN_MACS`` multiply-adds; on the AMD EPYC machines this project runs on, MKL's SGEMM
reached about half of oneDNN's speed. On an Intel CPU expect them close; set
``PASE_GEMM=torch`` to keep torch's products everywhere, ``PASE_GEMM=onednn`` to use oneDNN
on a CPU other than x86-64 (``auto``, the default, uses it on x86-64 only).
"""

from __future__ import annotations

import argparse
import time

import torch

from pase.models import gemm

#: (what, M, K, N): A (M, K) @ B (K, N)
SHAPES = [
    ("SincNet piece (symmetric taps)", 2048, 126, 64),
    ("second block, 1024 hops", 1025, 640, 128),
    ("Winograd 512 -> 512 point", 256, 1024, 512),
    ("FFT 256 x 256 bin (real form)", 75, 512, 512),
    ("QRNN input, 1 x 10 s", 1000, 1024, 1536),
    ("QRNN input, training batch", 9600, 1024, 1536),
    ("LPS head context product", 3075, 3200, 1792),
    ("small", 64, 64, 64),
]


def best_time(product, a: torch.Tensor, b: torch.Tensor, repeats: int) -> float:
    """Best wall time of ``repeats`` calls ``product(a, b)`` after two warm-up calls, s."""
    product(a, b)
    product(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} threads, oneDNN products "
        f"{'on' if gemm.onednn_available() else 'off'} (MIN_MACS {gemm.MIN_MACS})"
    )
    print(
        f"{'product':32s} {'M x K x N':>18s} {'torch ms':>9s} {'GFLOP/s':>8s} "
        f"{'ours ms':>8s} {'GFLOP/s':>8s} {'ratio':>6s}"
    )
    for what, m, k, n in SHAPES:
        a, b = torch.randn(m, k), torch.randn(k, n)
        flop = 2 * m * k * n / 1e9
        t_torch = best_time(torch.mm, a, b, args.repeats)
        t_ours = best_time(gemm.mm, a, b, args.repeats)
        print(
            f"{what:32s} {f'{m} x {k} x {n}':>18s} {t_torch * 1e3:9.3f} {flop / t_torch:8.0f} "
            f"{t_ours * 1e3:8.3f} {flop / t_ours:8.0f} {t_torch / t_ours:5.2f}x"
        )


if __name__ == "__main__":
    main()
