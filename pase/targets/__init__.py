"""Worker targets for PASE / PASE+ self-supervised training, batched in torch.

- :mod:`pase.targets.functional`: pure functions ``(B, L)`` -> ``(B, C, T)`` (LPS, MFCC,
  log mel filter banks, gammatone, energy, zero-crossing rate, deltas, the contextualised
  layout of ContextualizedLoss);
- :mod:`pase.targets.f0`: batched YIN F0 tracker and log-F0 interpolation;
- :mod:`pase.targets.prosody`: the 4-row prosody target;
- :mod:`pase.targets.base`: the target kind base classes (:class:`Target`,
  :class:`FrameTarget`) and their registry (:func:`register_target`);
- :mod:`pase.targets.kinds`: the built-in kinds, one module each (lps, mfcc, fbank, gtn,
  prosody, waveform);
- :mod:`pase.targets.target_set`: :class:`TargetSet` built from a workers config;
- :mod:`pase.targets.stats`: normalisation statistics and z-normalisation.
"""

from pase.targets.base import TARGET_KINDS, FrameTarget, Target, register_target
from pase.targets.target_set import TargetSet

__all__ = ["TARGET_KINDS", "FrameTarget", "Target", "TargetSet", "register_target"]
