"""The lhotse feature extractor, with the real lhotse package (skipped without it)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.extract import extract_features, load_encoder
from pase.integrations.lhotse import fit_frames, lhotse_num_frames

#: L mod 160 = 0, 50, 100, 150, 155: lhotse rounds L / 160, PASE+ gives floor(ceil(L / 10) / 16)
LENGTHS = [16000, 16050, 16100, 15990, 16155]


def test_fit_frames() -> None:
    f = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(fit_frames(f, 3), f)
    np.testing.assert_array_equal(fit_frames(f, 2), f[:2])
    np.testing.assert_array_equal(fit_frames(f, 5), np.concatenate([f, f[-1:], f[-1:]]))
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        fit_frames(f[:0], 1)


def test_frame_count_rule_is_lhotses() -> None:
    lhotse_utils = pytest.importorskip("lhotse.utils")
    for n in [*LENGTHS, 471, 1599, 1680, 160 * 37 + 79, 160 * 37 + 80]:
        expected = lhotse_utils.compute_num_frames_from_samples(n, 0.01, 16000)
        assert lhotse_num_frames(n) == expected
        duration = lhotse_utils.compute_num_frames(n / 16000, 0.01, 16000)
        assert lhotse_num_frames(n) == duration


@pytest.fixture
def tiny_cfg_file(tmp_path: Path, tiny_cfg) -> Path:
    path = tmp_path / "tiny.cfg"
    path.write_text(json.dumps(tiny_cfg))
    return path


def test_compute_and_store_features(tmp_path: Path, tiny_cfg_file: Path) -> None:
    lhotse = pytest.importorskip("lhotse")
    from pase.integrations.lhotse import PaseExtractor, PaseExtractorConfig

    rng = np.random.default_rng(0)
    recordings = []
    for i, n in enumerate(LENGTHS):
        path = tmp_path / f"utt{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(n)).astype(np.float32), 16000, subtype="FLOAT")
        recordings.append(lhotse.Recording.from_file(path, recording_id=f"utt{i}"))
    cuts = lhotse.CutSet.from_manifests(recordings=lhotse.RecordingSet.from_recordings(recordings))
    extractor = PaseExtractor(PaseExtractorConfig(fe_cfg=str(tiny_cfg_file), seed=3))
    assert extractor.feature_dim(16000) == 16 and extractor.frame_shift == 0.01
    cuts = cuts.compute_and_store_features(
        extractor, tmp_path / "feats", num_jobs=1, progress_bar=False
    )
    model = load_encoder(str(tiny_cfg_file), None, "cpu", seed=3)
    for cut, n in zip(cuts, LENGTHS):
        feats = cut.load_features()
        ours = extract_features(model, sf.read(tmp_path / f"{cut.recording_id}.wav")[0])
        assert feats.shape == (lhotse_num_frames(n), 16) == (cut.num_frames, 16)
        t = ours.shape[0]
        assert t == model.num_frames(n) and feats.shape[0] - t == (1 if 80 <= n % 160 <= 150 else 0)
        np.testing.assert_allclose(feats[:t], ours, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(feats[t:], np.repeat(feats[t - 1 : t], len(feats) - t, 0))


def test_registered_serialisable_and_batched(tiny_cfg_file: Path) -> None:
    lhotse = pytest.importorskip("lhotse")
    import torch

    from pase.integrations.lhotse import PaseExtractor, PaseExtractorConfig

    extractor = PaseExtractor(PaseExtractorConfig(fe_cfg=str(tiny_cfg_file), seed=3))
    again = lhotse.FeatureExtractor.from_dict(extractor.to_dict())
    assert type(again) is PaseExtractor and again.config == extractor.config
    wav = 0.1 * torch.randn(2, 3300)
    one = extractor.extract(wav[1, :2000].numpy(), 16000)
    assert extractor._model is not None
    clone = pickle.loads(pickle.dumps(extractor))  # what lhotse's worker processes get
    assert clone._model is None
    batch = clone.extract_batch(wav, 16000, lengths=torch.tensor([3300, 2000]))
    assert [b.shape[0] for b in batch] == [21, 13]
    np.testing.assert_allclose(batch[1].numpy(), one, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="16000 Hz"):
        extractor.extract(wav[0].numpy(), 8000)
    with pytest.raises(ValueError, match="mono"):
        extractor.extract(wav.numpy(), 16000)
