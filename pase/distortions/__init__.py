"""On-the-fly distortions of PASE+ (reverb, noise, overlapping speech, clipping, chopping,
band-drop, narrow-band, speed, resampling, optional codec2), batched in torch.

Quick start::

    from pase.distortions import Distortions
    d = Distortions.from_config("conf/distortions/pase+.cfg", seed=1)
    noisy = d(clean)            # clean: (B, L) float at 16 kHz -> (B, L)

Each distortion kind is one class registered by name (:func:`register_distortion`, see
:mod:`pase.distortions.registry`; the built-in ones are in :mod:`pase.distortions.kinds`); it
declares its config keys (:mod:`pase.distortions.options`), how it is built and how it applies.
Pure functions live in :mod:`pase.distortions.functional`; see ``docs/distortions.md``.
"""

from pase.distortions import kinds as _kinds  # noqa: F401  (registers the built-in kinds)
from pase.distortions.codec2 import Codec2UnavailableError
from pase.distortions.config import DistortionConfig, DistortionConfigError
from pase.distortions.distortions import Distortions, build_transforms
from pase.distortions.options import DistortionOptions, option
from pase.distortions.registry import (
    BuildContext,
    Distortion,
    distortion_kinds,
    get_distortion_kind,
    register_distortion,
    unregister_distortion,
)

__all__ = [
    "BuildContext",
    "Codec2UnavailableError",
    "Distortion",
    "DistortionConfig",
    "DistortionConfigError",
    "DistortionOptions",
    "Distortions",
    "build_transforms",
    "distortion_kinds",
    "get_distortion_kind",
    "option",
    "register_distortion",
    "unregister_distortion",
]
