"""The one place that imports the k2-fsa Kaldi wheels, in an order verified not to deadlock.

kaldi-hmm-gmm 1.1.4, kaldifst 1.7.17 and kaldi-decoder 0.2.11 share OpenFst types (newer
kaldifst/kaldi-decoder releases use another OpenFst ABI and cannot exchange FSTs with
kaldi-hmm-gmm). Importing ``kaldilm`` *before* the other three hangs forever in a static
initializer, so ``kaldilm`` is only imported lazily, here, after them. Every other module of
``pase.asr`` imports the wheels through this module::

    from pase.asr.kaldi_wheels import kaldifst, khg

Install them with ``pip install -e '.[kaldi]'`` (exact pins in setup.py).
"""

from __future__ import annotations

import importlib
from types import ModuleType

PINS = {
    "kaldi_hmm_gmm": "kaldi-hmm-gmm==1.1.4",
    "kaldifst": "kaldifst==1.7.17",
    "kaldi_decoder": "kaldi-decoder==0.2.11",
    "kaldialign": "kaldialign==0.12.0",
    "kaldilm": "kaldilm==1.15.5",
}


class KaldiWheelsMissing(ImportError):
    """The k2-fsa Kaldi wheels (the ``kaldi`` extra) are not installed."""


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise KaldiWheelsMissing(
            f"pase.asr needs the Python module {name!r} ({PINS[name]}); install the Kaldi "
            f"wheels with: pip install -e '.[kaldi]'  (exact pins: {' '.join(PINS.values())})"
        ) from e


# Order matters: kaldi_hmm_gmm, kaldifst, kaldi_decoder first; kaldilm never before them.
khg = _import("kaldi_hmm_gmm")
kaldifst = _import("kaldifst")
kaldi_decoder = _import("kaldi_decoder")
kaldialign = _import("kaldialign")


def kaldilm() -> ModuleType:
    """The ``kaldilm`` module, imported on first use (after the other wheels)."""
    return _import("kaldilm")


def check_versions() -> dict[str, str]:
    """Installed versions of the wheels; raises when a pinned ABI-critical one differs."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for mod, pin in PINS.items():
        dist, want = pin.split("==")
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
            continue
        if mod in ("kaldi_hmm_gmm", "kaldifst", "kaldi_decoder") and out[dist] != want:
            raise KaldiWheelsMissing(
                f"{dist} {out[dist]} is installed but {want} is required: kaldi-hmm-gmm 1.1.4 "
                f"cannot exchange FSTs with newer kaldifst/kaldi-decoder builds. Run: pip "
                f"install {' '.join(PINS.values())}"
            )
    return out


__all__ = [
    "KaldiWheelsMissing",
    "check_versions",
    "kaldi_decoder",
    "kaldialign",
    "kaldifst",
    "kaldilm",
    "khg",
]
