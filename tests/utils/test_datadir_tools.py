"""Data-dir tools: validate / fix / split / combine / subset and utt2spk <-> spk2utt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pase.io.datadir import (
    DataDir,
    DataDirError,
    check_data_dir,
    combine_data_dirs,
    fix_data_dir,
    read_kv,
    read_spk2utt,
    spk2utt_to_utt2spk,
    split_data_dir,
    subset_data_dir,
    utt2spk_to_spk2utt,
    validate_data_dir,
)
from tests.utils.helpers import make_datadir, read_table, run_tool

SPEAKERS = {"1001": 5, "1002": 2, "1003": 7, "2004": 1, "2005": 4, "3006": 3}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_datadir(tmp_path / "train", SPEAKERS)


def test_spk2utt_round_trip_python_and_scripts(data: Path, tmp_path: Path) -> None:
    u2s = read_kv(data / "utt2spk")
    s2u = utt2spk_to_spk2utt(u2s)
    assert spk2utt_to_utt2spk(s2u) == u2s
    assert s2u == read_spk2utt(data / "spk2utt")
    p = run_tool("utt2spk_to_spk2utt.pl", data / "utt2spk", check=True)
    assert p.stdout == (data / "spk2utt").read_text()
    (tmp_path / "s2u").write_text(p.stdout)
    p = run_tool("spk2utt_to_utt2spk.pl", tmp_path / "s2u", check=True)
    assert p.stdout == (data / "utt2spk").read_text()
    with pytest.raises(DataDirError, match="u1"):
        spk2utt_to_utt2spk({"a": ["u1"], "b": ["u1"]})


def test_validate_good_dir(data: Path) -> None:
    rep = validate_data_dir(data)
    assert rep.ok and rep.errors == []
    assert run_tool("validate_data_dir.sh", data).returncode == 0


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "text").unlink(), "text is missing"),
        (lambda d: _swap_lines(d / "wav.scp"), "wav.scp is not sorted"),
        (lambda d: _drop_line(d / "text"), "text and utt2spk have different utterances"),
        (lambda d: _drop_line(d / "spk2utt"), "spk2utt does not match utt2spk"),
        (lambda d: _append(d / "utt2spk", "zzz-1 1001\n"), "does not sort by speaker"),
        (lambda d: _append(d / "utt2spk", "1001-000 1001\n"), "duplicate key"),
        (lambda d: _set(d / "spk2gender", "1001", "x"), "gender must be m or f"),
        (lambda d: _drop_line(d / "spk2gender"), "spk2gender and utt2spk have different"),
        (lambda d: _copy_with(d, "utt2dur", "abc"), "utt2dur: utterance"),
    ],
)
def test_validate_finds_problems(data: Path, damage, message: str) -> None:
    damage(data)
    rep = check_data_dir(data)
    assert not rep.ok
    assert any(message in e for e in rep.errors), rep.errors
    with pytest.raises(DataDirError, match=str(data)):
        validate_data_dir(data)
    p = run_tool("validate_data_dir.sh", data)
    assert p.returncode == 1 and message in p.stderr


def test_validate_options(data: Path) -> None:
    _set(data / "text", "1001-000", "BAD\x07BELL")
    assert any("non-printable" in e for e in check_data_dir(data).errors)
    assert check_data_dir(data, non_print=True).ok
    assert run_tool("validate_data_dir.sh", "--non-print", data).returncode == 0
    (data / "text").unlink()
    assert check_data_dir(data, no_text=True).ok
    assert not check_data_dir(data).ok
    assert run_tool("validate_data_dir.sh", "--no-text", data).returncode == 0


def test_fix_keeps_common_utterances_with_backup(data: Path) -> None:
    text = read_table(data / "text")
    dropped = sorted(text)[3]
    _drop_line(data / "text", dropped)
    _append(data / "wav.scp", "9999-000 /nowhere.wav\n")  # recording-only utterance
    original_wav = (data / "wav.scp").read_text()
    p = run_tool("fix_data_dir.sh", data)
    assert p.returncode == 0, p.stderr
    assert "kept 21 utterances, removed 2" in p.stderr
    assert validate_data_dir(data).ok
    assert dropped not in read_table(data / "utt2spk")
    assert "9999-000" not in read_table(data / "wav.scp")
    assert (data / ".backup" / "wav.scp").read_text() == original_wav
    # a speaker whose only utterance disappears leaves spk2utt and spk2gender
    _drop_line(data / "text", "2004-000")
    kept, removed = fix_data_dir(data, log=False)
    assert (kept, removed) == (20, 1)
    assert "2004" not in read_table(data / "spk2gender")
    assert "2004" not in read_table(data / "spk2utt")


def test_fix_with_segments_filters_recordings(tmp_path: Path) -> None:
    d = make_datadir(tmp_path / "d", {"s1": 2})
    (d / "wav.scp").write_text("rec1 /a.wav\nrec2 /b.wav\n")
    (d / "segments").write_text("s1-000 rec1 0.0 1.0\ns1-001 rec3 0.0 1.0\n")
    fix_data_dir(d, log=False)
    assert read_table(d / "segments") == {"s1-000": "rec1 0.0 1.0"}
    assert read_table(d / "wav.scp") == {"rec1": "/a.wav"}
    assert validate_data_dir(d).ok
    assert [u.source for u in DataDir(d).utterances()] == ["/a.wav"]


def test_fix_with_nothing_in_common(data: Path) -> None:
    (data / "text").write_text("other-1 hello\n")
    with pytest.raises(DataDirError, match="no utterance is present"):
        fix_data_dir(data, log=False)


def test_split_by_speaker(data: Path) -> None:
    parts = split_data_dir(data, 3)
    assert [p.name for p in parts] == ["1", "2", "3"]
    assert parts[0].parent == data / "split3"
    u2s = read_kv(data / "utt2spk")
    seen: dict[str, str] = {}
    spk_part: dict[str, int] = {}
    sizes = []
    for k, p in enumerate(parts):
        assert validate_data_dir(p).ok
        part_u2s = read_kv(p / "utt2spk")
        sizes.append(len(part_u2s))
        assert set(read_kv(p / "wav.scp")) == set(part_u2s) == set(read_kv(p / "text"))
        for u, s in part_u2s.items():
            assert u not in seen
            seen[u] = s
            assert spk_part.setdefault(s, k) == k  # a speaker lives in one part
    assert seen == u2s
    # 22 utterances, speakers of sizes 5 2 7 1 4 3: best contiguous cut is 7 | 8 | 7
    assert sizes == [7, 8, 7]
    with pytest.raises(DataDirError, match="6 speakers into 7 parts"):
        split_data_dir(data, 7)
    p = run_tool("split_data.sh", data, "7")
    assert p.returncode == 1 and "--per-utt" in p.stderr


def test_split_per_utt_and_rewrite(data: Path) -> None:
    p = run_tool("split_data.sh", "--per-utt", data, "4")
    assert p.returncode == 0, p.stderr
    parts = sorted((data / "split4utt").iterdir())
    sizes = [len(read_kv(d / "utt2spk")) for d in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == 22
    merged = {}
    for d in parts:
        merged.update(read_kv(d / "utt2spk"))
        assert validate_data_dir(d).ok
    assert merged == read_kv(data / "utt2spk")
    # re-splitting after text was removed leaves no stale text in the parts
    (data / "text").unlink()
    split_data_dir(data, 4, per_utt=True)
    assert not any((d / "text").exists() for d in parts)


def test_split_carries_feats_and_segments(tmp_path: Path) -> None:
    d = make_datadir(tmp_path / "d", {"a": 2, "b": 2})
    (d / "wav.scp").write_text("ra /ra.wav\nrb /rb.wav\nrc /rc.wav\n")
    (d / "segments").write_text("a-000 ra 0 1\na-001 ra 1 2\nb-000 rb 0 1\nb-001 rb 1 2\n")
    (d / "feats.scp").write_text(
        "".join(f"{u} f.ark:{i}\n" for i, u in enumerate(["a-000", "a-001", "b-000", "b-001"]))
    )
    (d / "frame_shift").write_text("0.01\n")
    parts = split_data_dir(d, 2)
    assert read_table(parts[0] / "wav.scp") == {"ra": "/ra.wav"}
    assert read_table(parts[1] / "wav.scp") == {"rb": "/rb.wav"}
    assert set(read_table(parts[1] / "feats.scp")) == {"b-000", "b-001"}
    assert (parts[1] / "frame_shift").read_text() == "0.01\n"


def test_combine_and_subset(tmp_path: Path) -> None:
    a = make_datadir(tmp_path / "a", {"1": 2, "2": 1})
    b = make_datadir(tmp_path / "b", {"3": 2}, text=False)
    out = tmp_path / "all"
    p = run_tool("combine_data.sh", out, a, b)
    assert p.returncode == 0, p.stderr
    assert "text dropped" in p.stderr
    assert len(read_kv(out / "utt2spk")) == 5
    assert not (out / "text").exists()
    assert validate_data_dir(out, no_text=True).ok
    with pytest.raises(DataDirError, match=r"'1-000' in both .*a and .*a2"):
        shutil.copytree(a, tmp_path / "a2")
        combine_data_dirs(tmp_path / "dup", [a, tmp_path / "a2"], log=False)
    n = subset_data_dir(out, tmp_path / "sub", speakers=["1", "3"])
    assert n == 4 and set(read_kv(tmp_path / "sub" / "spk2gender")) == {"1", "3"}
    assert validate_data_dir(tmp_path / "sub", no_text=True).ok
    (tmp_path / "ulist").write_text("1-001\n3-000 extra columns\n")
    p = run_tool("subset_data_dir.sh", "--utt-list", tmp_path / "ulist", out, tmp_path / "s2")
    assert p.returncode == 0, p.stderr
    assert list(read_kv(tmp_path / "s2" / "utt2spk")) == ["1-001", "3-000"]
    with pytest.raises(DataDirError, match="nope"):
        subset_data_dir(out, tmp_path / "s3", utterances=["nope"])


# ----------------------------------------------------------------------------------- helpers


def _swap_lines(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[0], lines[1] = lines[1], lines[0]
    path.write_text("".join(lines))


def _drop_line(path: Path, key: str | None = None) -> None:
    lines = path.read_text().splitlines(keepends=True)
    idx = 0 if key is None else next(i for i, ln in enumerate(lines) if ln.split()[0] == key)
    del lines[idx]
    path.write_text("".join(lines))


def _append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def _set(path: Path, key: str, value: str) -> None:
    t = read_table(path)
    t[key] = value
    path.write_text("".join(f"{k} {v}\n" for k, v in sorted(t.items())))


def _copy_with(d: Path, name: str, value: str) -> None:
    (d / name).write_text("".join(f"{u} {value}\n" for u in read_table(d / "utt2spk")))


def test_audio_files_given_as_data_dirs_or_tables(data: Path, tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros(1600, np.float32), 16000, subtype="PCM_16")
    expect = f"{wav} is an audio file (WAV), expected a Kaldi data dir"
    for tool, args in (
        ("validate_data_dir.sh", [wav]),
        ("fix_data_dir.sh", [wav]),
        ("split_data.sh", [wav, "2"]),
        ("combine_data.sh", [tmp_path / "out", data, wav]),
    ):
        p = run_tool(tool, *args)
        assert p.returncode == 1 and expect in p.stderr, (tool, p.stderr)
    for call in (
        lambda: DataDir(wav),
        lambda: subset_data_dir(wav, tmp_path / "s", utterances=["a"]),
        lambda: subset_data_dir(data, wav, speakers=["1001"]),
    ):
        with pytest.raises(DataDirError, match="is an audio file"):
            call()
    with pytest.raises(
        DataDirError, match=r"x\.wav is an audio file \(WAV\), expected a Kaldi table"
    ):
        read_kv(wav)
    (data / "utt2spk").write_bytes(b"\xff\xfe binary")
    with pytest.raises(DataDirError, match="utt2spk: not a UTF-8 text table"):
        read_kv(data / "utt2spk")
    assert any("not a UTF-8 text table" in e for e in check_data_dir(data).errors)
    with pytest.raises(DataDirError, match="is a file, expected a Kaldi data dir"):
        DataDir(data / "text")
