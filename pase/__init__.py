"""PASE / PASE+: problem-agnostic speech encoders.

Quick start::

    from pase.models.frontend import wf_builder
    pase = wf_builder("PASE+").eval()
    pase.load_pretrained("FE_e199.ckpt", load_last=True, verbose=True)
    y = pase(torch.randn(1, 1, 100000))   # (1, 256, 625): 256-dim frames at 100 Hz

Streaming (audio in pieces, frames as soon as complete)::

    from pase import StreamingEncoder   # pase.models.streaming, imported on first use
    stream = StreamingEncoder(pase)
    frames = stream.push(samples)        # (256, n) new frames of these 1-D samples
    frames = stream.flush()              # (256, n) the last ones, at the end of the signal
"""

from typing import Any

from pase.version import __version__

__all__ = ["StreamingEncoder", "__version__"]


def __getattr__(name: str) -> Any:
    # torch is only imported when asked for: ``import pase`` stays light
    if name == "StreamingEncoder":
        from pase.models.streaming import StreamingEncoder

        return StreamingEncoder
    raise AttributeError(f"module 'pase' has no attribute {name!r}")
