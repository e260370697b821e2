"""The synthetic LibriSpeech-layout corpus: layout, determinism, prep and distortions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.corpus.espeak import espeak_available
from pase.corpus.librispeech import prepare_librispeech, read_speakers
from pase.corpus.synth_librispeech import SubsetSpec, SynthSettings, make_synthetic_librispeech
from pase.io.datadir import read_kv, validate_data_dir

pytestmark = pytest.mark.skipif(not espeak_available(), reason="libespeak-ng not installed")

TINY = SynthSettings(
    subsets={"train-a": SubsetSpec(3, 2, 1), "test-b": SubsetSpec(2, 1, 1)},
    num_noises=5,
    noise_seconds=1.0,
    num_rirs=2,
    num_bandrop_filters=2,
    overlap_subset="test-b",
)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("distortions.cfg", "overlap.lst")
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    return make_synthetic_librispeech(tmp_path_factory.mktemp("syn"), TINY, log=lambda m: None)


def test_layout_and_prep(corpus, tmp_path: Path) -> None:
    lib = corpus.librispeech
    flacs = sorted(lib.rglob("*.flac"))
    assert len(flacs) == 3 * 2 + 2
    spk = read_speakers(lib / "SPEAKERS.TXT")
    assert len(spk) == 5 and {g for g, _ in spk.values()} == {"m", "f"}
    for f in flacs:
        info = sf.info(str(f))
        assert info.samplerate == 16000 and info.format == "FLAC" and info.frames > 16000
        reader, chapter, _ = f.stem.split("-")
        assert f.parent.name == chapter and f.parent.parent.name == reader
    rep = prepare_librispeech(lib, ["train-a"], tmp_path / "train")
    assert rep.num_utterances == 6 and rep.num_speakers == 3 and not rep.dropped
    assert validate_data_dir(tmp_path / "train").ok
    texts = read_kv(tmp_path / "train" / "text").values()
    assert all(t == t.upper() and len(t.split()) >= 6 for t in texts)


def test_voices_differ_between_speakers(corpus) -> None:
    """Each utterance's nearest neighbour (mean/std of MFCCs) is the other utterance of its
    speaker: the voices are distinct, not one voice with different texts."""
    pytest.importorskip("kaldi_native_fbank")
    from pase.features.kaldi import mfcc

    vecs, spk = [], []
    for f in sorted(corpus.librispeech.rglob("*.flac")):
        x, _ = sf.read(str(f), dtype="float32")
        m = mfcc(x, use_energy=False)[:, 1:]
        vecs.append(np.concatenate([m.mean(0), m.std(0)]))
        spk.append(f.stem.split("-")[0])
    v = np.array(vecs)
    v = (v - v.mean(0)) / v.std(0)
    d = ((v[:, None] - v[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    train = [i for i, s in enumerate(spk) if spk.count(s) == 2]
    hits = sum(spk[int(d[i].argmin())] == spk[i] for i in train)
    assert len(train) == 6 and hits >= 5
    genders = {g for g, _ in read_speakers(corpus.librispeech / "SPEAKERS.TXT").values()}
    assert genders == {"m", "f"}


def test_noises_rirs_and_distortions_cfg(corpus) -> None:
    cfg = json.loads(corpus.distortions_cfg.read_text())
    assert len(cfg["reverb_irfiles"]) == 2 and cfg["noises_dir"] == [str(corpus.noises)]
    for name in cfg["reverb_irfiles"]:
        h, sr = sf.read(str(corpus.rirs / name))
        assert sr == 16000
        peak = int(np.argmax(np.abs(h)))
        assert 16 <= peak < 80 and abs(h[peak]) == pytest.approx(1.0, abs=1e-4)
        tail = np.abs(h[peak + 100 :])
        q = len(tail) // 4
        assert tail[:q].mean() > 3 * tail[-q:].mean()  # decays
    noises = sorted(corpus.noises.glob("*.wav"))
    assert len(noises) == 5 and any("babble" in n.name for n in noises)
    lst = (corpus.root / "overlap.lst").read_text().split()
    assert all((Path(cfg["overlap_dir"]) / f).is_file() for f in lst)
    for name in cfg["bandrop_irfiles"] + cfg["downsample_irfiles"]:
        h = np.load(corpus.filters / name, allow_pickle=False)
        assert h.ndim == 1 and np.isfinite(h).all()
    torch = pytest.importorskip("torch")
    try:
        from pase.distortions import Distortions
    except ImportError:
        pytest.skip("pase.distortions not available")
    d = Distortions.from_config(corpus.distortions_cfg, seed=0)
    x = torch.randn(3, 16000) * 0.1
    assert d(x).shape == x.shape


def test_deterministic_and_rerun_is_noop(corpus, tmp_path: Path) -> None:
    again = make_synthetic_librispeech(tmp_path / "again", TINY, jobs=1, log=lambda m: None)
    assert _digest(again.root) == _digest(corpus.root)
    msgs: list[str] = []
    make_synthetic_librispeech(tmp_path / "again", TINY, log=msgs.append)
    assert msgs == [f"synthetic corpus up to date in {again.root}"]
