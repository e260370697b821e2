"""The registry of distortion kinds: the built-in kinds in the original order, a kind defined
here (outside the package) that loads, builds, applies and checks like a built-in one, and the
mistakes a registration refuses."""

from __future__ import annotations

import json
import pickle
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pase.distortions import (
    BuildContext,
    Distortion,
    DistortionConfig,
    DistortionConfigError,
    DistortionOptions,
    Distortions,
    distortion_kinds,
    option,
    register_distortion,
    unregister_distortion,
)
from pase.distortions import functional as Fd
from pase.distortions.banks import WaveBank
from pase.distortions.kinds import Chopper, OverlapSpeech, Reverb
from pase.distortions.options import number, optional_text, probability
from tests.distortions.conftest import SR, speechlike

DOCS = Path(__file__).resolve().parents[2] / "docs" / "distortions.md"

BUILTIN = [
    "reverb",
    "overlap",
    "noises",
    "speed",
    "resample",
    "clip",
    "codec2",
    "chop",
    "bandrop",
    "downsample",
    "gain",
]

# the keys of the original's config_distortions (and ours), as docs/distortions.md lists them
KEYS = {
    *("reverb_irfiles", "reverb_fmt", "reverb_data_root", "reverb_p", "reverb_cache"),
    *("overlap_dir", "overlap_list", "overlap_snrs", "overlap_reverb", "overlap_p"),
    *("noises_dir", "noises_snrs", "noises_p", "noises_cache"),
    *("speed_range", "speed_p", "resample_factors", "resample_p", "clip_factors", "clip_p"),
    *("codec2_p", "codec2_kbps", "codec2_cachedir", "codec2_cache"),
    *("chop_factors", "max_chops", "chop_p"),
    *("bandrop_irfiles", "bandrop_fmt", "bandrop_data_root", "bandrop_p"),
    *("downsample_irfiles", "downsample_fmt", "downsample_data_root", "downsample_p"),
    *("gain_p", "gain_db", "bank_memory_mb", "report"),
}


# --------------------------------------------------------------------------------------------
# a kind defined outside the package: adds the start of a random file of a folder, scaled
# --------------------------------------------------------------------------------------------
class Hum(Distortion):
    """Adds ``gain`` times the first L samples of a random file of ``hum_dir``."""

    class Config(DistortionOptions):
        dir: str | None = option(None, optional_text)
        gain: float = option(1.0, number)

        needs = "dir"

    def __init__(self, bank: WaveBank, gain: float, p: float) -> None:
        super().__init__(p)
        self.bank = bank
        self.gain = gain

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> Hum:
        assert opts.dir is not None
        key = cls.key("dir")
        return cls(ctx.bank(ctx.dir_files([opts.dir], key=key), key), opts.gain, opts.p)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, L = x.shape
        idx = torch.randint(len(self.bank), (n,), generator=generator)
        hum = self.bank.segments(idx, [0] * n, L).to(x)
        return x + self.gain * hum


@pytest.fixture
def hum() -> Iterator[type[Hum]]:
    """Hum registered between clipping (60) and codec2 (70) for one test."""
    register_distortion("hum", order=65)(Hum)
    yield Hum
    unregister_distortion("hum")


@pytest.fixture
def hum_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hum"
    d.mkdir()
    sf.write(d / "dc.wav", np.full(2 * SR, 0.25), SR)
    return d


def test_builtin_kinds_keep_the_original_order_and_keys() -> None:
    kinds = distortion_kinds()
    assert [k.name for k in kinds] == BUILTIN
    assert [k.order for k in kinds] == list(range(10, 120, 10))
    assert set(DistortionConfig.keys()) == KEYS
    assert Chopper.key("max_chops") == "max_chops" and Chopper.key("p") == "chop_p"
    assert OverlapSpeech.key("list_file") == "overlap_list"
    # no built-in kind is on in a config that does not mention it
    assert not any(DistortionConfig().active(k.name) for k in kinds)


def test_a_kind_defined_outside_the_package(
    hum: type[Hum], hum_dir: Path, tree_cfg: dict, tmp_path: Path
) -> None:
    assert "hum_gain" in DistortionConfig.keys()
    cfg = dict(tree_cfg, clip_p=1.0, clip_factors=[0.5], hum_p=1.0, gain_p=1.0)
    cfg.update(hum_dir=str(hum_dir), hum_gain=0.5, gain_db=[-6.0, -6.0])
    path = tmp_path / "hum.cfg"
    path.write_text(json.dumps(cfg))
    d = Distortions.from_config(path, seed=0)
    assert d.names == ["clip", "hum", "gain"]
    assert isinstance(d.transforms[1], Hum) and d.config is not None
    assert d.config.hum_gain == 0.5 and d.config.active("hum")
    # the hum (0.5 * 0.25) is added after clipping and before the gain
    x = torch.from_numpy(speechlike(4, 0.5)).double()
    y, applied = d(x, return_applied=True)
    assert bool(applied["hum"].all())
    assert torch.allclose(y, Fd.gain(Fd.clip(x, 0.5) + 0.125, -6.0), atol=1e-6)
    # seeded, resumable and picklable like a built-in kind
    assert torch.equal(Distortions.from_config(path, seed=0)(x), y)
    again = pickle.loads(pickle.dumps(d))
    state = d.state_dict()
    assert torch.equal(again(x), d(x))
    fresh = Distortions.from_config(path, seed=5)
    fresh.load_state_dict(state)
    assert torch.equal(fresh(x), again(x))


def test_an_outside_kind_is_validated_and_checked_like_a_builtin(
    hum: type[Hum], hum_dir: Path, tmp_path: Path
) -> None:
    def fails(cfg: dict, *needles: str) -> None:
        with pytest.raises(DistortionConfigError) as e:
            Distortions.from_config(cfg, seed=0)
        for needle in needles:
            assert needle in str(e.value), str(e.value)

    fails({"hum_gian": 1.0}, "unknown key 'hum_gian'", "did you mean 'hum_gain'")
    fails({"hum_gain": "loud"}, "key 'hum_gain'", "finite number")
    fails({"hum_p": 0.3}, "key 'hum_p'", "'hum_dir' is not set")
    fails({"hum_p": 0.3, "hum_dir": str(tmp_path / "nope")}, "key 'hum_dir'", "does not exist")
    sf.write(hum_dir / "8k.wav", np.zeros(800) + 0.1, 8000)
    fails({"hum_p": 0.3, "hum_dir": str(hum_dir)}, "'hum_dir'", "8k.wav", "8000 Hz")
    # off while its data key is not set, whatever the default p
    assert len(Distortions.from_config({"hum_gain": 2.0}, seed=0)) == 0


def test_unregistered_kind_keys_are_unknown_again(hum_dir: Path) -> None:
    register_distortion("hum", order=65)(Hum)
    before = DistortionConfig.load({"clip_p": 0.2, "clip_factors": [0.5]})
    unregister_distortion("hum")
    with pytest.raises(DistortionConfigError, match="unknown key 'hum_p'"):
        DistortionConfig.load({"hum_p": 0.5, "hum_dir": str(hum_dir)})
    assert [t.name for t in Distortions.from_config(before, seed=0).transforms] == ["clip"]


def test_a_config_read_before_a_kind_is_registered_has_it_off(hum: type[Hum]) -> None:
    unregister_distortion("hum")
    cfg = DistortionConfig.load({"clip_p": 0.2, "clip_factors": [0.5]})
    register_distortion("hum", order=65)(Hum)
    assert not cfg.active("hum") and cfg.hum_gain == 1.0
    assert Distortions.from_config(cfg, seed=0).names == ["clip"]


def test_kinds_built_once_per_chain_and_shared(tree_cfg: dict) -> None:
    # overlapping speech reverberates with the reverb kind's own distortion (and bank)
    cfg = dict(tree_cfg, reverb_p=0.5, overlap_p=0.5, overlap_reverb=True)
    reverb, overlap = Distortions.from_config(cfg, seed=0).transforms
    assert isinstance(reverb, Reverb) and isinstance(overlap, OverlapSpeech)
    assert overlap.reverb is reverb
    # and builds it even when reverb itself is off
    (overlap,) = Distortions.from_config(dict(cfg, reverb_p=0.0), seed=0).transforms
    assert isinstance(overlap.reverb, Reverb) and overlap.reverb.p == 0.0


# --------------------------------------------------------------------------------------------
# registrations that are refused
# --------------------------------------------------------------------------------------------
class _Flip(Distortion):
    class Config(DistortionOptions):
        p: float = option(0.0, probability)

    @classmethod
    def from_config(cls, opts: Config, ctx: BuildContext) -> _Flip:
        return cls(opts.p)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return -x


class _Abstract(Distortion):
    Config = _Flip.Config

    @classmethod
    def from_config(cls, opts: DistortionOptions, ctx: BuildContext) -> _Abstract:
        return cls(opts.p)


class _OnByDefault(_Flip):
    class Config(DistortionOptions):  # p 0.5 and nothing needed: on in every config
        pass


class _BadNeeds(_Flip):
    class Config(_Flip.Config):
        needs = "files"


class _PlainField(_Flip):
    class Config(DistortionOptions):
        p: float = 0.0


class _NotOptions(_Flip):
    Config = dict  # type: ignore[assignment]


class _Chops(_Flip):
    class Config(_Flip.Config):
        chops: int = option(1, number)


@pytest.mark.parametrize(
    ("name", "order", "cls", "needle"),
    [
        ("reverb", 5, _Flip, "'reverb' is already registered"),
        ("flip", 10, _Flip, "order 10 is taken by 'reverb'"),
        ("flip", float("nan"), _Flip, "finite number"),
        ("Flip-1", 5, _Flip, "lower-case"),
        ("flip", 5, _Abstract, "does not define apply"),
        ("flip", 5, _OnByDefault, "would be on in every config"),
        ("flip", 5, _BadNeeds, "needs='files'"),
        ("flip", 5, _PlainField, "not declared with option"),
        ("flip", 5, _NotOptions, "derived from DistortionOptions"),
        ("max", 5, _Chops, "key 'max_chops' is taken by 'chop'"),
        ("bank_memory", 5, _Chops, None),  # bank_memory_chops: free
        ("flip", 5, int, "not a Distortion subclass"),
    ],
)
def test_bad_registrations_are_refused(
    name: str, order: float, cls: type, needle: str | None
) -> None:
    before = distortion_kinds()
    if needle is None:
        register_distortion(name, order=order)(cls)
        unregister_distortion(name)
    else:
        with pytest.raises((TypeError, ValueError)) as e:
            register_distortion(name, order=order)(cls)
        assert needle in str(e.value), str(e.value)
    assert distortion_kinds() == before


# --------------------------------------------------------------------------------------------
# the example of docs/distortions.md
# --------------------------------------------------------------------------------------------
def _docs_example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Adding a distortion kind", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m is not None
    return m.group(1)


def test_the_documented_example_kind_works(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("docs_distortion_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(_docs_example(), str(DOCS), "exec"), module.__dict__)
    try:
        kind = distortion_kinds()[-1]
        assert kind.__module__ == module.__name__ and kind.name == "dc"
        cfg = {"dc_p": 1.0, "dc_range": [0.1, 0.1], "gain_p": 1.0, "gain_db": [-6.0, -6.0]}
        d = Distortions.from_config(cfg, seed=0)
        assert d.names == ["gain", "dc"]
        x = torch.from_numpy(speechlike(3, 0.2)).double()
        assert torch.allclose(d(x), Fd.gain(x, -6.0) + 0.1)
    finally:
        unregister_distortion("dc")
