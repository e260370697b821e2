"""pase.io.tables and the extraction CLIs: Kaldi write specifiers, outputs that never
overwrite inputs, too-short utterances, inputs of the wrong kind. kaldi-native-io is the
independent reader of everything written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.io.tables import OutputError, WSpecifier, parse_wspecifier, read_input

pytest.importorskip("kaldi_native_fbank")
kio = pytest.importorskip("kaldi_native_io")

from pase.bin.compute_feats import main as compute_feats  # noqa: E402
from pase.bin.extract import main as extract  # noqa: E402
from pase.features.kaldi import mfcc  # noqa: E402


def _wav(path: Path, n: int, f0: float = 150.0) -> Path:
    t = np.arange(n) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), 16000, subtype="PCM_16")
    return path


@pytest.fixture
def scp_in(tmp_path: Path) -> Path:
    a = _wav(tmp_path / "a.wav", 8000, 120)
    b = _wav(tmp_path / "b.wav", 5000, 200)
    f = tmp_path / "wav.scp"
    f.write_text(f"a {a}\nb {b}\n")
    return f


def _read_scp(scp: Path) -> dict[str, np.ndarray]:
    with kio.SequentialFloatMatrixReader(f"scp:{scp}") as r:
        return {k: np.array(m, copy=True) for k, m in r}


def _read_ark(ark: Path, text: bool = False) -> dict[str, np.ndarray]:
    with kio.SequentialFloatMatrixReader(f"ark{',t' if text else ''}:{ark}") as r:
        return {k: np.array(m, copy=True) for k, m in r}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ write specifiers
def test_wspecifier_forms() -> None:
    assert parse_wspecifier("ark,scp:a.ark,b.scp") == WSpecifier(Path("a.ark"), Path("b.scp"))
    assert parse_wspecifier("scp,ark:a.ark,b.scp") == WSpecifier(Path("a.ark"), Path("b.scp"))
    assert parse_wspecifier("ark:a.ark") == WSpecifier(Path("a.ark"))
    assert parse_wspecifier("ark,t:a.txt") == WSpecifier(Path("a.txt"), None, text=True)
    assert parse_wspecifier("ark,b,f:-") == WSpecifier(None)
    assert parse_wspecifier("ark,scp,t,p:a,b") == WSpecifier(Path("a"), Path("b"), text=True)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("scp:b.scp", "needs an archive"),
        ("ark,x:a.ark", r"unknown option\(s\) \['x'\]"),
        ("ark,scp:a.ark", "two file names"),
        ("ark,scp:-,b.scp", "standard output"),
        ("ark,t,b:a", "contradict"),
        ("ark,ark:a", "repeated"),
        ("a.ark", "bad wspecifier"),
        ("ark:", "bad wspecifier"),
    ],
)
def test_wspecifier_refusals(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_wspecifier(spec)


def test_ark_to_stdout_and_text(tmp_path: Path, scp_in: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pase.bin.compute_feats", "--feat-type", "mfcc", str(scp_in),
         "ark:-"],
        capture_output=True, check=True,
    )  # fmt: skip
    (tmp_path / "out.ark").write_bytes(proc.stdout)
    binary = _read_ark(tmp_path / "out.ark")
    assert sorted(binary) == ["a", "b"]
    x, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    np.testing.assert_allclose(binary["a"], mfcc(x), rtol=1e-5, atol=1e-4)
    ark, scp = tmp_path / "t.ark", tmp_path / "t.scp"
    assert compute_feats(["--feat-type", "mfcc", str(scp_in), f"ark,scp,t:{ark},{scp}"]) == 0
    assert ark.read_bytes().startswith(b"a  [")  # text, not binary
    for got in (_read_ark(ark, text=True), _read_scp(scp)):
        assert sorted(got) == ["a", "b"]
        for k in got:
            np.testing.assert_allclose(got[k], binary[k], rtol=1e-6, atol=1e-5)


# ------------------------------------------------------------------ never overwrite inputs
def test_outputs_that_are_inputs_are_refused(tmp_path: Path, scp_in: Path, capsys) -> None:
    before = _tree(tmp_path)
    wav_a = tmp_path / "a.wav"
    cases = [
        f"ark,scp:{wav_a},{tmp_path / 'x.scp'}",  # the ark is an input wav
        f"ark,scp:{tmp_path / 'x.ark'},{scp_in}",  # the scp is the input wav.scp
        f"ark,scp:{tmp_path / 'x.ark'},{tmp_path / 'x.ark'}",  # both outputs one file
    ]
    for spec in cases:
        assert compute_feats(["--feat-type", "mfcc", str(scp_in), spec]) == 1
        err = capsys.readouterr().err
        assert "refusing" in err or "both" in err
    rc = compute_feats(
        ["--feat-type", "mfcc", "--utt2num-frames", str(scp_in), str(scp_in), f"ark:{tmp_path}/x"]
    )
    assert rc == 1 and "one of the inputs" in capsys.readouterr().err
    assert _tree(tmp_path) == before  # nothing written, nothing changed


def test_only_our_own_files_are_replaced(tmp_path: Path, scp_in: Path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my precious notes\n")
    ark, scp = tmp_path / "f.ark", tmp_path / "f.scp"
    for spec in (f"ark,scp:{notes},{scp}", f"ark,scp:{ark},{notes}"):
        assert compute_feats(["--feat-type", "mfcc", str(scp_in), spec]) == 1
        assert "not a" in capsys.readouterr().err
    assert notes.read_text() == "my precious notes\n"
    # our own ark/scp are replaced on a rerun
    assert compute_feats(["--feat-type", "mfcc", str(scp_in), f"ark,scp:{ark},{scp}"]) == 0
    assert compute_feats(["--feat-type", "fbank", str(scp_in), f"ark,scp:{ark},{scp}"]) == 0
    assert _read_scp(scp)["a"].shape[1] == 40


def test_data_dir_files_are_protected(tmp_path: Path, scp_in: Path) -> None:
    from pase.io.tables import check_outputs, input_files

    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(scp_in.read_text())
    (d / "utt2spk").write_text("a a\nb b\n")
    (d / "utt2num_samples").write_text("a 8000\nb 5000\n")
    protected = input_files(d, read_input(d))
    assert {d / "wav.scp", d / "utt2spk", d / "utt2num_samples", tmp_path / "a.wav"} <= protected
    with pytest.raises(OutputError, match="one of the inputs"):
        check_outputs({"utt2num_frames": d / "utt2num_samples"}, protected)
    # the feature tables Kaldi keeps in a data dir may be (re)written
    check_outputs({"scp": d / "feats.scp", "utt2num_frames": d / "utt2num_frames"}, protected)


# ------------------------------------------------------------------ valid Kaldi matrices
def test_too_short_utterance_is_named_or_skipped(tmp_path: Path, scp_in: Path, capsys) -> None:
    short = _wav(tmp_path / "c.wav", 300)
    scp_in.write_text(scp_in.read_text() + f"c {short}\n")
    ark, scp = tmp_path / "f.ark", tmp_path / "f.scp"
    assert compute_feats(["--feat-type", "mfcc", str(scp_in), f"ark,scp:{ark},{scp}"]) == 1
    err = capsys.readouterr().err
    assert "'c'" in err and "300 samples" in err and "--skip-short" in err
    assert not ark.exists()
    rc = compute_feats(["--feat-type", "mfcc", "--skip-short", str(scp_in), f"ark,scp:{ark},{scp}"])
    assert rc == 0 and "left out 1 too short" in capsys.readouterr().err
    got = _read_scp(scp)
    assert sorted(got) == ["a", "b"] and all(m.shape[0] > 0 for m in got.values())


def test_too_short_for_the_encoder_names_the_utterance(tmp_path: Path, capsys) -> None:
    from pase.models.frontend import wf_builder

    need = wf_builder("PASE").min_input_samples
    f = tmp_path / "wav.scp"
    f.write_text(f"tiny {_wav(tmp_path / 'tiny.wav', need - 1)}\n")
    assert extract(["--cfg", "PASE", str(f), f"ark:{tmp_path / 'x.ark'}"]) == 1
    err = capsys.readouterr().err
    assert "'tiny'" in err and f"{need - 1} samples" in err
    assert not (tmp_path / "x.ark").exists()


# ------------------------------------------------------------------ inputs of the wrong kind
def test_audio_file_given_as_a_list(tmp_path: Path, capsys) -> None:
    wav = _wav(tmp_path / "a.wav", 8000)
    with pytest.raises(ValueError, match="is an audio file"):
        read_input(wav)
    renamed = tmp_path / "a.lst"  # the content says so too
    renamed.write_bytes(wav.read_bytes())
    with pytest.raises(ValueError, match="is an audio file"):
        read_input(renamed)
    assert compute_feats(["--feat-type", "mfcc", str(wav), f"ark:{tmp_path / 'x.ark'}"]) == 1
    assert "is an audio file" in capsys.readouterr().err


def test_list_with_spaces_in_paths(tmp_path: Path) -> None:
    d = tmp_path / "my audio"
    d.mkdir()
    lst = tmp_path / "files.lst"
    lst.write_text(f"{_wav(d / 'x 1.wav', 4000)}\n{_wav(d / 'y.wav', 4000)}\n")
    utts = read_input(lst)
    assert [(u.utt_id, u.source) for u in utts] == [
        ("x 1", str(d / "x 1.wav")),
        ("y", str(d / "y.wav")),
    ]


def test_stereo_needs_a_channel_choice(tmp_path: Path, capsys) -> None:
    t = np.arange(8000) / 16000
    left, right = 0.3 * np.sin(2 * np.pi * 150 * t), 0.2 * np.sin(2 * np.pi * 330 * t)
    st = tmp_path / "st.wav"
    sf.write(st, np.stack([left, right], 1).astype(np.float32), 16000, subtype="PCM_16")
    f = tmp_path / "wav.scp"
    f.write_text(f"st {st}\n")
    ark = tmp_path / "f.ark"
    assert compute_feats(["--feat-type", "mfcc", str(f), f"ark:{ark}"]) == 1
    err = capsys.readouterr().err
    assert "'st'" in err and "2 channels" in err and "--channel" in err
    assert compute_feats(["--feat-type", "mfcc", "--channel", "1", str(f), f"ark:{ark}"]) == 0
    x, _ = sf.read(st, dtype="float32")
    np.testing.assert_allclose(_read_ark(ark)["st"], mfcc(x[:, 1]), rtol=1e-5, atol=1e-4)
    with pytest.warns(UserWarning, match="averaging 2 channels"):
        assert compute_feats(["--feat-type", "mfcc", "--channel", "mix", str(f), f"ark:{ark}"]) == 0
    np.testing.assert_allclose(_read_ark(ark)["st"], mfcc(x.mean(1)), rtol=1e-4, atol=1e-3)
