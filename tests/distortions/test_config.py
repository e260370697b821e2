"""Construction-time validation: every bad key, value, path or file fails with a message that
names it, before any batch is distorted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.distortions import (
    Codec2UnavailableError,
    DistortionConfig,
    DistortionConfigError,
    Distortions,
)

CONF = Path(__file__).resolve().parents[2] / "pase" / "conf" / "distortions" / "pase+.cfg"


def _fails(cfg: dict, *needles: str) -> None:
    with pytest.raises(DistortionConfigError) as e:
        Distortions.from_config(cfg, seed=0)
    for needle in needles:
        assert needle in str(e.value), str(e.value)


def test_unknown_key_is_named_with_a_suggestion() -> None:
    _fails({"noise_p": 0.3}, "'noise_p'", "did you mean 'noises_p'")


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("reverb_p", 1.5, "[0, 1]"),
        ("noises_p", -0.1, "[0, 1]"),
        ("clip_p", "0.2", "finite number"),
        ("chop_p", True, "finite number"),
        ("noises_snrs", 5, "list of numbers"),
        ("noises_snrs", [], "non-empty"),
        ("overlap_snrs", [0, "x"], "finite number"),
        ("clip_factors", [0.1, 1.5], "(0, 1]"),
        ("chop_factors", [[0.05]], "[mean, std]"),
        ("chop_factors", [[-0.05, 0.01]], "mean > 0"),
        ("max_chops", 0, "positive integer"),
        ("speed_range", [1.1, 0.9], "low <= high"),
        ("speed_range", [0.9], "[low, high]"),
        ("resample_factors", [1.5], "integer"),
        ("codec2_kbps", 999, "codec2 bit rate"),
        ("reverb_fmt", "imp", "unsupported format"),
        ("reverb_irfiles", "ir.npy", "list of file names"),
        ("noises_dir", [], "directory"),
        ("overlap_reverb", "yes", "true or false"),
        ("bank_memory_mb", 0, "positive"),
    ],
)
def test_malformed_values_name_the_key(key: str, value: object, needle: str) -> None:
    _fails({key: value}, f"key {key!r}", needle)


def test_probability_without_its_data_is_an_error() -> None:
    _fails({"noises_p": 0.4}, "'noises_p'", "'noises_dir' is not set")
    _fails({"reverb_p": 0.5}, "'reverb_p'", "'reverb_irfiles'")
    _fails({"clip_p": 0.2}, "'clip_factors'")
    # the original's default probabilities (0.5) without data mean "off", as before
    assert len(Distortions.from_config({}, seed=0)) == 0
    # and p = 0 switches a distortion off without its data being needed
    d = Distortions.from_config({"noises_p": 0.0, "noises_dir": "/does/not/exist"}, seed=0)
    assert len(d) == 0


def test_overlap_reverb_needs_impulse_responses(tree_cfg: dict) -> None:
    cfg = dict(tree_cfg, overlap_p=0.1, overlap_reverb=True)
    del cfg["reverb_irfiles"]
    _fails(cfg, "'overlap_reverb'", "reverb_irfiles")


def test_missing_directory_and_empty_directory(tree_cfg: dict, tmp_path: Path) -> None:
    _fails(dict(tree_cfg, noises_p=0.4, noises_dir=str(tmp_path / "nope")), "'noises_dir'", "nope")
    (tmp_path / "empty").mkdir()
    _fails(dict(tree_cfg, noises_p=0.4, noises_dir=[str(tmp_path / "empty")]), "no .wav")
    _fails(
        dict(tree_cfg, reverb_p=0.5, reverb_data_root=str(tmp_path / "empty")),
        "'reverb_irfiles'",
        "no *.npy files",
    )
    _fails(
        dict(tree_cfg, bandrop_p=0.5, bandrop_data_root=str(tmp_path / "gone")),
        "'bandrop_data_root'",
        "does not exist",
    )


def test_missing_listed_file(tree_cfg: dict) -> None:
    _fails(
        dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["ir_0.npy", "ir_9.npy"]),
        "'reverb_irfiles'",
        "ir_9.npy",
        "does not exist",
    )
    _fails(dict(tree_cfg, downsample_p=0.2, downsample_irfiles=["nope.npy"]), "nope.npy")


def test_missing_overlap_list(tree_cfg: dict, tmp_path: Path) -> None:
    _fails(
        dict(tree_cfg, overlap_p=0.1, overlap_list=str(tmp_path / "none.lst")),
        "'overlap_list'",
        "none.lst",
    )
    (tmp_path / "speech.lst").write_text("spk0.wav\nmissing.wav\n")
    _fails(dict(tree_cfg, overlap_p=0.1), "missing.wav", "does not exist")


def test_wrong_sample_rate_names_the_file(tree_cfg: dict, tmp_path: Path) -> None:
    sf.write(tmp_path / "noises" / "a" / "8k.wav", np.zeros(800) + 0.1, 8000)
    _fails(dict(tree_cfg, noises_p=0.4), "8k.wav", "8000 Hz", "16000 Hz")


def test_unreadable_and_bad_files(tree_cfg: dict, tmp_path: Path) -> None:
    (tmp_path / "noises" / "b" / "broken.wav").write_bytes(b"RIFF this is not audio")
    _fails(dict(tree_cfg, noises_p=0.4), "broken.wav", "unreadable")
    np.save(tmp_path / "irs" / "obj.npy", np.array([{"a": 1}], dtype=object))
    _fails(dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["obj.npy"]), "obj.npy")
    np.save(tmp_path / "irs" / "img.npy", np.ones((4, 5)))
    _fails(dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["img.npy"]), "img.npy", "1-D")
    np.save(tmp_path / "irs" / "zero.npy", np.zeros(100))
    _fails(dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["zero.npy"]), "zero.npy", "all samples")
    np.save(tmp_path / "irs" / "nan.npy", np.array([1.0, np.nan]))
    _fails(dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["nan.npy"]), "nan.npy", "NaN")
    np.save(tmp_path / "irs" / "empty.npy", np.zeros(0))
    _fails(dict(tree_cfg, reverb_p=0.5, reverb_irfiles=["empty.npy"]), "empty.npy", "no samples")


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DistortionConfigError, match="does not exist"):
        DistortionConfig.load(tmp_path / "none.cfg")
    bad = tmp_path / "bad.cfg"
    bad.write_text('{"reverb_p": 0.5,\n "clip_p": }')
    with pytest.raises(DistortionConfigError, match=r"bad.cfg.*line 2"):
        Distortions.from_config(bad)
    arr = tmp_path / "list.cfg"
    arr.write_text("[1, 2]")
    with pytest.raises(DistortionConfigError, match="JSON object"):
        DistortionConfig.load(arr)
    unk = tmp_path / "unk.cfg"
    unk.write_text(json.dumps({"reverb_pp": 0.5}))
    with pytest.raises(DistortionConfigError, match=r"unk.cfg.*'reverb_pp'"):
        DistortionConfig.load(unk)


def test_codec2_unavailable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pycodec2", None)  # import fails as if not installed
    with pytest.raises(Codec2UnavailableError, match="codec2 is not available"):
        Distortions.from_config({"codec2_p": 0.3}, seed=0)
    # off by default (the original silently used codec2_p = 0.3)
    assert DistortionConfig().codec2_p == 0.0
    assert len(Distortions.from_config({"codec2_kbps": 1600}, seed=0)) == 0


def test_codec2_cache_dir_is_rejected() -> None:
    _fails({"codec2_p": 0.3, "codec2_cachedir": "cache"}, "'codec2_cachedir'")


def test_shipped_pase_plus_config() -> None:
    cfg = DistortionConfig.load(CONF)
    probs = {
        k: getattr(cfg, f"{k}_p")
        for k in ("reverb", "overlap", "noises", "clip", "chop", "bandrop", "downsample", "codec2")
    }
    assert probs == {
        "reverb": 0.5,
        "overlap": 0.1,
        "noises": 0.4,
        "clip": 0.2,
        "chop": 0.2,
        "bandrop": 0.35,
        "downsample": 0.25,
        "codec2": 0.0,
    }
    assert cfg.noises_snrs == [0, 5, 10] and cfg.overlap_snrs == [5, 7.5, 10]
    assert cfg.overlap_reverb and cfg.bandrop_irfiles == [] and cfg.reverb_irfiles == []
    assert cfg.downsample_irfiles == ["filter_16_to_8.npy"]
    assert not cfg.active("speed") and not cfg.active("resample") and not cfg.active("codec2")
    # the conf/ link points at the same file
    assert (CONF.parents[3] / "conf" / "distortions" / "pase+.cfg").resolve() == CONF.resolve()
