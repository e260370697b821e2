"""The hybrid acoustic model: the original TIMIT MLP (``cfg/MLP_PASE.cfg``) in PyTorch.

Input: features of frame t with +-``left``/``right`` context frames, spliced *per utterance*
(edge frames repeated, Kaldi ``splice-feats``), not across the concatenated corpus as the
original's circular roll did. Layers: ``Linear -> [BatchNorm] -> act -> Dropout`` per hidden
layer, a final Linear + LogSoftmax over the pdfs. Linear weights uniform in
``+-sqrt(0.01 / (fan_in + fan_out))``, zero biases, BatchNorm momentum 0.05 (the original's).

Training (:func:`train`): SGD without momentum, NLL loss, frames shuffled every epoch, the dev
frame error after every epoch; the best-dev model is checkpointed (``best.pt``) and the learning
rate is multiplied by ``halving_factor`` whenever the relative dev-error improvement over the
previous epoch is below ``improvement_threshold`` (0.25%). ``last.pt`` allows resuming.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pase.io.atomic import torch_save_atomic, write_json_atomic

log = logging.getLogger(__name__)


class MLPConfigError(ValueError):
    """A malformed acoustic-model config (the message names the file and key)."""


def _split(value, n: int | None = None) -> list[str]:
    if isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        items = [v.strip() for v in str(value).split(",")]
    return items


def _bool(v) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


@dataclass
class MLPConfig:
    """Architecture and training schedule. Defaults are the original ``MLP_PASE.cfg``.

    ``hidden``/``dropout``/``batchnorm``/``layernorm`` have one entry per hidden layer; the
    output layer size is the number of pdfs of the alignments (the original's last ``dnn_lay``
    entry, 1973 for its Kaldi tree, is replaced by it).
    """

    hidden: list[int] = field(default_factory=lambda: [1024] * 5)
    dropout: list[float] = field(default_factory=lambda: [0.15] * 5)
    batchnorm: list[bool] = field(default_factory=lambda: [True] * 5)
    layernorm: list[bool] = field(default_factory=lambda: [False] * 5)
    input_batchnorm: bool = False
    input_layernorm: bool = False
    activation: str = "relu"
    bn_momentum: float = 0.05
    left: int = 8
    right: int = 8
    epochs: int = 24
    batch_size: int = 128
    lr: float = 0.036
    halving_factor: float = 0.5
    improvement_threshold: float = 0.0025
    seed: int = 1234
    avg_spk: bool = True
    num_outputs_cfg: int | None = None  # the original's last dnn_lay value, informational

    def __post_init__(self) -> None:
        n = len(self.hidden)
        for name in ("dropout", "batchnorm", "layernorm"):
            if len(getattr(self, name)) != n:
                raise MLPConfigError(
                    f"{name} has {len(getattr(self, name))} entries, hidden has {n}"
                )
        if self.activation not in _ACTS:
            raise MLPConfigError(f"unknown activation {self.activation!r}; known: {sorted(_ACTS)}")
        if self.left < 0 or self.right < 0:
            raise MLPConfigError("context sizes must be >= 0")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise MLPConfigError("epochs, batch_size and lr must be positive")

    @property
    def context(self) -> int:
        """Frames per input vector: left + 1 + right."""
        return self.left + 1 + self.right

    @classmethod
    def from_original(cls, raw: dict) -> MLPConfig:
        """From the original JSON ``MLP_PASE.cfg`` (all values strings)."""
        lay = [int(x) for x in _split(raw["dnn_lay"])]
        drop = [float(x) for x in _split(raw["dnn_drop"])]
        bn = [_bool(x) for x in _split(raw["dnn_use_batchnorm"])]
        ln = [_bool(x) for x in _split(raw.get("dnn_use_laynorm", ",".join(["False"] * len(lay))))]
        acts = _split(raw.get("dnn_act", ",".join(["relu"] * (len(lay) - 1) + ["softmax"])))
        hidden_acts = set(acts[:-1])
        if len(hidden_acts) != 1:
            raise MLPConfigError(f"mixed hidden activations {acts} are not supported")
        if acts[-1] not in ("softmax", "log_softmax", "linear"):
            raise MLPConfigError(f"output activation {acts[-1]!r}: expected softmax")
        return cls(
            hidden=lay[:-1],
            dropout=drop[:-1],
            batchnorm=bn[:-1],
            layernorm=ln[:-1],
            input_batchnorm=_bool(raw.get("dnn_use_batchnorm_inp", "False")),
            input_layernorm=_bool(raw.get("dnn_use_laynorm_inp", "False")),
            activation=acts[0],
            left=int(raw.get("left", 8)),
            right=int(raw.get("right", 8)),
            epochs=int(raw.get("N_epochs", 24)),
            batch_size=int(raw.get("batch_size", 128)),
            lr=float(raw.get("lr", 0.036)),
            halving_factor=float(raw.get("halving_factor", 0.5)),
            seed=int(raw.get("seed", 1234)),
            avg_spk=_bool(raw.get("avg_spk", "True")),
            num_outputs_cfg=lay[-1],
        )

    @classmethod
    def from_dict(cls, raw: dict) -> MLPConfig:
        """From our YAML keys, or the original cfg keys (detected by ``dnn_lay``)."""
        if "dnn_lay" in raw:
            return cls.from_original(raw)
        known = {f.name for f in fields(cls)}
        bad = sorted(set(raw) - known)
        if bad:
            raise MLPConfigError(f"unknown key(s) {bad}; known: {sorted(known)}")
        raw = dict(raw)
        n = len(raw.get("hidden", [1024] * 5))
        for k, default in (("dropout", 0.15), ("batchnorm", True), ("layernorm", False)):
            v = raw.get(k)
            if v is None:
                raw[k] = [default] * n
            elif not isinstance(v, list):
                raw[k] = [v] * n
        raw["batchnorm"] = [_bool(x) for x in raw["batchnorm"]]
        raw["layernorm"] = [_bool(x) for x in raw["layernorm"]]
        return cls(**raw)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> MLPConfig:
        """Read a YAML (ours) or JSON (the original ``MLP_PASE.cfg``) file."""
        import yaml

        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML
        except (OSError, yaml.YAMLError) as e:
            raise MLPConfigError(f"{path}: cannot read acoustic-model config ({e})") from e
        if not isinstance(raw, dict):
            raise MLPConfigError(f"{path}: expected a mapping")
        try:
            return cls.from_dict(raw)
        except (KeyError, ValueError, TypeError) as e:
            raise MLPConfigError(f"{path}: {e}") from e


_ACTS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
}


class HybridMLP(nn.Module):
    """(B, context * D) spliced features -> (B, num_pdfs) log-posteriors."""

    def __init__(self, in_dim: int, num_pdfs: int, cfg: MLPConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if cfg.input_layernorm:
            layers.append(nn.LayerNorm(in_dim))
        if cfg.input_batchnorm:
            layers.append(nn.BatchNorm1d(in_dim, momentum=cfg.bn_momentum))
        d = in_dim
        for h, p, bn, ln in zip(cfg.hidden, cfg.dropout, cfg.batchnorm, cfg.layernorm):
            layers.append(nn.Linear(d, h))
            if ln:
                layers.append(nn.LayerNorm(h))
            if bn:
                layers.append(nn.BatchNorm1d(h, momentum=cfg.bn_momentum))
            layers.append(_ACTS[cfg.activation]())
            if p > 0:
                layers.append(nn.Dropout(p))
            d = h
        layers.append(nn.Linear(d, num_pdfs))
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.num_pdfs = num_pdfs
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The original init: U(+-sqrt(0.01 / (fan_in + fan_out))), zero biases."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                bound = math.sqrt(0.01 / (m.in_features + m.out_features))
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, num_pdfs) log-probabilities."""
        return torch.log_softmax(self.net(x), dim=-1)


def splice(feats: np.ndarray | torch.Tensor, left: int, right: int) -> torch.Tensor:
    """(T, D) -> (T, (left + 1 + right) * D), edge frames repeated (one utterance).

    Column block k holds frame ``t - left + k`` (clamped to 0..T-1).
    """
    x = torch.as_tensor(feats, dtype=torch.float32)
    t = x.shape[0]
    idx = torch.arange(t)[:, None] + torch.arange(-left, right + 1)[None, :]
    return x[idx.clamp_(0, t - 1)].reshape(t, -1)


class FrameTable:
    """Frames of many utterances for frame-level training, spliced on the fly.

    Attributes:
        feats: (N, D) float32 tensor, all utterances concatenated.
        labels: (N,) int64 pdf targets (or None).
        start, end: (N,) first and one-past-last global frame of each frame's utterance.
    """

    def __init__(
        self,
        feats: dict[str, np.ndarray],
        labels: dict[str, np.ndarray] | None = None,
        *,
        max_trim: int = 3,
    ) -> None:
        xs, ys, starts, ends, self.utts = [], [], [], [], []
        pos = 0
        skipped = []
        for utt in sorted(feats):
            x = np.asarray(feats[utt], dtype=np.float32)
            if labels is not None:
                if utt not in labels:
                    skipped.append(utt)
                    continue
                y = np.asarray(labels[utt], dtype=np.int64)
                x = match_length(x, y.shape[0], utt, max_trim)
                ys.append(y)
            n = x.shape[0]
            xs.append(x)
            starts.append(np.full(n, pos, dtype=np.int64))
            ends.append(np.full(n, pos + n, dtype=np.int64))
            self.utts.append(utt)
            pos += n
        if skipped:
            log.warning(
                "%d utterance(s) without alignment skipped: %s",
                len(skipped),
                " ".join(skipped[:20]),
            )
        if not xs:
            raise ValueError("no utterance with both features and labels")
        self.feats = torch.from_numpy(np.concatenate(xs))
        self.labels = torch.from_numpy(np.concatenate(ys)) if labels is not None else None
        self.start = torch.from_numpy(np.concatenate(starts))
        self.end = torch.from_numpy(np.concatenate(ends))

    def __len__(self) -> int:
        return int(self.feats.shape[0])

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.feats.shape[1])

    def batch(self, idx: torch.Tensor, left: int, right: int) -> torch.Tensor:
        """(B,) global frame indices -> (B, (left + 1 + right) * D) spliced inputs."""
        off = torch.arange(-left, right + 1)
        g = idx[:, None] + off[None, :]
        g = torch.maximum(g, self.start[idx][:, None])
        g = torch.minimum(g, self.end[idx][:, None] - 1)
        return self.feats[g].reshape(idx.shape[0], -1)


def match_length(x: np.ndarray, num_labels: int, utt: str, max_trim: int = 3) -> np.ndarray:
    """Trim features to the alignment length.

    PASE gives ``ceil(L/160)``-ish frames, Kaldi-style MFCC alignments ``1 + (L - 400) // 160``:
    up to ``max_trim`` extra feature frames are dropped at the end (the original trimmed too);
    more, or fewer feature frames than labels, is an error naming the utterance.
    """
    n = x.shape[0]
    if n == num_labels:
        return x
    if num_labels < n <= num_labels + max_trim:
        return x[:num_labels]
    raise ValueError(
        f"utterance {utt!r}: {n} feature frames but {num_labels} aligned frames "
        f"(at most {max_trim} extra feature frames can be trimmed)"
    )


def log_priors(
    labels: dict[str, np.ndarray] | np.ndarray, num_pdfs: int, floor: float = 1e-10
) -> np.ndarray:
    """(num_pdfs,) log prior of each pdf from training label counts (Kaldi nnet1 ``PdfPrior``).

    Priors below ``floor`` are floored; pdfs never seen get log-prior ``+1e5`` so that their
    scaled likelihood ``log p(pdf|x) - log p(pdf)`` effectively removes them from decoding.
    """
    if isinstance(labels, dict):
        counts = np.zeros(num_pdfs, dtype=np.float64)
        for y in labels.values():
            counts += np.bincount(np.asarray(y, dtype=np.int64), minlength=num_pdfs)[:num_pdfs]
    else:
        counts = np.asarray(labels, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("no training labels to estimate priors from")
    pri = np.maximum(counts / total, floor)
    out = np.log(pri)
    out[counts == 0] = 1e5
    return out


def next_lr(lr: float, prev_err: float, err: float, cfg: MLPConfig) -> float:
    """The original's schedule: multiply by ``halving_factor`` when the relative dev-error
    improvement ``(prev - err) / prev`` is below ``improvement_threshold``."""
    rel = (prev_err - err) / prev_err if prev_err > 0 else 0.0
    return lr * cfg.halving_factor if rel < cfg.improvement_threshold else lr


def frame_error(
    model: HybridMLP,
    table: FrameTable,
    cfg: MLPConfig,
    device: torch.device,
    batch_size: int = 4096,
) -> tuple[float, float]:
    """Dev frame error rate and mean NLL (eval mode)."""
    model.eval()
    wrong, nll, n = 0, 0.0, len(table)
    with torch.no_grad():
        for b in range(0, n, batch_size):
            idx = torch.arange(b, min(b + batch_size, n))
            x = table.batch(idx, cfg.left, cfg.right).to(device)
            y = table.labels[idx].to(device)
            lp = model(x)
            nll += float(nn.functional.nll_loss(lp, y, reduction="sum"))
            wrong += int((lp.argmax(-1) != y).sum())
    return wrong / max(n, 1), nll / max(n, 1)


def _checkpoint(model: HybridMLP, cfg: MLPConfig, extra: dict) -> dict:
    return {
        "state_dict": model.state_dict(),
        "in_dim": model.in_dim,
        "num_pdfs": model.num_pdfs,
        "config": json.dumps(asdict(cfg)),
        **extra,
    }


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[HybridMLP, MLPConfig]:
    """Load a checkpoint written by :func:`train` (``weights_only`` loading)."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
        cfg = MLPConfig.from_dict(json.loads(ck["config"]))
        model = HybridMLP(int(ck["in_dim"]), int(ck["num_pdfs"]), cfg)
        model.load_state_dict(ck["state_dict"])
    except Exception as e:  # torch raises many kinds (pickle, struct, zip, key errors)
        raise MLPConfigError(f"{path}: not an acoustic-model checkpoint of pase ({e})") from e
    return model.to(device).eval(), cfg


def train(
    train_table: FrameTable,
    dev_table: FrameTable,
    num_pdfs: int,
    cfg: MLPConfig,
    out_dir: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    max_epochs: int | None = None,
    resume: bool = True,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train the MLP; writes ``best.pt``, ``last.pt`` and ``history.json`` in ``out_dir``.

    Returns the per-epoch history (train loss, dev frame error, lr, seconds).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    model = HybridMLP(train_table.dim * cfg.context, num_pdfs, cfg).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    lr = cfg.lr
    best_err = math.inf
    start_epoch = 0
    last = out / "last.pt"
    if resume and last.is_file():
        ck = torch.load(last, map_location=device, weights_only=True)
        if int(ck["in_dim"]) == model.in_dim and int(ck["num_pdfs"]) == num_pdfs:
            model.load_state_dict(ck["state_dict"])
            opt.load_state_dict(ck["optimizer"])
            gen.set_state(ck["rng"])
            history = json.loads(ck["history"])
            lr, best_err, start_epoch = float(ck["lr"]), float(ck["best_err"]), int(ck["epoch"])
            log.info("resuming from %s at epoch %d", last, start_epoch)
    epochs = cfg.epochs if max_epochs is None else min(cfg.epochs, max_epochs)
    n = len(train_table)
    for epoch in range(start_epoch, epochs):
        t0 = time.time()
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr
        perm = torch.randperm(n, generator=gen)
        tot, seen = 0.0, 0
        for b in range(0, n, cfg.batch_size):
            idx = perm[b : b + cfg.batch_size]
            if idx.numel() < 2 and any(cfg.batchnorm):
                continue  # BatchNorm needs two frames
            x = train_table.batch(idx, cfg.left, cfg.right).to(device)
            y = train_table.labels[idx].to(device)
            loss = nn.functional.nll_loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * idx.numel()
            seen += idx.numel()
        dev_err, dev_nll = frame_error(model, dev_table, cfg, device)
        entry = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_nll": tot / max(seen, 1),
            "dev_frame_err": dev_err,
            "dev_nll": dev_nll,
            "seconds": time.time() - t0,
        }
        if dev_err < best_err:
            best_err = dev_err
            torch_save_atomic(_checkpoint(model, cfg, {"epoch": epoch + 1}), out / "best.pt")
            entry["saved"] = True
        if history:
            lr = next_lr(lr, history[-1]["dev_frame_err"], dev_err, cfg)
        history.append(entry)
        log.info("epoch %d: %s", epoch + 1, entry)
        if progress:
            progress(entry)
        torch_save_atomic(
            _checkpoint(
                model,
                cfg,
                {
                    "optimizer": opt.state_dict(),
                    "rng": gen.get_state(),
                    "history": json.dumps(history),
                    "lr": lr,
                    "best_err": best_err,
                    "epoch": epoch + 1,
                },
            ),
            last,
        )
        write_json_atomic(out / "history.json", history)
    return history


def log_likelihoods(
    model: HybridMLP,
    feats: np.ndarray,
    log_prior: np.ndarray,
    cfg: MLPConfig,
    device: str | torch.device = "cpu",
    chunk: int = 8192,
) -> np.ndarray:
    """(T, D) features of one utterance -> (T, num_pdfs) ``log p(pdf|x) - log p(pdf)``."""
    device = torch.device(device)
    model.eval()
    x = splice(feats, cfg.left, cfg.right)
    if x.shape[1] != model.in_dim:
        raise ValueError(
            f"features have {feats.shape[1]} dims ({x.shape[1]} spliced), the model expects "
            f"{model.in_dim // cfg.context}"
        )
    outs = []
    with torch.no_grad():
        for b in range(0, x.shape[0], chunk):
            outs.append(model(x[b : b + chunk].to(device)).cpu())
    lp = torch.cat(outs).numpy().astype(np.float64)
    return (lp - log_prior[None, :]).astype(np.float32)
