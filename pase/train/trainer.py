"""The PASE / PASE+ self-supervised training loop.

One step: a batch of clean chunks (+ context and random chunks) -> targets of the clean chunk,
batched on the device and z-normalised -> distortions of the chunk -> encoder on
``[distorted chunk; context; random]`` -> workers -> weighted loss -> backward -> one Adam
step for the encoder (``fe_lr``) and one per worker (``min_lr``).

Resumable exactly: the training state (weights, optimizers, data position, every RNG) is
saved atomically every ``ckpt_interval`` steps and at epoch ends, and a restart of the same
command continues from the newest state. Under ``torchrun`` the model is wrapped in
DistributedDataParallel, the data are sharded by rank, and rank 0 logs and saves.

:func:`train` (what ``pase-train`` runs) adds the guards of a real run around
:class:`Trainer`:

- one writer per ``--save-path``: rank 0 holds :class:`pase.io.lock.OutputLock` from before
  the data are opened until it exits (a second run fails at once naming the holder's pid);
- temporary files of atomic writes that a killed run left in ``--save-path``
  (``.<name>.<random>.tmp``) are removed once the lock is held;
- a resume is refused when the run's fingerprint (options and input files, see
  :mod:`pase.train.fingerprint`) differs from the saved one, unless
  ``--allow-config-change true`` (then the changes are logged);
- SIGTERM / SIGINT finish the current step, save a training state and raise
  :class:`pase.train.signals.Interrupted` (exit code 143 / 130). Under ``torchrun`` (which
  forwards the signal to every rank and kills them 30 s later) the ranks agree on the step
  to stop after through the all-reduce every step already does, then save together; a state
  too slow to write within torchrun's grace period is lost, and the previous one is resumed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import time
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from pase.allocator import allocator_name
from pase.constants import SAMPLE_RATE
from pase.data import AudioSet, ChunkBatch, build_chunk_loader, open_audio_set
from pase.data.loader import ChunkLoader
from pase.distortions import Distortions
from pase.io.atomic import torch_save_atomic, write_json_atomic
from pase.io.lock import OutputLock
from pase.models.frontend import WaveFe, wf_builder
from pase.targets import TargetSet
from pase.targets.stats import TargetStats
from pase.train import fingerprint as fp
from pase.train import state as st
from pase.train.monitor import Monitor
from pase.train.options import to_dict
from pase.train.schedules import lr_factor
from pase.train.signals import Interrupted, StopSignals
from pase.train.warm_start import warm_start
from pase.workers import Embeddings, WorkerSet


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, incompatible checkpoint, ...)."""


class PASEModel(nn.Module):
    """Encoder + workers in one module (what DDP wraps); state_dict keys ``frontend.*`` and
    ``workers.*``."""

    def __init__(self, frontend: WaveFe, workers: WorkerSet) -> None:
        super().__init__()
        self.frontend = frontend
        self.workers = workers

    def forward(
        self,
        x: Tensor,
        targets: Mapping[str, Tensor],
        names: list[str] | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """``x`` ``(3B, 1, L)`` = [chunk; context; random] (or ``(B, 1, L)`` when no worker
        needs pairs) -> unweighted loss per worker."""
        h = self.frontend(x)
        emb = Embeddings.split(h) if self.workers.needs_context else Embeddings(h)
        return self.workers(emb, targets, names=names, generator=generator)


def _optimizer(name: str, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    cls = torch.optim.RAdam if name.lower() == "radam" else torch.optim.Adam
    return cls(params, lr=lr)


PICKLE_SUFFIXES = (".pkl", ".pickle")


def pickled_stats_problem(stats: str | os.PathLike | None, legacy_pickle: bool) -> str | None:
    """What is wrong with ``--stats`` naming a pickle (the original's ``stats.pkl``) without
    ``--legacy-stats-pickle``: the ``.json`` to use instead (None: nothing wrong). Our
    statistics are JSON (pase-make-stats writes ``--out-file X.json``)."""
    if stats is None or legacy_pickle:
        return None
    path = Path(stats)
    if path.suffix not in PICKLE_SUFFIXES:
        return None
    json_path = path.with_suffix(".json")
    msg = f"--stats {path}: statistics are JSON now: "
    if json_path.is_file():
        return msg + f"use --stats {json_path}"
    msg += (
        f"make them with pase-make-stats ... --out-file {json_path}, then pass --stats {json_path}"
    )
    if path.is_file():
        msg += " (or read this original PASE pickle as it is with --legacy-stats-pickle)"
    return msg


def allocator_note(device: torch.device) -> str:
    """One log line: what serves the memory, with advice when CPU training runs on glibc's
    malloc as it comes (:mod:`pase.allocator`)."""
    name = allocator_name()
    if device.type != "cpu" or name != "system malloc":
        return f"allocator: {name}"
    return (
        "allocator: system malloc; CPU training steps are ~1.8x faster with jemalloc "
        "(Debian/Ubuntu: apt install libjemalloc2; pase-train then preloads it) or glibc "
        "tuned (PASE_ALLOCATOR unset: pase-train does it)"
    )


class Trainer:
    """Builds everything from parsed ``pase-train`` options and runs the loop (:meth:`fit`)."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        progress: bool | None = None,
        stop: StopSignals | None = None,
    ) -> None:
        """``stop``: the signal catcher of :func:`train` (None: signals are not handled)."""
        self.args = args
        self.save_path = Path(args.save_path)
        self.stop = stop
        self.notes: list[str] = []  # logged when fit() starts
        self._setup_distributed()
        self.is_main = self.rank == 0
        self.notes.append(allocator_note(self.device))
        problem = pickled_stats_problem(args.stats, args.legacy_stats_pickle)
        if problem is not None:
            raise TrainingError(problem)
        # --- data (checked before anything heavy happens)
        self.train_set = self._open("train")
        self.valid_set = self._open("valid")
        a = args
        self.targets = TargetSet.from_workers_cfg(a.net_cfg)
        self.stats = self._load_stats()
        self.fingerprint = fp.fingerprint(
            a,
            train_files=len(self.train_set),
            valid_files=None if self.valid_set is None else len(self.valid_set),
        )
        # --- model: identical initialisation on every rank
        torch.manual_seed(a.seed)
        frontend = wf_builder(a.fe_cfg)
        workers = WorkerSet.from_config(a.net_cfg, emb_dim=frontend.emb_dim)
        missing = [n for n in self.targets.names if n not in workers.names]
        if missing:
            raise TrainingError(f"targets without a worker: {missing}")
        self.model = PASEModel(frontend, workers).to(self.device)
        self.needs_pairs = workers.needs_context
        self.ddp: nn.Module = self.model
        if self.world_size > 1:
            self.ddp = nn.parallel.DistributedDataParallel(
                self.model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=a.backprop_mode != "base",
            )
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "frontend": _optimizer(a.fe_opt, list(frontend.parameters()), a.fe_lr)
        }
        for name in workers.names:
            self.optimizers[name] = _optimizer(
                a.min_opt, list(workers[name].parameters()), a.min_lr
            )
        self.base_lrs = {k: (a.fe_lr if k == "frontend" else a.min_lr) for k in self.optimizers}
        self.use_amp = bool(a.amp) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        # --- data loaders, distortions, RNGs (different streams per rank)
        self.loader = build_chunk_loader(
            self.train_set, chunk_size=a.chunk_size, batch_size=a.batch_size, seed=a.seed,
            rank=self.rank, world_size=self.world_size, context=a.context,
            with_pairs=self.needs_pairs, random_scale=a.random_scale, num_workers=a.num_workers,
            pin_memory=self.device.type == "cuda",
        )  # fmt: skip
        self.valid_loader: ChunkLoader | None = None
        if self.valid_set is not None:
            self.valid_loader = build_chunk_loader(
                self.valid_set, chunk_size=a.chunk_size, batch_size=a.batch_size, seed=a.seed,
                rank=self.rank, world_size=self.world_size, context=a.context,
                with_pairs=self.needs_pairs, random_scale=a.random_scale, validation=True,
                num_batches=a.valid_batches, num_workers=a.num_workers,
            )  # fmt: skip
        self.distortions = (
            Distortions.from_config(a.dtrans_cfg, seed=a.seed * 1000 + 1 + self.rank)
            if a.dtrans_cfg
            else None
        )
        self.worker_gen = torch.Generator().manual_seed(a.seed * 1000 + 2 + self.rank)
        self.select_gen = torch.Generator().manual_seed(a.seed * 1000 + 3)  # same on all ranks
        torch.manual_seed(a.seed * 1000 + 4 + self.rank)
        self.steps_per_epoch = self.loader.batches_per_epoch
        self.total_steps = a.epoch * self.steps_per_epoch
        if a.max_steps is not None:
            self.total_steps = min(self.total_steps, a.max_steps)
        self.step = 0
        self.last_lrs: dict[str, float] = {}
        self._saved_step: int | None = None
        self._stop_agreed = False
        history = None
        resumed = None if a.no_continue else st.load_latest_state(self.save_path)
        if resumed is not None:
            self._check_fingerprint(resumed)
            history = self._restore(resumed)
            self._saved_step = self.step
            if a.pretrained_ckpt or a.net_ckpt:
                self.notes.append("resuming: --pretrained-ckpt / --net-ckpt are not used")
        elif a.pretrained_ckpt or a.net_ckpt:
            self.notes += warm_start(
                self.model, workers.names, pretrained_ckpt=a.pretrained_ckpt, net_ckpt=a.net_ckpt
            )
        self.monitor = Monitor(
            self.save_path, log_freq=a.log_freq, total_steps=self.total_steps,
            tensorboard=a.tensorboard, enabled=self.is_main, history=history, progress=progress,
            progress_file=a.progress_file,
        )  # fmt: skip
        self.resumed_from = resumed["path"] if resumed else None

    # ------------------------------------------------------------------ setup helpers
    def _setup_distributed(self) -> None:
        a = self.args
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        want_cuda = not a.no_cuda and torch.cuda.is_available()
        if a.device:
            self.device = torch.device(a.device)
            if self.device.type == "cuda" and not torch.cuda.is_available():
                raise TrainingError(f"--device {a.device}: CUDA is not available")
        elif want_cuda:
            self.device = torch.device("cuda", local_rank if self.world_size > 1 else 0)
        else:
            self.device = torch.device("cpu")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.world_size > 1:
            self.notes.append(f"distributed: {dist.get_backend()}, {self.world_size} processes")

    def _open(self, split: str) -> AudioSet | None:
        a = self.args
        if a.data_dir:
            path = a.data_dir if split == "train" else a.valid_data_dir
            if path is None:
                return None
            audio = open_audio_set(data_dir=path)
        else:
            try:
                audio = open_audio_set(data_cfg=a.data_cfg, split=split, data_root=a.data_root)
            except (KeyError, ValueError) as e:
                if split == "train":
                    raise
                if self.rank == 0:
                    print(f"pase-train: no validation data ({e}); validation is skipped")
                return None
            if len(audio) == 0:
                if split == "train":
                    raise TrainingError(f"{a.data_cfg}: the train split is empty")
                return None
        if a.validate_audio:
            audio = audio.validate(skip_bad=a.skip_bad_audio)
        return audio

    def _load_stats(self) -> TargetStats | None:
        a = self.args
        if not a.stats:
            if self.rank == 0:
                print("pase-train: WARNING: no --stats: worker targets are not z-normalised")
            return None
        stats = TargetStats.load(a.stats, legacy_pickle=a.legacy_stats_pickle)
        stats.check(self.targets, where=str(a.stats), net_cfg=a.net_cfg)
        return stats

    # ------------------------------------------------------------------ state
    def _check_fingerprint(self, state: dict[str, Any]) -> None:
        """Refuse to resume ``state`` when the run's options or input files differ (see
        :mod:`pase.train.fingerprint`), unless ``--allow-config-change``; notes the changes."""
        path = state["path"]
        old = state.get("fingerprint")
        if not isinstance(old, dict):
            self.notes.append(
                f"WARNING: {path} was saved without a run fingerprint (by an older pase-train): "
                "the options and input files could not be checked against that run"
            )
            return
        diffs = fp.differences(old, self.fingerprint)
        if not diffs:
            return
        if not self.args.allow_config_change:
            raise TrainingError(fp.refusal(path, diffs))
        self.notes.append(
            f"--allow-config-change: resuming {path} with {len(diffs)} change(s) (saved -> now):"
        )
        self.notes.extend(f"  {line}" for line in fp.change_lines(diffs))

    def _state(self) -> dict[str, Any]:
        rng = {
            "global": st.rng_state(self.device),
            "worker_gen": self.worker_gen.get_state(),
            "select_gen": self.select_gen.get_state(),
            "distortions": self.distortions.state_dict() if self.distortions else None,
        }
        if self.world_size > 1:
            gathered: list[Any] = [None] * self.world_size
            dist.all_gather_object(gathered, _to_cpu(rng))
            rngs = gathered
        else:
            rngs = [rng]
        return {
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "scaler": self.scaler.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": rngs,
            "history": self.monitor.history,
            "options": to_dict(self.args),
            "fingerprint": self.fingerprint,
            "world_size": self.world_size,
        }

    def _restore(self, state: dict[str, Any]) -> dict[str, Any]:
        path = state["path"]
        if state.get("world_size", 1) != self.world_size:
            raise TrainingError(
                f"{path} was saved by {state.get('world_size')} processes, this run has "
                f"{self.world_size}; resume with the same number or pass --no-continue True"
            )
        try:
            self.model.load_state_dict(state["model"])
            for k, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            raise TrainingError(
                f"{path} does not fit this model/workers configuration ({e}); use another "
                "--save-path or --no-continue True"
            ) from e
        self.scaler.load_state_dict(state["scaler"])
        self.loader.load_state_dict(state["loader"])
        rng = state["rng"][self.rank]
        st.set_rng_state(rng["global"], self.device)
        self.worker_gen.set_state(rng["worker_gen"])
        self.select_gen.set_state(rng["select_gen"])
        if self.distortions is not None and rng["distortions"] is not None:
            self.distortions.load_state_dict(rng["distortions"])
        self.step = int(state["step"])
        return state.get("history")

    def save(self) -> None:
        """Save the training state (every rank takes part in gathering RNG states)."""
        state = self._state()
        if self.is_main:
            st.save_state(self.save_path, self.step, state, keep=self.args.max_ckpts)
            self.monitor.save_history()
        self._saved_step = self.step

    def save_frontend(self, epoch: int) -> Path:
        """``FE_e{epoch}.ckpt``: the encoder's raw state_dict, like the published file."""
        path = self.save_path / f"FE_e{epoch}.ckpt"
        if self.is_main:
            torch_save_atomic(self.model.frontend.state_dict(), path)
        return path

    # ------------------------------------------------------------------ steps
    def set_lrs(self) -> dict[str, float]:
        """Learning rates for the next step (schedule of ``--lr-mode``)."""
        a = self.args
        f = lr_factor(
            a.lr_mode, self.step, a.epoch * self.steps_per_epoch, self.steps_per_epoch,
            lrdec_step=a.lrdec_step, lrdecay=a.lrdecay, warmup_steps=a.lr_warmup_steps,
        )  # fmt: skip
        lrs = {}
        for k, opt in self.optimizers.items():
            lr = self.base_lrs[k] * f
            for group in opt.param_groups:
                group["lr"] = lr
            lrs[k] = lr
        return lrs

    def _inputs(
        self,
        batch: ChunkBatch,
        distort: Distortions | None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor], dict[str, float]]:
        times: dict[str, float] = {}
        t = time.perf_counter()
        with torch.no_grad():
            targets = self.targets(batch.chunk)
            if self.stats is not None:
                targets = self.stats.normalize(targets)
        times["targets"] = self._lap(t)
        t = time.perf_counter()
        chunk = batch.chunk if distort is None else distort(batch.chunk, generator=generator)
        times["distort"] = self._lap(t)
        parts = [chunk] + ([batch.chunk_ctxt, batch.chunk_rand] if self.needs_pairs else [])
        return torch.cat(parts, 0).unsqueeze(1), targets, times

    def _lap(self, t: float) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter() - t

    def _selected(self) -> list[str] | None:
        if self.args.backprop_mode == "base":
            return None
        names = self.model.workers.names
        k = math.ceil(len(names) / 2)
        idx = torch.randperm(len(names), generator=self.select_gen)[:k].sort().values
        return [names[i] for i in idx.tolist()]

    def train_step(self, batch: ChunkBatch, wait: float) -> dict[str, float]:
        """One optimizer step on ``batch`` (``wait``: seconds spent waiting for it); returns
        the time split in seconds (data, targets, distort, forward, backward, optim)."""
        self.model.train()
        lrs = self.set_lrs()
        t = time.perf_counter()
        batch = batch.to(self.device, non_blocking=True)
        x, targets, times = self._inputs(batch, self.distortions)
        times = {"data": wait + self._lap(t), **times}
        names = self._selected()
        t = time.perf_counter()
        amp = torch.autocast("cuda", dtype=torch.float16) if self.use_amp else nullcontext()
        with amp:
            losses = self.ddp(x, targets, names, self.worker_gen)
        weights = self.model.workers.loss_weights
        total = sum(weights[k] * v.float() for k, v in losses.items())
        times["forward"] = self._lap(t)
        if not self._all_finite(total):
            self._nonfinite(batch, losses)
            return times
        t = time.perf_counter()
        self.scaler.scale(total).backward()
        times["backward"] = self._lap(t)
        t = time.perf_counter()
        if self.args.grad_clip > 0:
            for opt in self.optimizers.values():
                self.scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
        for opt in self.optimizers.values():
            self.scaler.step(opt)
        self.scaler.update()
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        times["optim"] = self._lap(t)
        self.step += 1
        self.monitor.step(
            self.step,
            {k: float(v.detach()) for k, v in losses.items()},
            float(total.detach()),
            times,
            len(batch) * batch.chunk.shape[-1] / SAMPLE_RATE,
        )
        self.last_lrs = lrs
        return times

    def _all_finite(self, total: Tensor) -> bool:
        """Whether the loss is finite on every rank; under DDP the same all-reduce also
        agrees on whether any rank got a stop signal (``_stop_agreed``)."""
        ok = torch.isfinite(total.detach()).to(torch.float32)
        if self.world_size > 1:
            go_on = ok.new_tensor(0.0 if self.stop is not None and self.stop.requested else 1.0)
            flags = torch.stack([ok, go_on])
            dist.all_reduce(flags, op=dist.ReduceOp.MIN)
            ok = flags[0]
            self._stop_agreed = bool(flags[1].item() < 1)
        return bool(ok.item() > 0)

    def _nonfinite(self, batch: ChunkBatch, losses: dict[str, Tensor]) -> None:
        bad = [k for k, v in losses.items() if not torch.isfinite(v.detach()).all()]
        where = f"step {self.step + 1}: non-finite loss in worker(s) {bad or '(another rank)'}"
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        if self.args.skip_nonfinite:
            self.monitor.line(f"WARNING: {where}; batch skipped\n{batch.describe()}")
            return
        last = st.list_states(self.save_path)
        keep = (
            f"the last good training state is {last[-1][1]}" if last else "no state was saved yet"
        )
        raise TrainingError(
            f"{where}\n{batch.describe()}\n{keep} "
            "(rerun with --skip-nonfinite to skip such batches)"
        )

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> dict[str, float] | None:
        """Mean unweighted loss per worker over the validation batches (all ranks), with the
        same distortions and random choices at every call, so values are comparable."""
        if self.valid_loader is None:
            return None
        self.model.eval()
        seed = self.args.seed * 1000 + 5 + self.rank
        dist_gen = torch.Generator().manual_seed(seed)
        work_gen = torch.Generator().manual_seed(seed + 1)
        sums: dict[str, float] = {}
        n = 0
        for batch in self.valid_loader:
            batch = batch.to(self.device)
            x, targets, _ = self._inputs(batch, self.distortions, dist_gen)
            losses = self.model(x, targets, None, work_gen)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            n += 1
        names = list(sums)
        vec = torch.tensor([sums[k] for k in names] + [n], dtype=torch.float64)
        if self.world_size > 1:
            dist.all_reduce(vec)
        means = {k: float(vec[i] / vec[-1]) for i, k in enumerate(names)}
        weights = self.model.workers.loss_weights
        total = sum(weights[k] * v for k, v in means.items())
        self.monitor.valid(self.step, self.loader.epoch, means, total)
        return means

    # ------------------------------------------------------------------ stopping on signals
    def _stop_requested(self, *, after_step: bool) -> bool:
        """Whether to stop now; all ranks get the same answer (after a step: the flag agreed
        in :meth:`_all_finite`; elsewhere: one all-reduce)."""
        if self.stop is None:
            return False
        if self.world_size == 1:
            return self.stop.requested
        if after_step:
            return self._stop_agreed
        flag = torch.tensor([1.0 if self.stop.requested else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)

    def _interrupt(self) -> None:
        """Save the training state (unless this step's is saved) and raise Interrupted."""
        assert self.stop is not None
        self.monitor.flush_interval(self.step, self.loader.epoch, self.last_lrs)
        with self.stop.saving():
            if self._saved_step != self.step:  # the same answer on every rank
                self.save()
        path = st.state_path(self.save_path, self.step)
        err = Interrupted(self.stop.signum or signal.SIGTERM, self.step, str(path))
        self.monitor.line(str(err))
        raise err

    # ------------------------------------------------------------------ loop
    def fit(self) -> None:
        """Train until ``--epoch`` epochs or ``--max-steps`` steps are done (resuming).

        With a :class:`StopSignals` (``stop=``), a SIGTERM/SIGINT makes it save after the
        current step and raise :class:`Interrupted`."""
        a = self.args
        if self.stop is not None:
            self.stop.armed = True
            if self.stop.requested:  # arrived while building
                raise Interrupted(self.stop.signum or signal.SIGTERM)
        if self.is_main:
            self.save_path.mkdir(parents=True, exist_ok=True)
            if a.no_continue:
                self._remove_earlier_states()
            write_json_atomic(self.save_path / "train_opts.json", to_dict(a))
            _write_yaml(self.save_path / "train.yaml", to_dict(a))
        for note in self.notes:
            self.monitor.line(note)
        if a.warmup is not None:
            self.monitor.line(
                "note: --warmup is the original's unused legacy option; use --lr-warmup-steps"
            )
        if self.resumed_from:
            self.monitor.line(
                f"resuming from {self.resumed_from}: step {self.step}, epoch {self.loader.epoch}"
            )
        else:
            self.monitor.line(
                f"training {a.fe_cfg} with {', '.join(self.model.workers.names)}: "
                f"{len(self.train_set)} files, "
                f"{self.steps_per_epoch} steps/epoch x {a.epoch} epochs, "
                f"batch {a.batch_size} x {a.chunk_size} samples x {self.world_size} process(es) "
                f"on {self.device}"
            )
            self.validate()
        try:
            if self._stop_requested(after_step=False):
                self._interrupt()
            while self.loader.epoch < a.epoch and self.step < self.total_steps:
                epoch = self.loader.epoch
                t_wait = time.perf_counter()
                stopped = False
                for batch in self._batches():
                    wait = time.perf_counter() - t_wait
                    self.train_step(batch, wait)
                    if self.step % a.log_freq == 0:
                        self.monitor.flush_interval(self.step, epoch, self.last_lrs)
                    if self.step >= self.total_steps:
                        stopped = True
                        break
                    if self._stop_requested(after_step=True):
                        self._interrupt()
                    if self.step % a.ckpt_interval == 0:
                        self.save()
                    t_wait = time.perf_counter()
                self.monitor.flush_interval(self.step, epoch, self.last_lrs)
                self.validate()
                self.save_frontend(epoch)
                self.save()
                if stopped:
                    break
                if self._stop_requested(after_step=False):
                    self._interrupt()
        finally:
            self.monitor.close()
            if self.world_size > 1 and dist.is_initialized():
                dist.barrier()

    def _batches(self) -> Any:
        """The loader's batches; a loader failure after a stop signal (a Ctrl-C also stops
        DataLoader workers) becomes the graceful stop, at the last completed step."""
        it = iter(self.loader)
        while True:
            try:
                batch = next(it)
            except StopIteration:
                return
            except Exception:
                if self.stop is not None and self.stop.requested and self.world_size == 1:
                    self._interrupt()
                raise
            yield batch

    def _remove_earlier_states(self) -> None:
        """``--no-continue``: delete the training states of an earlier run in save_path (else
        they would outrank this run's states in rotation and on the next resume)."""
        old = st.list_states(self.save_path)
        for _, path in old:
            path.unlink(missing_ok=True)
        if old:
            self.notes.append(
                f"--no-continue: removed {len(old)} training state(s) of an earlier run "
                f"({', '.join(p.name for _, p in old)})"
            )


#: temporary files of pase.io.atomic.atomic_open: ".<final name>.<random>.tmp"
TEMP_FILE = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")


def remove_stale_temp_files(folder: str | os.PathLike) -> list[str]:
    """Delete the atomic-write temporary files (``.<name>.<random>.tmp``) directly in
    ``folder`` (a killed writer leaves them); call only while holding the folder's lock.
    Returns the names removed."""
    removed: list[str] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in sorted(folder.iterdir()):
        if TEMP_FILE.match(p.name) and p.is_file() and not p.is_symlink():
            try:
                p.unlink()
            except FileNotFoundError:
                continue
            removed.append(p.name)
    return removed


def train(args: argparse.Namespace, *, progress: bool | None = None) -> Trainer:
    """Run ``pase-train``: lock ``--save-path`` (rank 0), remove stale temporary files, build
    the :class:`Trainer` and fit, stopping gracefully on SIGTERM/SIGINT.

    Raises:
        pase.io.lock.LockedError: another process writes ``--save-path``.
        Interrupted: a stop signal arrived (a state was saved when training had started).
    """
    rank = int(os.environ.get("RANK", "0"))
    lock = OutputLock(args.save_path, "pase-train") if rank == 0 else nullcontext()
    with StopSignals() as stop, lock:
        notes = []
        if rank == 0:
            removed = remove_stale_temp_files(args.save_path)
            if removed:
                notes.append(
                    f"removed {len(removed)} temporary file(s) left by an interrupted run: "
                    + ", ".join(removed)
                )
        trainer = Trainer(args, progress=progress, stop=stop)
        trainer.notes[:0] = notes
        trainer.fit()
    return trainer


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    return obj


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    import yaml

    from pase.io.atomic import write_text_atomic

    write_text_atomic(path, yaml.safe_dump(data, sort_keys=True))
