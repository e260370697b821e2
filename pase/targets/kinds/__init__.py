"""The built-in target kinds, one module each; importing this package registers them.

==========  ===========================================  ====================================
kind        worker names                                 module
==========  ===========================================  ====================================
lps         ``lps``, ``lps_<suffix>``                    :mod:`pase.targets.kinds.lps`
mfcc        ``mfcc``, ``mfcc_<suffix>``                  :mod:`pase.targets.kinds.mfcc`
fbank       ``fbank``, ``fbank_<suffix>``                :mod:`pase.targets.kinds.fbank`
gtn         ``gtn``, ``gtn_<suffix>``                    :mod:`pase.targets.kinds.gammatone`
prosody     ``prosody``, ``prosody_<suffix>``            :mod:`pase.targets.kinds.prosody`
waveform    ``cchunk``                                   :mod:`pase.targets.kinds.waveform`
==========  ===========================================  ====================================
"""

from pase.targets.kinds.fbank import FBank
from pase.targets.kinds.gammatone import Gammatone
from pase.targets.kinds.lps import LPS
from pase.targets.kinds.mfcc import MFCC
from pase.targets.kinds.prosody import Prosody
from pase.targets.kinds.waveform import Waveform

__all__ = ["LPS", "MFCC", "FBank", "Gammatone", "Prosody", "Waveform"]
