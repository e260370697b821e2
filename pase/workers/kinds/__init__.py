"""The built-in worker kinds, one module each; importing this package registers them.

=======  ==================================  ===========================================
kind     selected by                         module
=======  ==================================  ===========================================
mlp      the default ``type``                :mod:`pase.workers.kinds.mlp`
decoder  ``"type": "decoder"``               :mod:`pase.workers.kinds.decoder`
lim      ``mi`` in ``"cls"``                 :mod:`pase.workers.kinds.infomax`
gim      ``cmi`` in ``"cls"``                :mod:`pase.workers.kinds.infomax`
spc      ``spc`` in ``"cls"``                :mod:`pase.workers.kinds.spc`
gap      ``gap`` in ``"cls"``                :mod:`pase.workers.kinds.gap`
=======  ==================================  ===========================================

An explicit ``type`` selects any kind in either list.
"""

from pase.workers.kinds.decoder import DecoderWorker
from pase.workers.kinds.gap import GapWorker
from pase.workers.kinds.infomax import GIMWorker, InfoMaxWorker, LIMWorker
from pase.workers.kinds.mlp import RegressionWorker
from pase.workers.kinds.spc import SPCWorker

__all__ = [
    "DecoderWorker",
    "GIMWorker",
    "GapWorker",
    "InfoMaxWorker",
    "LIMWorker",
    "RegressionWorker",
    "SPCWorker",
]
