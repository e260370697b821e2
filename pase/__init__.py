"""PASE / PASE+: problem-agnostic speech encoders.

Quick start::

    from pase.models.frontend import wf_builder
    pase = wf_builder("PASE+").eval()
    pase.load_pretrained("FE_e199.ckpt", load_last=True, verbose=True)
    y = pase(torch.randn(1, 1, 100000))   # (1, 256, 625): 256-dim frames at 100 Hz
"""

from pase.version import __version__

__all__ = ["__version__"]
