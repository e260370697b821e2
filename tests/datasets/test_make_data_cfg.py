"""pase-make-data-cfg: held-out speakers, original flags, speaker maps, bad audio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pase.bin.make_data_cfg import main
from pase.data import build_chunk_loader, from_data_cfg
from pase.data.data_cfg import SplitError, held_out_speakers, read_speaker_map
from tests.datasets.conftest import make_corpus


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_kaldi_dirs_hold_out_whole_speakers(tmp_path: Path) -> None:
    c = make_corpus(tmp_path, n_spk=10, n_utt=2, lengths=[1600, 3200])
    out = tmp_path / "cfg.json"
    assert (
        main(["--train_dir", str(c.dir), "--cfg_file", str(out), "--valid_spk_ratio", "0.2"]) == 0
    )
    cfg = _read(out)
    tr, va = cfg["train"], cfg["valid"]
    assert len(va["speakers"]) == 2 and len(tr["speakers"]) == 8
    assert not set(tr["speakers"]) & set(va["speakers"])
    assert {e["spk"] for e in va["data"]} == set(va["speakers"])
    assert len(tr["data"]) + len(va["data"]) == 20
    assert tr["total_wav_dur"] == sum(e["num_samples"] for e in tr["data"]) == 8 * 4800
    assert cfg["test"] == {"data": [], "speakers": [], "total_wav_dur": 0}
    assert sorted(cfg["speakers"]) == sorted(f"spk{i}" for i in range(10))
    e = tr["data"][0]
    assert set(e) == {"filename", "spk", "utt", "num_samples"}
    assert Path(e["filename"]).is_file()
    # deterministic for a seed, another seed holds out other speakers
    out2 = tmp_path / "cfg2.json"
    main(["--train_dir", str(c.dir), "--cfg_file", str(out2), "--valid_spk_ratio", "0.2"])
    assert _read(out2) == cfg
    seeds = set()
    for s in range(6):
        main(
            [
                "--train_dir",
                str(c.dir),
                "--cfg_file",
                str(out2),
                "--val_ratio",
                "0.2",
                "--seed",
                str(s),
            ]
        )
        seeds.add(tuple(sorted(_read(out2)["valid"]["speakers"])))
    assert len(seeds) > 1
    # the cfg feeds the dataset directly
    audio = from_data_cfg(out, "valid")
    assert audio.total_samples() == va["total_wav_dur"]
    assert all(it.num_samples for it in audio.items)
    assert next(iter(build_chunk_loader(audio, chunk_size=800, batch_size=2))).chunk.shape == (
        2,
        800,
    )


def test_explicit_valid_and_test_dirs(tmp_path: Path) -> None:
    tr = make_corpus(tmp_path / "tr", n_spk=2, n_utt=2)
    te = make_corpus(tmp_path / "te", n_spk=1, n_utt=2)
    out = tmp_path / "c.json"
    rc = main(
        [
            "--train_dir",
            str(tr.dir),
            "--valid_dir",
            str(te.dir),
            "--test_dir",
            str(te.dir),
            "--cfg_file",
            str(out),
        ]
    )
    assert rc == 0
    cfg = _read(out)
    assert len(cfg["train"]["data"]) == 4 and len(cfg["valid"]["data"]) == 2
    assert cfg["valid"] == cfg["test"]


def test_original_flags_with_lists_and_speaker_maps(tmp_path: Path) -> None:
    c = make_corpus(tmp_path, n_spk=4, n_utt=2)
    names = [f"{u}.wav" for u in c.utt2spk]
    (tmp_path / "tr.scp").write_text("\n".join(names[:6]) + "\n")
    (tmp_path / "te.scp").write_text("\n".join(names[6:]) + "\n")
    spk_ids = {n: int(c.utt2spk[n[:-4]][3:]) + 100 for n in names}
    maps = {
        "dict.json": lambda p: p.write_text(json.dumps(spk_ids)),
        "dict.txt": lambda p: p.write_text("".join(f"{k} {v}\n" for k, v in spk_ids.items())),
        "dict.npy": lambda p: np.save(p, spk_ids, allow_pickle=True),
    }
    outs = []
    for fname, write in maps.items():
        write(tmp_path / fname)
        out = tmp_path / f"{fname}.cfg"
        argv = [
            "--data_root",
            str(c.wav_dir),
            "--train_scp",
            str(tmp_path / "tr.scp"),
            "--test_scp",
            str(tmp_path / "te.scp"),
            "--libri_dict",
            str(tmp_path / fname),
            "--cfg_file",
            str(out),
            "--val_ratio",
            "0.34",
        ]
        if fname.endswith(".npy"):
            with pytest.warns(UserWarning, match="legacy numpy-pickled"):
                assert main(argv) == 0
        else:
            assert main(argv) == 0
        outs.append(_read(out))
    cfg = outs[0]
    # train speakers 100..102 (3 speakers): one held out
    assert len(cfg["valid"]["speakers"]) == 1
    assert not set(cfg["train"]["speakers"]) & set(cfg["valid"]["speakers"])
    assert cfg["test"]["speakers"] == [103]
    assert {e["filename"] for e in cfg["train"]["data"] + cfg["valid"]["data"]} == set(names[:6])
    assert cfg["data_root"] == str(c.wav_dir)
    # the text map gives string speakers; the split is the same
    assert outs[2] == cfg
    assert [e["utt"] for e in outs[1]["valid"]["data"]] == [e["utt"] for e in cfg["valid"]["data"]]
    audio = from_data_cfg(tmp_path / "dict.json.cfg", "train")
    assert audio.items[0].source == str(c.wav_dir / audio.items[0].utt_id) + ".wav"


def test_utterance_split_and_valid_scp(tmp_path: Path, capsys) -> None:
    c = make_corpus(tmp_path, n_spk=1, n_utt=10)
    names = [f"{u}.wav" for u in c.utt2spk]
    (tmp_path / "tr.scp").write_text("\n".join(names[:8]))
    (tmp_path / "va.scp").write_text("\n".join(names[8:]))
    out = tmp_path / "c.json"
    base = [
        "--data_root",
        str(c.wav_dir),
        "--train_scp",
        str(tmp_path / "tr.scp"),
        "--cfg_file",
        str(out),
    ]
    # one speaker, no map: holding out speakers is impossible, said clearly
    assert main(base) == 1
    assert "(give --libri-dict / utt2spk, a validation set, or --split-by utterance)" in (
        capsys.readouterr().err
    )
    assert main([*base, "--split_by", "utterance", "--val_ratio", "0.25"]) == 0
    cfg = _read(out)
    assert len(cfg["train"]["data"]) == 6 and len(cfg["valid"]["data"]) == 2
    assert main([*base, "--valid_scp", str(tmp_path / "va.scp")]) == 0
    assert [e["filename"] for e in _read(out)["valid"]["data"]] == names[8:]


def test_bad_audio_fails_or_is_skipped(tmp_path: Path, capsys) -> None:
    c = make_corpus(tmp_path, n_spk=3, n_utt=2)
    (c.wav_dir / "spk1-utt0.wav").unlink()
    out = tmp_path / "c.json"
    assert main(["--train_dir", str(c.dir), "--cfg_file", str(out)]) == 1
    err = capsys.readouterr().err
    assert "utterance 'spk1-utt0'" in err and str(c.wav_dir / "spk1-utt0.wav") in err
    assert not out.exists()
    assert main(["--train_dir", str(c.dir), "--cfg_file", str(out), "--skip_bad_audio"]) == 0
    cfg = _read(out)
    utts = {e["utt"] for e in cfg["train"]["data"] + cfg["valid"]["data"]}
    assert len(utts) == 5 and "spk1-utt0" not in utts


def test_segments_are_written_and_read_back(tmp_path: Path) -> None:
    c = make_corpus(tmp_path, n_spk=2, n_utt=1, lengths=[16000])
    (c.dir / "segments").write_text(
        "spk0-a spk0-utt0 0.0 0.5\nspk0-b spk0-utt0 0.5 1.0\nspk1-a spk1-utt0 0.1 0.4\n"
    )
    (c.dir / "utt2spk").write_text("spk0-a spk0\nspk0-b spk0\nspk1-a spk1\n")
    out = tmp_path / "c.json"
    assert main(["--train_dir", str(c.dir), "--cfg_file", str(out), "--val_ratio", "0"]) == 0
    data = _read(out)["train"]["data"]
    assert [(e["utt"], e["num_samples"], e["start"], e["end"]) for e in data] == [
        ("spk0-a", 8000, 0.0, 0.5),
        ("spk0-b", 8000, 0.5, 1.0),
        ("spk1-a", 4800, 0.1, 0.4),
    ]
    items = from_data_cfg(out, "train").items
    assert items[1].is_segment and items[1].recording == "spk0-utt0"


def test_speaker_helpers(tmp_path: Path) -> None:
    assert held_out_speakers(["a", "b"], 0.0, 1) == set()
    assert len(held_out_speakers(["a", "b", "c"], 0.9, 1)) == 2  # one always stays in training
    with pytest.raises(SplitError, match="only 1 speaker"):
        held_out_speakers(["a", "a"], 0.1, 1)
    bad = tmp_path / "m.txt"
    bad.write_text("a.wav 1 extra\n")
    with pytest.raises(SplitError, match=r"m.txt:1: expected '<filename> <speaker>'"):
        read_speaker_map(bad)


def test_console_script_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pase.bin.make_data_cfg", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for flag in (
        "--data_root",
        "--train_scp",
        "--valid_scp",
        "--test_scp",
        "--libri_dict",
        "--cfg_file",
        "--val_ratio",
        "--seed",
        "--train_dir",
        "--valid_spk_ratio",
    ):
        assert flag in r.stdout
