"""Reading legacy pickles of the original PASE without running their code.

The original stored statistics (``.pkl``) and speaker maps (``.npy`` object arrays) as
pickles. :func:`load_restricted` unpickles with an allow-list of the few globals such data
needs (tensor and numpy-array reconstruction, ``OrderedDict``); anything else (``os.system``,
arbitrary classes) raises ``pickle.UnpicklingError`` instead of being called.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from collections import OrderedDict
from typing import IO, Any

import numpy as np
import torch

__all__ = ["load_npy_object", "load_restricted"]


def _torch_from_bytes(b: bytes) -> Any:
    return torch.load(io.BytesIO(b), weights_only=True)


def _numpy_core(name: str) -> Any:
    core = getattr(np, "_core", None) or np.core
    return getattr(core.multiarray, name)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): codecs.encode,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch.storage", "_load_from_bytes"): _torch_from_bytes,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in _NUMPY_CORE and name in ("_reconstruct", "scalar"):
            return _numpy_core(name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in this data file")


def load_restricted(f: IO[bytes]) -> Any:
    """Unpickle ``f`` resolving only allow-listed globals (containers, numbers, strings,
    tensors, numpy arrays and scalars)."""
    return _RestrictedUnpickler(f).load()


def load_npy_object(path: str | os.PathLike) -> Any:
    """The object stored by ``np.save`` in an object-dtype ``.npy`` (e.g. a pickled dict),
    read with :func:`load_restricted`; a 0-d array gives its single item."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(f)
        if not dtype.hasobject:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        arr = load_restricted(f)
    if not isinstance(arr, np.ndarray):
        raise pickle.UnpicklingError(f"{path}: expected a pickled numpy array")
    return arr.item() if arr.shape == () else arr
