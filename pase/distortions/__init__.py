"""On-the-fly distortions of PASE+ (reverb, noise, overlapping speech, clipping, chopping,
band-drop, narrow-band, speed, resampling, optional codec2), batched in torch.

Quick start::

    from pase.distortions import Distortions
    d = Distortions.from_config("conf/distortions/pase+.cfg", seed=1)
    noisy = d(clean)            # clean: (B, L) float at 16 kHz -> (B, L)

Pure functions live in :mod:`pase.distortions.functional`, the config keys in
:mod:`pase.distortions.config`; see ``docs/distortions.md``.
"""

from pase.distortions.codec2 import Codec2UnavailableError
from pase.distortions.config import DistortionConfig, DistortionConfigError
from pase.distortions.distortions import ORDER, Distortions, build_transforms

__all__ = [
    "ORDER",
    "Codec2UnavailableError",
    "DistortionConfig",
    "DistortionConfigError",
    "Distortions",
    "build_transforms",
]
