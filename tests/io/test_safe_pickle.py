"""Legacy pickles of the original are read without running their code."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from pase.io.safe_pickle import load_npy_object, load_restricted


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_speaker_dict_npy(tmp_path: Path) -> None:
    path = tmp_path / "libri_dict.npy"
    np.save(path, {"1001-134707-0004.wav": np.int64(3), "19-198-0001.wav": 7})
    assert load_npy_object(path) == {"1001-134707-0004.wav": 3, "19-198-0001.wav": 7}


def test_plain_npy_needs_no_pickle(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(4.0))
    np.testing.assert_array_equal(load_npy_object(tmp_path / "a.npy"), np.arange(4.0))


def test_tensors_and_ordered_dicts(tmp_path: Path) -> None:
    data = OrderedDict(lps={"mean": torch.arange(3.0), "std": torch.ones(3)})
    path = tmp_path / "stats.pkl"
    path.write_bytes(pickle.dumps(data))
    with open(path, "rb") as f:
        back = load_restricted(f)
    assert torch.equal(back["lps"]["mean"], torch.arange(3.0))


@pytest.mark.parametrize("kind", ["npy", "pkl"])
def test_code_is_never_run(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil.{kind}"
    if kind == "npy":
        np.save(path, np.array([{"a": _Payload(marker)}], dtype=object), allow_pickle=True)
        with pytest.raises(pickle.UnpicklingError, match="not allowed"):
            load_npy_object(path)
    else:
        path.write_bytes(pickle.dumps({"a": _Payload(marker)}))
        with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError, match="not allowed"):
            load_restricted(f)
    assert not marker.exists()
