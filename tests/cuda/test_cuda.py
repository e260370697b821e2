"""CUDA paths (skipped without a GPU; ``bench/gpu_check.sh`` runs them on a GPU machine): the
cupy QRNN kernel against the PyTorch scan, the encoder and the workers on the GPU against the
CPU, mixed-precision training steps, and DDP with NCCL on two GPUs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pase.models import qrnn_cuda
from pase.models.frontend import wf_builder
from pase.models.qrnn import forget_mult, linear_scan
from pase.targets import TargetSet
from pase.train import state as st
from pase.workers import Embeddings, WorkerSet
from tests.train.conftest import train_args

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.fixture(autouse=True)
def _exact_float32():
    """Comparisons against the CPU: no TF32 in matrix products and convolutions."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


@pytest.mark.skipif(not qrnn_cuda.available(), reason="cupy kernel unavailable")
def test_qrnn_kernel_matches_the_torch_scan() -> None:
    torch.manual_seed(0)
    a = torch.rand(600, 48 * 512, device="cuda")
    b = torch.randn(600, 48 * 512, device="cuda")
    assert _rel(qrnn_cuda.scan(a, b), linear_scan(a, b)) < 1e-5
    assert _rel(qrnn_cuda.scan(a.double(), b.double()), linear_scan(a.double(), b.double())) < 1e-12
    f = torch.rand(200, 4, 64, device="cuda", requires_grad=True)
    z = torch.randn(200, 4, 64, device="cuda", requires_grad=True)
    c = forget_mult(f, z)  # the kernel, forward and (reversed) backward
    c.pow(2).sum().backward()
    fc, zc = f.detach().cpu().requires_grad_(), z.detach().cpu().requires_grad_()
    cc = forget_mult(fc, zc)
    cc.pow(2).sum().backward()
    assert _rel(c, cc) < 1e-5 and _rel(f.grad, fc.grad) < 1e-4 and _rel(z.grad, zc.grad) < 1e-4


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_encoder_on_the_gpu_matches_the_cpu(name: str) -> None:
    torch.manual_seed(1)
    model = wf_builder(name)
    gpu = wf_builder(name).cuda()
    gpu.load_state_dict(model.state_dict())
    x = torch.randn(4, 1, 32000)
    with torch.no_grad():
        assert _rel(gpu.eval()(x.cuda()), model.eval()(x)) < 1e-4
    model.train(), gpu.train()
    g = torch.randn(4, model.emb_dim, model.num_frames(32000))
    (model(x) * g).sum().backward()
    (gpu(x.cuda()) * g.cuda()).sum().backward()
    top = max(p.grad.norm().item() for p in model.parameters())
    for (n, p), q in zip(model.named_parameters(), gpu.parameters()):
        if p.grad.norm().item() < 1e-6 * top:
            continue  # a bias before a training BatchNorm: zero up to rounding
        assert _rel(q.grad, p.grad) < 2e-2, n  # float32 conditioning of this network


def test_workers_plus_losses_under_autocast() -> None:
    """The 12 PASE+ workers (the fused LPS losses run in float32 under autocast)."""
    torch.manual_seed(2)
    ws = WorkerSet.from_config("workers+", emb_dim=256).train()
    targets = TargetSet.from_workers_cfg("workers+")(torch.randn(4, 32000) * 0.1)
    emb = Embeddings(*torch.randn(3, 4, 256, 200).unbind(0))
    ref = ws(emb, targets, generator=torch.Generator().manual_seed(0))
    ws.cuda()
    emb_gpu = Embeddings(*(e.cuda() for e in emb))
    targets_gpu = {k: v.cuda() for k, v in targets.items()}
    with torch.autocast("cuda", dtype=torch.float16):
        got = ws(emb_gpu, targets_gpu, generator=torch.Generator("cuda").manual_seed(0))
    for k in ref:
        assert torch.isfinite(got[k]).all(), k
        if k in ("mi", "cmi"):  # random pairs drawn on another device
            continue
        assert abs(got[k].item() - ref[k].item()) <= 0.02 * abs(ref[k].item()) + 1e-3, k


def test_amp_training_steps(tiny_setup, tmp_path: Path) -> None:
    from pase.bin.train import main

    save = tmp_path / "amp"
    assert main(train_args(tiny_setup, save, "--epoch", "2", "--device", "cuda", "--amp")) == 0
    state = st.load_latest_state(save)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert (save / "FE_e1.ckpt").is_file()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP with NCCL needs 2 GPUs")
def test_ddp_nccl_two_gpus(tiny_setup, tmp_path: Path) -> None:
    save = tmp_path / "ddp"
    args = [a for a in train_args(tiny_setup, save, "--epoch", "2", "--batch_size", "2")
            if a != "--no-cuda"]  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "pase.bin.train", *args]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    state = st.load_latest_state(save)
    assert state["world_size"] == 2
    assert "distributed: nccl, 2 processes" in (save / "train.log").read_text()
