"""VoxCeleb1 identification prep (pase.corpus.voxceleb, pase-prepare-voxceleb) on small
VoxCeleb1-layout trees, and every bad input named with its file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin.prepare_voxceleb import main as prep_main
from pase.corpus.voxceleb import (
    VoxCelebError,
    encoder_min_samples,
    list_entry,
    prepare_voxceleb,
    read_iden_split,
)
from pase.io.datadir import read_kv, read_spk2utt, validate_data_dir

#: (set, speaker/video/nnnnn.wav) lines of a small tree: 3 speakers, all in every set
SPLIT = [
    (1, "id10001/1zcIwhmdeo4/00001.wav"),
    (1, "id10001/1zcIwhmdeo4/00002.wav"),
    (2, "id10001/7gWzIy6yIIk/00001.wav"),
    (3, "id10001/7gWzIy6yIIk/00002.wav"),
    (1, "id10002/-x_Ab9Cd-Ef/00001.wav"),
    (1, "id10002/-x_Ab9Cd-Ef/00003.wav"),
    (2, "id10002/Zz0_-Yy1234/00002.wav"),
    (3, "id10002/Zz0_-Yy1234/00005.wav"),
    (1, "id10300/Q9bcdefghij/00001.wav"),
    (2, "id10300/Q9bcdefghij/00002.wav"),
    (3, "id10300/Q9bcdefghij/00003.wav"),
]


def write_wav(path: Path, n: int, rate: int = 16000, k: int = 0, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.3 * np.sin(2 * np.pi * (120 + 15 * k) * np.arange(n) / rate).astype(np.float32)
    if channels > 1:
        x = np.stack([x] * channels, 1)
    sf.write(path, x, rate, subtype="PCM_16")


def make_tree(root: Path, split=SPLIT, *, lengths: dict[str, int] | None = None) -> Path:
    """A VoxCeleb1-layout tree: ``wav/<spk>/<video>/<n>.wav`` tones and ``iden_split.txt``."""
    for k, (_, rel) in enumerate(split):
        write_wav(root / "wav" / rel, (lengths or {}).get(rel, 8000 + 160 * k), k=k)
    (root / "iden_split.txt").write_text("".join(f"{s} {rel}\n" for s, rel in split))
    return root


def utt(rel: str) -> str:
    return rel[: -len(".wav")].replace("/", "-")


def test_good_tree(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "vox")
    rep = prepare_voxceleb(root, tmp_path / "data", jobs=2)
    assert {k: v[:2] for k, v in rep.sets.items()} == {
        "train": (5, 3), "dev": (3, 3), "test": (3, 3)
    }  # fmt: skip
    for name, number in (("train", 1), ("dev", 2), ("test", 3)):
        d = tmp_path / "data" / name
        assert validate_data_dir(d, no_text=True).ok
        u2s = read_kv(d / "utt2spk")
        want = sorted(utt(rel) for s, rel in SPLIT if s == number)
        assert list(u2s) == want  # sorted, <speaker>-<video>-<nnnnn>
        assert all(u.startswith(f"{s}-") for u, s in u2s.items())
        wav = read_kv(d / "wav.scp")
        for u, p in wav.items():
            assert Path(p).is_absolute() and Path(p).is_file()
            assert u2s[u] == Path(p).parts[-3]  # the speaker folder is the label
        n = read_kv(d / "utt2num_samples")
        assert all(int(n[u]) == sf.info(wav[u]).frames for u in wav)
        assert read_spk2utt(d / "spk2utt") == {
            s: sorted(u for u in u2s if u2s[u] == s) for s in set(u2s.values())
        }
    assert read_kv(tmp_path / "data" / "dev" / "utt2spk")["id10002-Zz0_-Yy1234-00002"] == "id10002"


def test_second_tree_with_other_ids(tmp_path: Path) -> None:
    """Nothing is tied to the ids of the first tree: other speakers, videos, numbers."""
    split = [
        (1, "id00042/AAAAAAAAAAA/00007.wav"),
        (1, "id00042/b-b-b-b-b-b/00001.wav"),
        (2, "id00042/b-b-b-b-b-b/00002.wav"),
        (3, "id00042/AAAAAAAAAAA/00099.wav"),
        (1, "spk_7/x/1.wav"),
        (2, "spk_7/x/2.wav"),
        (3, "spk_7/y/3.wav"),
    ]
    root = make_tree(tmp_path / "other", split)
    assert prep_main([str(root), str(tmp_path / "data"), "--nj", "1"]) == 0
    u2s = read_kv(tmp_path / "data" / "train" / "utt2spk")
    assert u2s == {
        "id00042-AAAAAAAAAAA-00007": "id00042",
        "id00042-b-b-b-b-b-b-00001": "id00042",
        "spk_7-x-1": "spk_7",
    }
    assert sorted(read_kv(tmp_path / "data" / "test" / "utt2spk")) == [
        "id00042-AAAAAAAAAAA-00099", "spk_7-y-3"
    ]  # fmt: skip


def _error(tmp_path: Path, root: Path, **kw) -> str:
    with pytest.raises(VoxCelebError) as e:
        prepare_voxceleb(root, tmp_path / "data", **kw)
    return str(e.value)


def test_missing_split_file(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "vox")
    (root / "iden_split.txt").unlink()
    assert f"{root / 'iden_split.txt'}: no such file" in _error(tmp_path, root)
    msg = _error(tmp_path, root, split_file=tmp_path / "meta" / "split.txt")
    assert f"{tmp_path / 'meta' / 'split.txt'}: no such file" in msg


def test_split_line_naming_a_missing_wav(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "vox")
    (root / "wav" / "id10002" / "Zz0_-Yy1234" / "00005.wav").unlink()
    msg = _error(tmp_path, root)
    assert f"{root / 'iden_split.txt'}:8: id10002/Zz0_-Yy1234/00005.wav: no such file" in msg
    assert not (tmp_path / "data").exists()  # nothing written


def test_bad_set_number_and_bad_lines(tmp_path: Path) -> None:
    split_file = make_tree(tmp_path / "vox") / "iden_split.txt"
    lines = split_file.read_text().splitlines()
    for bad, want in (
        ("4 id10001/1zcIwhmdeo4/00001.wav", "set '4' is not 1 (train), 2 (dev) or 3 (test)"),
        ("x id10001/1zcIwhmdeo4/00001.wav", "set 'x' is not 1"),
        ("1 id10001/00001.wav", "is not <speaker>/<video>/<nnnnn>.wav"),
        ("1 id-1/1zcIwhmdeo4/00001.wav", "is not <speaker>/<video>/<nnnnn>.wav"),
        ("1 id10001/1zcIwhmdeo4/00001.flac", "is not <speaker>/<video>/<nnnnn>.wav"),
        ("1", "expected '<set> <speaker>/<video>/<nnnnn>.wav'"),
        ("2 id10001/1zcIwhmdeo4/00002.wav", "listed twice"),
    ):
        split_file.write_text("\n".join([*lines[:3], bad, *lines[3:]]) + "\n")
        msg = _error(tmp_path, split_file.parent)
        assert msg.startswith(f"{split_file}:4: ") and want in msg, msg


def test_dev_or_test_speaker_never_in_train(tmp_path: Path) -> None:
    split = [*SPLIT, (3, "id10999/Q9bcdefghij/00001.wav")]
    root = make_tree(tmp_path / "vox", split)
    msg = _error(tmp_path, root)
    assert f"{root / 'iden_split.txt'}:12: speaker id10999 (test) has no training" in msg
    assert "the label set is the training speakers" in msg


def test_too_short_audio(tmp_path: Path) -> None:
    short = "id10001/7gWzIy6yIIk/00001.wav"
    root = make_tree(tmp_path / "vox", lengths={short: 470})
    msg = _error(tmp_path, root)
    assert f"{(root / 'wav' / short).resolve()}: 470 samples" in msg and "minimum 471" in msg
    # the minimum is an option; skip_short drops (and lists) instead
    assert prepare_voxceleb(root, tmp_path / "a", min_samples=400).sets["dev"][0] == 3
    msg = _error(tmp_path, root, min_samples=9000)
    assert "id10001/1zcIwhmdeo4/00001.wav: 8000 samples" in msg and "minimum 9000" in msg
    rep = prepare_voxceleb(root, tmp_path / "b", skip_short=True)
    assert rep.sets["dev"][0] == 2 and len(rep.dropped) == 1 and short in rep.dropped[0]
    assert utt(short) not in read_kv(tmp_path / "b" / "dev" / "utt2spk")


def test_the_default_minimum_is_the_encoders() -> None:
    from pase.models.frontend import wf_builder

    assert encoder_min_samples("PASE+") == wf_builder("PASE+").min_input_samples == 471


def test_non_16k_and_multichannel_audio(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "vox")
    bad = root / "wav" / "id10300" / "Q9bcdefghij" / "00002.wav"
    write_wav(bad, 8000, rate=8000)
    msg = _error(tmp_path, root)
    assert f"{bad.resolve()}: sample rate is 8000 Hz, expected 16000 Hz" in msg
    write_wav(bad, 8000, channels=2)
    assert f"{bad.resolve()}: has 2 channels" in _error(tmp_path, root)


def test_wav_dirs_searched_in_order(tmp_path: Path) -> None:
    """The dev and test archives unpacked into two folders (and a split file elsewhere)."""
    root = make_tree(tmp_path / "vox")
    other = tmp_path / "test_wav"
    for rel in ("id10300/Q9bcdefghij/00003.wav", "id10002/Zz0_-Yy1234/00005.wav"):
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "wav" / rel).rename(other / rel)
    split = tmp_path / "iden_split.txt"
    (root / "iden_split.txt").rename(split)
    assert "00005.wav: no such file in" in _error(tmp_path, root, split_file=split)
    rep = prepare_voxceleb(root, tmp_path / "data", split_file=split,
                           wav_dirs=[root / "wav", other])  # fmt: skip
    assert rep.sets["test"][0] == 3
    wav = read_kv(tmp_path / "data" / "test" / "wav.scp")
    assert wav["id10300-Q9bcdefghij-00003"] == str(other / "id10300/Q9bcdefghij/00003.wav")
    assert f"{tmp_path / 'nowhere'}: no such folder" in _error(
        tmp_path, root, split_file=split, wav_dirs=[tmp_path / "nowhere"]
    )


def test_subset_is_seeded(tmp_path: Path) -> None:
    split = [(s, f"id1{k:04d}/vid{v}/{n:05d}.wav") for k in range(6) for v in range(2)
             for n, s in ((1, 1), (2, 1), (3, 2), (4, 3))]  # fmt: skip
    root = make_tree(tmp_path / "vox", split)

    def prep(out: str, seed: int) -> dict[str, dict[str, str]]:
        prepare_voxceleb(root, tmp_path / out, num_speakers=4, utts_per_speaker=1, seed=seed)
        return {s: read_kv(tmp_path / out / s / "utt2spk") for s in ("train", "dev", "test")}

    a, b, c = prep("a", 0), prep("a2", 0), prep("c", 5)
    assert a == b and a != c
    for sets in (a, c):
        speakers = sorted(set(sets["train"].values()))
        assert len(speakers) == 4
        for s in sets.values():
            assert sorted(s.values()) == speakers  # one utterance per speaker and set
    assert "the training set has 6 speakers" in _error(tmp_path, root, num_speakers=7)


def test_read_iden_split_keeps_file_order(tmp_path: Path) -> None:
    sets = read_iden_split(make_tree(tmp_path / "vox") / "iden_split.txt")
    assert [u.rel for u in sets["dev"]] == [rel for s, rel in SPLIT if s == 2]
    assert sets["train"][2].utt == "id10002--x_Ab9Cd-Ef-00001"


# ------------------------------------------------------------------ mini-VoxCeleb lists
def test_list_entries_in_both_forms() -> None:
    a = list_entry("id10238_-_Df88eEFNXxE_-_00001.wav", "l:1")
    b = list_entry("id10238/Df88eEFNXxE/00001.wav", "l:2")
    assert a.rel == b.rel == "id10238/Df88eEFNXxE/00001.wav"
    # a video id holding the separator itself (YouTube ids may hold '_' and '-')
    assert list_entry("id10001_-_ab_-_cd-ef_-_00002.wav", "l").video == "ab_-_cd-ef"
    with pytest.raises(VoxCelebError, match="l:3: "):
        list_entry("id10238_Df88eEFNXxE_00001.wav", "l:3")


def test_mini_voxceleb_lists(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "vox")
    tr, te = tmp_path / "minivox_tr_list.txt", tmp_path / "minivox_test_list.txt"
    tr.write_text("id10001_-_1zcIwhmdeo4_-_00002.wav\nid10002_-_-x_Ab9Cd-Ef_-_00001.wav\n")
    te.write_text("id10001_-_7gWzIy6yIIk_-_00002.wav\nid10002/Zz0_-Yy1234/00005.wav\n")
    assert prep_main([str(root), str(tmp_path / "data"), "--train-list", str(tr),
                      "--test-list", str(te)]) == 0  # fmt: skip
    sets = {s: read_kv(tmp_path / "data" / s / "utt2spk") for s in ("train", "dev", "test")}
    assert list(sets["train"]) == ["id10001-1zcIwhmdeo4-00002", "id10002--x_Ab9Cd-Ef-00001"]
    assert list(sets["test"]) == ["id10001-7gWzIy6yIIk-00002", "id10002-Zz0_-Yy1234-00005"]
    # dev: the split's validation utterances of the listed speakers (not id10300)
    assert list(sets["dev"]) == ["id10001-7gWzIy6yIIk-00001", "id10002-Zz0_-Yy1234-00002"]
    dev = tmp_path / "dev.txt"
    dev.write_text("id10001_-_1zcIwhmdeo4_-_00001.wav\n")
    rep = prepare_voxceleb(root, tmp_path / "d2", lists={"train": tr, "test": te, "dev": dev})
    assert rep.sets["dev"][:2] == (1, 1)
    # errors name the list file and line
    te.write_text("id10001_-_7gWzIy6yIIk_-_00002.wav\nid10300_-_Q9bcdefghij_-_00003.wav\n")
    msg = _error(tmp_path, root, lists={"train": tr, "test": te})
    assert f"{te}:2: speaker id10300 (test) has no training utterance" in msg
    te.write_text("id10001_-_7gWzIy6yIIk_-_00077.wav\n")
    assert f"{te}:1: id10001/7gWzIy6yIIk/00077.wav: no such file" in _error(
        tmp_path, root, lists={"train": tr, "test": te}
    )
    (root / "iden_split.txt").unlink()
    assert "without a dev list" in _error(tmp_path, root, lists={"train": tr, "test": te})


# ------------------------------------------------------------------ the command
def test_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_tree(tmp_path / "vox")
    (root / "iden_split.txt").write_text("7 id10001/1zcIwhmdeo4/00001.wav\n")
    assert prep_main([str(root), str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"pase-prepare-voxceleb: error: {root / 'iden_split.txt'}:1: set '7'")
    assert "Traceback" not in err
    assert prep_main([str(root), str(tmp_path / "d"), "--train-list", "x"]) == 1
    assert "--train-list and --test-list go together" in capsys.readouterr().err
    assert prep_main([str(tmp_path / "nowhere"), str(tmp_path / "d")]) == 1
    assert "nowhere: no such VoxCeleb folder" in capsys.readouterr().err
