"""pase-make-data-cfg reruns: skipped when nothing changed, recomputed (saying why) otherwise;
channel choice; audio files given where a data dir or list is expected."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin.make_data_cfg import main
from pase.data import ChunkDataset, from_data_cfg
from pase.io.provenance import read_stamp, stamp_path
from tests.datasets.conftest import make_corpus, signature, write_wav


@pytest.fixture
def setup(tmp_path: Path):
    c = make_corpus(tmp_path, n_spk=4, n_utt=2)
    out = tmp_path / "cfg.json"
    argv = ["--train_dir", str(c.dir), "--cfg_file", str(out), "--valid_spk_ratio", "0.25"]
    return c, out, argv


def _run(argv: list[str], capsys) -> str:
    """stderr of a successful run, plus 'wrote' when the cfg file was (re)written."""
    out = Path(argv[argv.index("--cfg_file") + 1])
    before = out.stat().st_mtime_ns if out.exists() else None
    assert main(argv) == 0
    err = capsys.readouterr().err
    return err + ("\nwrote" if out.stat().st_mtime_ns != before else "")


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_rerun_with_the_same_inputs_is_skipped(setup, capsys) -> None:
    _, out, argv = setup
    err = _run(argv, capsys)
    assert "wrote" in err and "up to date" not in err
    stamp = read_stamp(out)
    assert stamp is not None and stamp_path(out).is_file()
    assert set(stamp["inputs"]) == {"train_dir/wav.scp", "train_dir/utt2spk", "train_dir/segments"}
    assert stamp["inputs"]["train_dir/segments"]["sha256"] is None  # absent, tracked anyway
    assert len(stamp["audio"]) == 8 and stamp["options"]["valid_ratio"] == 0.25
    assert "cfg_file" not in stamp["options"]
    # the cfg keeps the original format: the stamp is a sidecar
    assert set(json.loads(out.read_text())) == {"train", "valid", "test", "speakers"}
    before = out.stat().st_mtime_ns
    err = _run(argv, capsys)
    assert f"{out} is up to date" in err and "wrote" not in err
    assert out.stat().st_mtime_ns == before


def test_a_touched_or_resized_audio_file_triggers_recomputation(setup, capsys) -> None:
    c, out, argv = setup
    _run(argv, capsys)
    wav = c.wav_dir / "spk2-utt1.wav"
    _bump_mtime(wav)
    err = _run(argv, capsys)
    assert "recomputing" in err and f"{wav} (modification time)" in err and "wrote" in err
    assert "up to date" in _run(argv, capsys)
    write_wav(wav, np.full(9999, signature(5)))  # another length
    err = _run(argv, capsys)
    assert f"{wav} (size" in err and "wrote" in err
    cfg = json.loads(out.read_text())
    (entry,) = [e for s in ("train", "valid") for e in cfg[s]["data"] if e["utt"] == "spk2-utt1"]
    assert entry["num_samples"] == 9999


def test_changed_options_inputs_or_output_trigger_recomputation(setup, capsys) -> None:
    c, out, argv = setup
    _run(argv, capsys)
    err = _run([*argv, "--seed", "7"], capsys)
    assert "option seed: 3 -> 7" in err and "wrote" in err
    err = _run([*argv, "--seed", "7", "--force"], capsys)
    assert "recomputing (--force)" in err and "wrote" in err
    # a data dir file changes (an utterance removed from wav.scp and utt2spk)
    for name in ("wav.scp", "utt2spk"):
        f = c.dir / name
        f.write_text("".join(ln for ln in f.read_text().splitlines(True) if "spk3-utt1" not in ln))
    err = _run([*argv, "--seed", "7"], capsys)
    assert "input train_dir/wav.scp" in err and "contents changed" in err
    assert "audio files no longer used" in err and "spk3-utt1.wav" in err
    # a segments file appears
    (c.dir / "segments").write_text(
        "".join(f"{u} {u} 0.0 -1\n" for u in sorted(c.utt2spk) if u != "spk3-utt1")
    )
    err = _run([*argv, "--seed", "7"], capsys)
    assert "input train_dir/segments" in err and "appeared" in err
    # the output edited by hand (or a run that died before writing its stamp)
    out.write_text(out.read_text().replace('"spk": "spk0"', '"spk": "spkX"'))
    err = _run([*argv, "--seed", "7"], capsys)
    assert "was modified or replaced" in err and "wrote" in err
    stamp_path(out).unlink()
    assert "no readable stamp" in _run([*argv, "--seed", "7"], capsys)


def test_verify_compares_contents(setup, capsys) -> None:
    c, out, argv = setup
    _run([*argv, "--verify"], capsys)
    assert all("sha256" in v for v in read_stamp(out)["audio"].values())
    wav = c.wav_dir / "spk0-utt0.wav"
    _bump_mtime(wav)  # same bytes, new time: up to date by content
    err = _run([*argv, "--verify"], capsys)
    assert "up to date" in err and "contents verified" in err
    # ... and the stamp now holds the new time, so a plain rerun is fast and up to date
    assert "up to date" in _run(argv, capsys)
    data = bytearray(wav.read_bytes())
    data[-2:] = b"\x00\x10"  # same size, same time, other samples
    st = wav.stat()
    wav.write_bytes(bytes(data))
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "up to date" in _run(argv, capsys)  # size + mtime cannot see it
    err = _run([*argv, "--verify"], capsys)
    assert f"{wav} (content)" in err and "wrote" in err


def test_a_failed_run_leaves_no_stamp(setup, capsys) -> None:
    c, out, argv = setup
    (c.wav_dir / "spk1-utt0.wav").unlink()
    assert main(argv) == 1
    assert not out.exists() and not stamp_path(out).exists()


def test_channel_choice_is_recorded_and_followed(tmp_path: Path, capsys) -> None:
    c = make_corpus(tmp_path, n_spk=2, n_utt=2)
    st = c.wav_dir / "spk1-utt1.wav"
    sf.write(st, np.stack([np.full(3000, 0.25), np.full(3000, -0.5)], 1), 16000, subtype="PCM_16")
    out = tmp_path / "c.json"
    argv = ["--train_dir", str(c.dir), "--cfg_file", str(out), "--val_ratio", "0"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "utterance 'spk1-utt1'" in err and str(st) in err and "has 2 channels" in err
    assert main([*argv, "--channel", "1"]) == 0
    entries = json.loads(out.read_text())["train"]["data"]
    assert {e["channel"] for e in entries} == {1}
    items = from_data_cfg(out, "train").items
    (item,) = [it for it in items if it.utt_id == "spk1-utt1"]
    assert item.channel == 1
    assert np.allclose(ChunkDataset([item], 500, with_pairs=False)[0]["chunk"], -0.5)
    capsys.readouterr()
    assert "option channel: 1 -> 'mix'" in _run([*argv, "--channel", "mix"], capsys)
    with pytest.raises(SystemExit):
        main([*argv, "--channel", "left"])
    assert "0-based channel index or 'mix'" in capsys.readouterr().err


def test_audio_files_where_dirs_or_lists_are_expected(tmp_path: Path, capsys) -> None:
    c = make_corpus(tmp_path, n_spk=2, n_utt=1)
    wav = c.wav_dir / "spk0-utt0.wav"
    out = str(tmp_path / "c.json")
    cases = [
        (["--train_dir", str(wav)], "a Kaldi data dir"),
        (["--train_dir", str(c.dir), "--valid_dir", str(wav)], "a Kaldi data dir"),
        (["--train_scp", str(wav)], "a file list"),
        (["--train_dir", str(c.dir), "--libri_dict", str(wav)], "a speaker map"),
    ]
    for args, expected in cases:
        assert main([*args, "--cfg_file", out]) == 1
        err = capsys.readouterr().err
        assert f"{wav} is an audio file (WAV), expected {expected}" in err, err
    before = wav.read_bytes()
    assert main(["--train_dir", str(c.dir), "--cfg_file", str(wav)]) == 1
    assert "is an audio file (WAV), expected the JSON data cfg to write" in capsys.readouterr().err
    assert wav.read_bytes() == before
    assert main(["--train_scp", str(c.dir), "--cfg_file", out]) == 1
    assert "is a folder, expected a file list" in capsys.readouterr().err
    (tmp_path / "bin.scp").write_bytes(b"\xff\xfe\x00binary")
    assert main(["--train_scp", str(tmp_path / "bin.scp"), "--cfg_file", out]) == 1
    assert "not a UTF-8 text file" in capsys.readouterr().err
