"""The distortion chain of PASE+: config-driven, seeded, applied to a whole batch at once.

``Distortions.from_config(cfg)`` builds the active distortion kinds of a config (see
:mod:`pase.distortions.registry`) in their declared order (the original's for the built-in
kinds); ``d(x)`` draws, for every transform and every example independently, whether it
applies (probability ``<name>_p``), then applies it to the selected examples only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from pase.distortions.config import DistortionConfig
from pase.distortions.registry import BuildContext, Distortion, distortion_kinds

Tensor = torch.Tensor


def build_transforms(
    cfg: DistortionConfig,
    *,
    device: torch.device | str | None = None,
    base_dir: str | os.PathLike | None = None,
) -> list[Distortion]:
    """The active distortions of ``cfg``, one per registered kind in order of application,
    with their data loaded and checked.

    Raises:
        DistortionConfigError: a missing/unreadable file, an empty directory or list, a wrong
            sample rate (the message names the config key and the file).
        pase.distortions.codec2.Codec2UnavailableError: ``codec2_p > 0`` without pycodec2.
    """
    ctx = BuildContext(cfg, device=device, base_dir=base_dir)
    return [ctx.distortion(kind.name) for kind in distortion_kinds() if cfg.active(kind.name)]


def _new_seed() -> int:
    """A seed drawn from torch's global RNG (so ``torch.manual_seed`` makes it reproducible)."""
    return int(torch.randint(0, 2**62, (1,)).item())


class Distortions:
    """A seeded chain of distortions applied independently per example, in a fixed order.

    Args:
        transforms: the transforms, applied in this order.
        seed: seed of the internal (CPU) random generator; ``None`` draws one from torch's
            global generator.
        config: the validated config the transforms were built from (informational).

    Call ``d(x)`` with ``x`` ``(B, L)`` (or ``(B, 1, L)``) float waveforms: returns the
    distorted batch with the same shape, dtype and device. ``d(x, generator=g)`` draws from
    ``g`` (a CPU ``torch.Generator``) instead of the internal generator.
    """

    def __init__(
        self,
        transforms: Sequence[Distortion],
        seed: int | None = None,
        config: DistortionConfig | None = None,
    ) -> None:
        self.transforms = list(transforms)
        self.config = config
        self.seed = _new_seed() if seed is None else int(seed)
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(self.seed)

    @classmethod
    def from_config(
        cls,
        cfg: str | os.PathLike | Mapping[str, Any] | DistortionConfig,
        seed: int | None = None,
        device: torch.device | str | None = None,
        base_dir: str | os.PathLike | None = None,
    ) -> Distortions:
        """Build the chain from a distortions config (JSON file path, dict, or parsed config).

        Args:
            cfg: original ``--dtrans_cfg`` keys (see ``docs/distortions.md``).
            seed: generator seed (``None``: drawn from torch's global generator).
            device: where in-memory impulse-response / filter / noise banks are kept (default
                CPU; the batch itself may live anywhere).
            base_dir: folder against which relative paths in the config are resolved (default:
                the current directory, like the original).

        Raises:
            DistortionConfigError: any invalid key, value, path or file, at construction.
        """
        conf = cfg if isinstance(cfg, DistortionConfig) else DistortionConfig.load(cfg)
        return cls(build_transforms(conf, device=device, base_dir=base_dir), seed, conf)

    # ------------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Names of the transforms in order of application."""
        return [t.name for t in self.transforms]

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        body = "".join(f"\n  {t!r}" for t in self.transforms)
        return f"Distortions(seed={self.seed}{body}\n)"

    def state_dict(self) -> dict[str, Any]:
        """The random generator state (a uint8 tensor) and seed, to checkpoint and resume."""
        return {"seed": self.seed, "rng_state": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the next call then repeats the saved run exactly)."""
        if "rng_state" not in state:
            raise ValueError("distortions state_dict has no 'rng_state' entry")
        rng = state["rng_state"]
        if not isinstance(rng, Tensor) or rng.dtype != torch.uint8:
            raise ValueError("distortions state_dict 'rng_state' must be a uint8 tensor")
        self.generator.set_state(rng.clone())
        self.seed = int(state.get("seed", self.seed))

    # ------------------------------------------------------------------------------------------
    def __call__(
        self,
        x: Tensor,
        generator: torch.Generator | None = None,
        return_applied: bool = False,
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Distort a batch.

        Args:
            x: ``(B, L)`` or ``(B, 1, L)`` floating-point waveforms (16 kHz), any device.
            generator: a CPU generator to draw from instead of the internal one.
            return_applied: also return ``{name: bool tensor (B,)}``, which transforms were
                applied to which example.

        Returns:
            The distorted batch (same shape, dtype and device), and the applied masks when
            asked.
        """
        if not isinstance(x, Tensor):
            raise TypeError(f"distortions expect a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise ValueError(f"distortions expect floating-point waveforms, got {x.dtype}")
        if x.dim() == 3 and x.shape[1] == 1:
            flat = x[:, 0]
        elif x.dim() == 2:
            flat = x
        else:
            raise ValueError(
                f"distortions expect (B, L) or (B, 1, L) waveforms, got {tuple(x.shape)}"
            )
        g = self.generator if generator is None else generator
        if g.device.type != "cpu":
            raise ValueError("distortions draw from a CPU torch.Generator")
        work_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        B = flat.shape[0]
        applied: dict[str, Tensor] = {}
        with torch.no_grad():
            work = flat.detach().to(work_dtype).clone()
            for t in self.transforms:
                sel = torch.rand(B, generator=g) < t.p
                applied[t.name] = sel
                if bool(sel.any()):
                    idx = sel.nonzero().squeeze(1).to(work.device)
                    work[idx] = t.apply(work[idx], g).to(work_dtype)
        out = work.to(x.dtype).reshape(x.shape)
        return (out, applied) if return_applied else out
