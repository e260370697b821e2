"""Target kinds: the registry, worker-name resolution, defaults and value checking."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from pase.targets import TARGET_KINDS, FrameTarget, Target, TargetSet, register_target
from pase.targets.base import target_from_worker, target_kind
from pase.targets.kinds import LPS, MFCC, Prosody, Waveform
from pase.workers.config import WorkersConfigError


def test_builtin_kinds_and_their_defaults() -> None:
    assert {"lps", "mfcc", "fbank", "gtn", "prosody", "waveform"} <= set(TARGET_KINDS.names)
    assert TARGET_KINDS.get("lps") is LPS and LPS.kind == "lps"
    assert LPS.defaults() == {"win": 400, "der_order": 2, "n_fft": 2048}
    assert MFCC.defaults() == {"win": 400, "der_order": 2, "order": 13, "n_fft": None,
                               "n_mels": 128}  # fmt: skip
    assert Prosody.defaults() == {"win": 320, "der_order": 2, "f0_min": 60.0, "f0_max": 300.0}
    assert Waveform.defaults() == {} and Waveform.waveform


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("lps", "lps"),
        ("lps_long", "lps"),
        ("gtn_x_y", "gtn"),
        ("cchunk", "waveform"),
        ("mfcc_librosa", None),  # the original's other MFCC definition
        ("lpsx", None),
        ("waveform", None),  # only "cchunk" selects the waveform
        ("chunk", None),
    ],
)
def test_worker_name_resolution(name: str, kind: str | None) -> None:
    assert target_kind(name) == kind


def test_channels_from_the_resolved_parameters() -> None:
    t = target_from_worker({"name": "lps_x", "transform": {"n_fft": 512, "der_order": 1}})
    assert isinstance(t, LPS) and t.name == "lps_x"
    assert t.params == {"win": 400, "der_order": 1, "n_fft": 512}
    assert (t.static_channels, t.channels) == (257, 514)
    m = target_from_worker({"name": "mfcc", "transform": {"n_fft": None}})
    assert m.n_fft is None and m.channels == 39


def test_values_are_checked_against_the_declared_types() -> None:
    def build(**transform: object) -> Target:
        return target_from_worker({"name": "gtn", "transform": transform}, where="w")

    assert build(f_min=100).f_min == 100.0 and isinstance(build(f_min=100).f_min, float)
    with pytest.raises(WorkersConfigError, match="'n_channels' must be a non-negative integer"):
        build(n_channels=True)
    with pytest.raises(WorkersConfigError, match="'n_channels' must be a non-negative integer"):
        build(n_channels=-1)
    with pytest.raises(WorkersConfigError, match="'f_min' must be a number, got '100'"):
        build(f_min="100")
    with pytest.raises(WorkersConfigError, match=r"'win' must be a non-negative integer.*None"):
        build(win=None)


def test_register_rejects_taken_names_bad_names_and_abstract_classes() -> None:
    with pytest.raises(ValueError, match=r"target kind 'lps' is already registered.*LPS"):

        @register_target("lps")
        @dataclass(frozen=True)
        class Other(LPS):
            pass

    with pytest.raises(ValueError, match="must be an identifier"):
        register_target("a-b")(LPS)
    with pytest.raises(TypeError, match=r"abstract.*frames"):

        @register_target("half_done")
        @dataclass(frozen=True)
        class HalfDone(FrameTarget):
            @property
            def static_channels(self) -> int:
                return 1

    assert "half_done" not in TARGET_KINDS and TARGET_KINDS.get("lps") is LPS
    with pytest.raises(KeyError, match=r"unknown target kind 'nope' \(known: \["):
        TARGET_KINDS.get("nope")


def test_a_kind_registered_later_is_found_by_name_and_removed_again() -> None:
    @dataclass(frozen=True)
    class Ones(FrameTarget):
        rows: int = 2

        @property
        def static_channels(self) -> int:
            return self.rows

        def frames(
            self, x: torch.Tensor, *, hop: int, sample_rate: int, cache: object
        ) -> torch.Tensor:
            return x.new_ones(x.shape[0], self.rows, x.shape[-1] // hop)

    register_target("ones")(Ones)
    try:
        cfg = {"regr": [{"name": "ones_a", "num_outputs": 9, "transform": {"rows": 3}}]}
        ts = TargetSet.from_workers_cfg(cfg)
        out = ts(torch.zeros(2, 1600))
        assert out["ones_a"].shape == (2, 9, 10) and torch.all(out["ones_a"][:, :3] == 1)
        with pytest.raises(WorkersConfigError, match=r"num_outputs 6 .* 9 channels \(3 x"):
            TargetSet.from_workers_cfg({"regr": [{**cfg["regr"][0], "num_outputs": 6}]})
    finally:
        assert TARGET_KINDS.unregister("ones") is Ones
    assert target_kind("ones_a") is None
