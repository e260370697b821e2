"""Corpus-prep tools name an audio file given where a folder, list or config is expected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin.prepare_openslr_rirs import RirListError, prepare_cfg
from pase.corpus.timit import TimitError, prepare_timit, read_speaker_list


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "x.wav"
    sf.write(path, np.zeros(1600, np.float32), 16000, subtype="PCM_16")
    return path


def test_timit_root_and_speaker_lists(wav: Path, tmp_path: Path) -> None:
    with pytest.raises(TimitError, match=r"x\.wav is an audio file \(WAV\), expected the TIMIT"):
        prepare_timit(wav, tmp_path / "data")
    with pytest.raises(TimitError, match=r"x\.wav is an audio file \(WAV\), expected a speaker"):
        read_speaker_list(wav, "unused")


def test_openslr_rirs_root_output_and_existing_cfg(wav: Path, tmp_path: Path) -> None:
    before = wav.read_bytes()
    for kwargs, what in (
        ({"data_root": str(wav), "out_file": tmp_path / "o.json"}, "the simulated_rirs_16k"),
        ({"data_root": str(tmp_path), "out_file": wav}, "the distortions JSON to write"),
        (
            {"data_root": str(tmp_path), "out_file": tmp_path / "o.json", "existing_cfg": wav},
            "a distortions JSON",
        ),
    ):
        with pytest.raises(RirListError, match=f"is an audio file \\(WAV\\), expected {what}"):
            prepare_cfg(**kwargs)
    assert wav.read_bytes() == before
