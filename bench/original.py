"""Time the original santi-pdp/pase side by side with this implementation (``--compare`` of
``bench/encoder.py`` and ``bench/train.py``).

Run as a script in a separate interpreter whose ``sys.path`` starts with a checkout of the
original (``--root``) and of salesforce/pytorch-qrnn (``--qrnn``, PASE+ needs its ``QRNN``); it
prints one JSON object. The original imports libraries that these timings never execute (its
CUDA kernel's cupy/pynvrtc, torchvision, librosa, ...): those missing from the environment are
replaced by empty stand-ins, so the original runs as its own CPU code. Nothing here is the
original's code; it only calls its public classes:

- ``encoder``: ``wf_builder(cfg)`` in eval mode, real-time factor of ``forward`` under
  ``no_grad`` (1 x 10 s and 8 x 2 s);
- ``train``: ``pase(frontend_cfg, minions_cfg)`` with the workers+ config, a batch of
  ``batch x seconds`` chunks (chunk, context, random; targets of the right shapes), one
  training step as its trainer does it (``forward``, the ``base`` back-propagation schedule:
  summed losses, backward, one Adam per worker and for the encoder); batch preparation
  (targets, distortions) is not included: it ran in the original's DataLoader workers.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import statistics
import sys
import time
import types
from pathlib import Path

#: imported by the original's modules, never run by these timings
STUBBED = (
    "cupy", "pynvrtc", "torchvision", "ahoproc_tools", "librosa", "pysptk", "gammatone",
    "python_speech_features", "tensorboardX", "webrtcvad", "kaldi_io", "torchaudio", "sklearn",
    "matplotlib", "numba",
)  # fmt: skip


class _Stub(types.ModuleType):
    """A module whose every attribute is a fresh empty class (importable, subclassable)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {"__init__": lambda self, *a, **k: None})
        setattr(self, name, value)
        return value


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stand-ins for :data:`STUBBED` packages that are not installed."""

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".")[0]
        if root not in STUBBED:
            return None
        if root == fullname and importlib.machinery.PathFinder.find_spec(root) is not None:
            return None  # installed: use it
        if root != fullname and not isinstance(sys.modules.get(root), _Stub):
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def _timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def encoder_rtf(root: Path, repeats: int) -> dict:
    import torch

    from pase.models.frontend import wf_builder

    rows = {}
    for name in ("PASE", "PASE+"):
        model = wf_builder(str(root / "cfg" / "frontend" / f"{name}.cfg")).eval()
        for batch, seconds in ((1, 10.0), (8, 2.0)):
            x = torch.randn(batch, 1, int(seconds * 16000))
            with torch.no_grad():
                times = _timed(lambda m=model, x=x: m(x), repeats)
            rtf = [t / (batch * seconds) for t in times]
            rows[f"{name} {batch}x{seconds:g}"] = {
                "median": statistics.median(rtf),
                "best": min(rtf),
            }
    return rows


def train_step(root: Path, batch: int, seconds: float, steps: int) -> dict:
    import torch
    from pase.models.pase import pase as Pase  # the original's class name
    from pase.models.WorkerScheduler.worker_scheduler import backprop_scheduler

    fe_cfg = json.loads((root / "cfg" / "frontend" / "PASE+.cfg").read_text())
    from pase.utils import worker_parser

    # as its train.py: the parser makes each loss (ContextualizedLoss with r frames), and the
    # target settings are taken out before the workers are built
    minions = worker_parser(str(root / "cfg" / "workers" / "workers+.cfg"))
    for group in minions.values():
        for cfg in group:
            cfg.pop("transform", None)
    torch.manual_seed(0)
    model = Pase(
        frontend_cfg=fe_cfg,
        minions_cfg=minions,
        cls_lst=[c["name"] for c in minions.get("cls", [])],
        regr_lst=[r["name"] for r in minions.get("regr", [])],
    ).train()
    length = int(seconds * 16000)
    frames = length // 160
    data = {k: torch.randn(batch, 1, length) for k in ("chunk", "chunk_ctxt", "chunk_rand")}
    for cfg in minions.get("regr", []):  # targets (B, C, T) of the configured C
        wave = cfg["name"] == "cchunk"
        data[cfg["name"]] = torch.randn(
            (batch, 1, length) if wave else (batch, cfg["num_outputs"], frames)
        )
    fe_opt = torch.optim.Adam(model.frontend.parameters(), lr=1e-3)
    regr = {w.name: torch.optim.Adam(w.parameters(), lr=5e-4) for w in model.regression_workers}
    cls = {w.name: torch.optim.Adam(w.parameters(), lr=5e-4) for w in model.classification_workers}
    schedule = backprop_scheduler(model, mode="base")
    split: dict[str, list[float]] = {"forward": [], "backward+optim": [], "step": []}

    def one() -> None:
        t0 = time.perf_counter()
        _, _, preds, labels = model.forward(data, 1, "cpu")
        t1 = time.perf_counter()
        schedule(preds, labels, cls, regr, fe_opt, device="cpu")
        t2 = time.perf_counter()
        split["forward"].append(t1 - t0)
        split["backward+optim"].append(t2 - t1)
        split["step"].append(t2 - t0)

    one()  # warm-up
    for v in split.values():
        v.clear()
    for _ in range(steps):
        one()
    return {k: statistics.median(v) for k, v in split.items()}


def run(what: str, root: str | Path, qrnn: str | Path | None = None, **opts: object) -> dict:
    """Run this script on the original checkout ``root`` (and pytorch-qrnn checkout
    ``qrnn``, default: a ``pytorch-qrnn`` folder beside ``root``, else an installed
    ``torchqrnn``) in a fresh interpreter; its JSON result. ``opts``: ``threads``,
    ``repeats``, ``batch``, ``seconds``, ``steps``."""
    import os
    import subprocess

    root = Path(root).resolve()
    if not (root / "pase" / "models" / "frontend.py").is_file():
        raise SystemExit(f"--compare {root}: not a checkout of santi-pdp/pase")
    if qrnn is None and (root.parent / "pytorch-qrnn" / "torchqrnn").is_dir():
        qrnn = root.parent / "pytorch-qrnn"
    paths = [str(root)] + ([str(Path(qrnn).resolve())] if qrnn else [])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(Path(__file__).resolve()), what, "--root", str(root)]
    for k, v in opts.items():
        cmd += [f"--{k}", str(v)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"the original failed ({' '.join(cmd)}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("what", choices=("encoder", "train"))
    p.add_argument("--root", type=Path, required=True, help="checkout of santi-pdp/pase")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=2)
    a = p.parse_args()
    sys.meta_path.insert(0, _StubFinder())
    import torch

    torch.set_num_threads(a.threads)
    if a.what == "encoder":
        out = encoder_rtf(a.root, a.repeats)
    else:
        out = train_step(a.root, a.batch, a.seconds, a.steps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
