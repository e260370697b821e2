"""LibriSpeech data prep on LibriSpeech-layout trees (and the error cases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin.prepare_librispeech import main as prep_main
from pase.corpus.librispeech import LibriSpeechError, prepare_librispeech, read_speakers
from pase.data import from_datadir, validate_items
from pase.io.audio import AudioError, read_audio
from pase.io.datadir import DataDir, read_kv, validate_data_dir

#: folder names that run commands when pasted unquoted into a shell line: spaces, ';', '$()',
#: backticks, both quote kinds (balanced, then not), a leading '-'. The commands create
#: marker files in the working directory.
HOSTILE_NAMES = [
    "-my corpus; touch PWNED $(touch PWNED2) `touch PWNED3` 'q' \"d\" -x",
    "-it's \"odd; touch PWNED4 && $(touch PWNED5)|",
]
needs_flac = pytest.mark.skipif(
    shutil.which("flac") is None,
    reason="the flac program is not installed (apt-get install flac; tools/install.sh does it)",
)

# subset -> reader -> chapter -> number of utterances
LAYOUT = {
    "train-clean-x": {"19": {"198": 3, "227": 2}, "3240": {"131231": 2}},
    "train-other-y": {"7": {"55": 2}},
    "dev-clean": {"84": {"121123": 2}},
}
GENDER = {"19": "F", "3240": "M", "7": "M", "84": "F"}


def make_tree(root: Path, layout: dict = LAYOUT, rate: int = 16000) -> Path:
    """A LibriSpeech-layout tree with short tone flacs and transcripts."""
    lib = root / "LibriSpeech"
    k = 0
    for subset, readers in layout.items():
        for reader, chapters in readers.items():
            for chapter, n in chapters.items():
                cdir = lib / subset / reader / chapter
                cdir.mkdir(parents=True)
                lines = []
                for i in range(n):
                    uid = f"{reader}-{chapter}-{i:04d}"
                    length = 4000 + 800 * k
                    x = 0.3 * np.sin(2 * np.pi * (150 + 10 * k) * np.arange(length) / rate)
                    sf.write(cdir / f"{uid}.flac", x.astype(np.float32), rate, format="FLAC")
                    lines.append(f"{uid} WORD{k} AND  MORE\n")
                    k += 1
                (cdir / f"{reader}-{chapter}.trans.txt").write_text("".join(lines))
    rows = [";ID  |SEX| SUBSET           |MINUTES| NAME\n"]
    for subset, readers in layout.items():
        rows += [f"{r:<5}| {GENDER.get(r, 'M')} | {subset:<17}| 1.00 | Name {r}\n" for r in readers]
    (lib / "SPEAKERS.TXT").write_text("".join(rows))
    return lib


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return make_tree(tmp_path)


def test_prepare_merges_subsets(lib: Path, tmp_path: Path) -> None:
    out = tmp_path / "data" / "train"
    rep = prepare_librispeech(lib, ["train-clean-x", "train-other-y"], out)
    assert rep.num_utterances == 9 and rep.num_speakers == 3 and not rep.dropped
    assert validate_data_dir(out).ok
    u2s = read_kv(out / "utt2spk")
    assert list(u2s) == sorted(u2s)
    assert u2s["19-198-0000"] == "19" and u2s["7-55-0001"] == "7"
    assert read_kv(out / "spk2gender") == {"19": "f", "3240": "m", "7": "m"}
    assert read_kv(out / "text")["19-198-0001"] == "WORD1 AND MORE"
    wav = read_kv(out / "wav.scp")
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in wav.values())
    ns = {k: int(v) for k, v in read_kv(out / "utt2num_samples").items()}
    assert ns["19-198-0000"] == 4000
    dur = read_kv(out / "utt2dur")
    assert float(dur["19-198-0000"]) == pytest.approx(0.25)
    # the data dir reads back through the shared reader
    utt = DataDir(out).utterance("3240-131231-0001")
    assert utt.speaker == "3240" and utt.source.endswith("3240-131231-0001.flac")


def test_chapter_speakers_and_pipes(lib: Path, tmp_path: Path) -> None:
    out = tmp_path / "dev"
    prepare_librispeech(lib, ["train-clean-x"], out, speaker="chapter", wav_format="pipe")
    u2s = read_kv(out / "utt2spk")
    assert u2s["19-227-0000"] == "19-227"
    assert read_kv(out / "spk2gender")["19-198"] == "f"
    assert read_kv(out / "wav.scp")["19-198-0000"].startswith("flac -c -d -s -- /")
    assert validate_data_dir(out).ok


def test_other_ids_work(tmp_path: Path) -> None:
    lib = make_tree(tmp_path, {"mysubset": {"5": {"1": 1}, "123456": {"777": 2}}})
    rep = prepare_librispeech(lib, ["mysubset"], tmp_path / "d")
    assert rep.num_speakers == 2 and rep.num_utterances == 3


def test_missing_transcript_named(lib: Path, tmp_path: Path) -> None:
    trans = lib / "train-clean-x" / "19" / "227" / "19-227.trans.txt"
    trans.unlink()
    with pytest.raises(LibriSpeechError, match=str(trans)):
        prepare_librispeech(lib, ["train-clean-x"], tmp_path / "d")
    rep = prepare_librispeech(lib, ["train-clean-x"], tmp_path / "d", skip_bad=True)
    assert rep.num_utterances == 5 and len(rep.dropped) == 1 and str(trans) in rep.dropped[0]
    assert validate_data_dir(tmp_path / "d").ok


def test_missing_transcript_line_and_missing_audio(lib: Path, tmp_path: Path) -> None:
    trans = lib / "train-clean-x" / "19" / "198" / "19-198.trans.txt"
    lines = trans.read_text().splitlines(keepends=True)
    trans.write_text("".join(lines[1:]))
    with pytest.raises(LibriSpeechError, match=r"19-198-0000\.flac: no transcript line"):
        prepare_librispeech(lib, ["train-clean-x"], tmp_path / "d")
    trans.write_text("".join(lines))
    (lib / "train-clean-x" / "19" / "198" / "19-198-0002.flac").unlink()
    with pytest.raises(LibriSpeechError, match="'19-198-0002' has no audio file"):
        prepare_librispeech(lib, ["train-clean-x"], tmp_path / "d")


def test_unreadable_flac_named(lib: Path, tmp_path: Path) -> None:
    bad = lib / "dev-clean" / "84" / "121123" / "84-121123-0001.flac"
    bad.write_bytes(b"fLaC but not really")
    with pytest.raises(LibriSpeechError, match=f"{bad}: unreadable audio"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")
    rep = prepare_librispeech(lib, ["dev-clean"], tmp_path / "d", skip_bad=True)
    assert rep.num_utterances == 1 and "unreadable" in rep.dropped[0]


def test_wrong_rate_named(lib: Path, tmp_path: Path) -> None:
    bad = lib / "dev-clean" / "84" / "121123" / "84-121123-0000.flac"
    sf.write(bad, np.zeros(800, np.float32), 8000, format="FLAC")
    with pytest.raises(LibriSpeechError, match=f"{bad}: sample rate is 8000"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")


def test_duplicate_utterance_names_both_files(lib: Path, tmp_path: Path) -> None:
    import shutil

    src = lib / "dev-clean" / "84"
    shutil.copytree(src, lib / "train-other-y" / "84")
    with pytest.raises(LibriSpeechError, match="'84-121123-0000' appears twice") as e:
        prepare_librispeech(lib, ["dev-clean", "train-other-y"], tmp_path / "d")
    assert "dev-clean/84" in str(e.value) and "train-other-y/84" in str(e.value)
    rep = prepare_librispeech(lib, ["dev-clean", "train-other-y"], tmp_path / "d", skip_bad=True)
    assert rep.num_utterances == 4 and len(rep.dropped) == 2


def test_misplaced_and_unknown_speaker(lib: Path, tmp_path: Path) -> None:
    trans = lib / "train-other-y" / "7" / "55" / "7-55.trans.txt"
    trans.write_text(trans.read_text() + "8-55-0009 STRAY LINE\n")
    with pytest.raises(LibriSpeechError, match=r"7-55.trans.txt:3: utterance id '8-55-0009'"):
        prepare_librispeech(lib, ["train-other-y"], tmp_path / "d")
    spk = lib / "SPEAKERS.TXT"
    spk.write_text("".join(ln for ln in spk.open() if not ln.startswith("84 ")))
    with pytest.raises(LibriSpeechError, match=r"SPEAKERS.TXT: reader\(s\) \['84'\]"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")
    assert read_speakers(spk)["19"] == ("f", "train-clean-x")


def test_console_script(lib: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert prep_main([str(lib), str(tmp_path / "d"), "train-clean-x", "dev-clean"]) == 0
    assert "9 utterances" in capsys.readouterr().err
    assert prep_main([str(lib), str(tmp_path / "d"), "no-such-subset"]) == 1
    assert "no-such-subset: no such subset folder" in capsys.readouterr().err


@pytest.mark.parametrize("wav_format", ["path", pytest.param("pipe", marks=needs_flac)])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_corpus_folder_names_are_just_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, wav_format: str
) -> None:
    root = tmp_path / name
    root.mkdir()
    lib = make_tree(root, {"dev-clean": {"84": {"121123": 2}}, "train-x": {"19": {"198": 2}}})
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # where an injected 'touch PWNED' would land
    out = tmp_path / "data" / "d"
    argv = [str(lib), str(out), "dev-clean", "train-x", "--wav-format", wav_format]
    assert prep_main(argv) == 0
    wav = read_kv(out / "wav.scp")
    assert len(wav) == 4
    failures = []
    for utt in DataDir(out).utterances():
        flac = lib / ("dev-clean/84/121123" if utt.speaker == "84" else "train-x/19/198")
        expect, _ = sf.read(flac / f"{utt.utt_id}.flac", dtype="float32")
        try:
            got = read_audio(utt.source, utt=utt.utt_id)
        except AudioError as e:
            failures.append(str(e))
            continue
        np.testing.assert_array_equal(got, expect)
        if wav_format == "path":
            assert utt.source == str(flac.resolve() / f"{utt.utt_id}.flac")
    rep = validate_items(from_datadir(out).items, skip_bad=True)  # runs every pipe again
    # first: nothing was run (no marker file anywhere), then: every utterance read back
    assert list(cwd.iterdir()) == []
    assert not list(tmp_path.rglob("PWNED*"))
    assert failures == [] and len(rep.good) == 4


def test_unwritable_path_is_named(tmp_path: Path) -> None:
    root = tmp_path / "bad\nline"
    root.mkdir()
    lib = make_tree(root, {"dev-clean": {"84": {"121123": 1}}})
    with pytest.raises(LibriSpeechError, match="newline"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")


def test_truncated_flac_fails_at_prep_or_is_dropped(lib: Path, tmp_path: Path) -> None:
    bad = lib / "dev-clean" / "84" / "121123" / "84-121123-0001.flac"
    bad.write_bytes(bad.read_bytes()[:-40])  # the header still declares every sample
    assert sf.info(str(bad)).frames > 0
    with pytest.raises(LibriSpeechError, match=f"{bad}: truncated"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")
    rep = prepare_librispeech(lib, ["dev-clean"], tmp_path / "d", skip_bad=True)
    assert rep.num_utterances == 1
    assert len(rep.dropped) == 1 and str(bad) in rep.dropped[0] and "truncated" in rep.dropped[0]
    assert "84-121123-0001" not in read_kv(tmp_path / "d" / "wav.scp")
    assert "dropped 1" in str(rep)


def test_stereo_flac_is_refused(lib: Path, tmp_path: Path) -> None:
    bad = lib / "dev-clean" / "84" / "121123" / "84-121123-0000.flac"
    sf.write(bad, np.zeros((800, 2), np.float32), 16000, format="FLAC")
    with pytest.raises(LibriSpeechError, match=f"{bad}: has 2 channels"):
        prepare_librispeech(lib, ["dev-clean"], tmp_path / "d")


def test_audio_file_given_as_a_folder(lib: Path, tmp_path: Path, capsys) -> None:
    flac = lib / "dev-clean" / "84" / "121123" / "84-121123-0000.flac"
    assert prep_main([str(flac), str(tmp_path / "d"), "dev-clean"]) == 1
    err = capsys.readouterr().err
    assert f"{flac} is an audio file (FLAC), expected the LibriSpeech folder" in err
