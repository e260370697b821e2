"""The built-in distortion kinds, one registered class each (importing this registers them).

========== ===== ============================================ =========================
kind       order class                                        module
========== ===== ============================================ =========================
reverb     10    :class:`~.filters.Reverb`                    :mod:`.filters`
overlap    20    :class:`~.mixing.OverlapSpeech`              :mod:`.mixing`
noises     30    :class:`~.mixing.AdditiveNoise`              :mod:`.mixing`
speed      40    :class:`~.signal.SpeedChange`                :mod:`.signal`
resample   50    :class:`~.signal.Resample`                   :mod:`.signal`
clip       60    :class:`~.signal.Clipping`                   :mod:`.signal`
codec2     70    :class:`~.signal.Codec2`                     :mod:`.signal`
chop       80    :class:`~.chop.Chopper`                      :mod:`.chop`
bandrop    90    :class:`~.filters.BandDrop`                  :mod:`.filters`
downsample 100   :class:`~.filters.NarrowBand`                :mod:`.filters`
gain       110   :class:`~.signal.Gain`                       :mod:`.signal`
========== ===== ============================================ =========================
"""

from pase.distortions.kinds.chop import Chopper
from pase.distortions.kinds.filters import MAX_IR_LEN, BandDrop, FirFilter, NarrowBand, Reverb
from pase.distortions.kinds.mixing import AdditiveNoise, OverlapSpeech
from pase.distortions.kinds.signal import Clipping, Codec2, Gain, Resample, SpeedChange

__all__ = [
    "MAX_IR_LEN",
    "AdditiveNoise",
    "BandDrop",
    "Chopper",
    "Clipping",
    "Codec2",
    "FirFilter",
    "Gain",
    "NarrowBand",
    "OverlapSpeech",
    "Resample",
    "Reverb",
    "SpeedChange",
]
