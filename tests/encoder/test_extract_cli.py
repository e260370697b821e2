"""pase-extract: wav.scp / data dir / file list -> Kaldi ark,scp."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch

from pase.bin.extract import main
from pase.extract import extract_features
from pase.models.frontend import wf_builder
from tests.conftest import harmonic
from tests.conftest import pase_frames as num_frames


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    wavs = {}
    for i, (f0, sec) in enumerate([(120, 1.0), (180, 0.55), (95, 2.3)]):
        p = tmp_path / f"spk{i}-utt{i}.wav"
        sf.write(p, harmonic(f0, sec), 16000, subtype="PCM_16")
        wavs[p.stem] = p
    return wavs


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    torch.manual_seed(5)
    path = tmp_path / "FE_e0.ckpt"
    torch.save(wf_builder("PASE").state_dict(), path)
    return path


def _read(scp: Path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in kaldiio.load_scp(str(scp)).items()}


def test_wav_scp_to_ark_scp(tmp_path: Path, corpus, ckpt) -> None:
    scp_in = tmp_path / "wav.scp"
    scp_in.write_text("".join(f"{k} {v}\n" for k, v in sorted(corpus.items())))
    ark, scp, u2n = tmp_path / "out" / "feats.ark", tmp_path / "out" / "feats.scp", tmp_path / "u2n"
    rc = main(
        [
            "--cfg",
            "PASE",
            "--ckpt",
            str(ckpt),
            str(scp_in),
            f"ark,scp:{ark},{scp}",
            "--utt2num-frames",
            str(u2n),
        ]
    )
    assert rc == 0
    feats = _read(scp)
    assert list(feats) == sorted(corpus)
    model = wf_builder("PASE").load_pretrained(ckpt, load_last=True, verbose=False).eval()
    for utt, path in corpus.items():
        wav, _ = sf.read(path, dtype="float32")
        assert feats[utt].shape == (num_frames(len(wav)), 100)
        np.testing.assert_allclose(feats[utt], extract_features(model, wav), atol=1e-5)
    assert u2n.read_text().split() == [
        t for u in sorted(corpus) for t in (u, str(feats[u].shape[0]))
    ]


def test_independent_kaldi_reader(tmp_path: Path, corpus, ckpt) -> None:
    kni = pytest.importorskip("kaldi_native_io")
    lst = tmp_path / "files.lst"
    lst.write_text("".join(f"{p}\n" for p in corpus.values()))
    ark, scp = tmp_path / "f.ark", tmp_path / "f.scp"
    assert main(["--cfg", "PASE", "--ckpt", str(ckpt), str(lst), f"ark,scp:{ark},{scp}"]) == 0
    reader = kni.SequentialFloatMatrixReader(f"scp:{scp}")
    got = {key: np.array(value, copy=True) for key, value in reader}  # the reader reuses its buffer
    ours = _read(scp)
    assert set(got) == set(corpus)
    for k in got:
        np.testing.assert_array_equal(got[k], ours[k])


def test_data_dir_with_segments(tmp_path: Path, corpus, ckpt) -> None:
    d = tmp_path / "data"
    d.mkdir()
    rec = corpus["spk2-utt2"]
    (d / "wav.scp").write_text(f"rec1 {rec}\n")
    (d / "segments").write_text("rec1-a rec1 0.0 1.0\nrec1-b rec1 1.0 -1\n")
    (d / "utt2spk").write_text("rec1-a rec1\nrec1-b rec1\n")
    ark, scp = tmp_path / "s.ark", tmp_path / "s.scp"
    assert main(["--cfg", "PASE", "--ckpt", str(ckpt), str(d), f"ark,scp:{ark},{scp}"]) == 0
    feats = _read(scp)
    assert feats["rec1-a"].shape[0] == 100 and feats["rec1-b"].shape[0] == num_frames(
        int(1.3 * 16000)
    )


def test_failure_leaves_no_output(tmp_path: Path, corpus, ckpt, capsys) -> None:
    scp_in = tmp_path / "wav.scp"
    scp_in.write_text(f"a {corpus['spk0-utt0']}\nb {tmp_path / 'missing.wav'}\n")
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    assert main(["--ckpt", str(ckpt), "--cfg", "PASE", str(scp_in), f"ark,scp:{ark},{scp}"]) == 1
    err = capsys.readouterr().err
    assert "'b'" in err and "missing.wav" in err
    assert not ark.exists() and not scp.exists()
    assert not list(tmp_path.glob(".x.*"))
