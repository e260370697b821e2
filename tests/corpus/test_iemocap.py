"""IEMOCAP preparation on small release-layout trees (tone wavs), the error cases, and the
leave-one-session-out folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin.prepare_iemocap import main as prep_main
from pase.corpus.iemocap import (
    FOUR_CLASS,
    IemocapError,
    Turn,
    format_turn,
    loso_folds,
    parse_turn_name,
    prepare_iemocap,
    read_evaluation,
    speaker_of,
    utterance_id,
    write_folds,
)
from pase.io.datadir import read_kv, validate_data_dir, write_kv

#: session -> dialog -> [(turn suffix, emotion code), ...]
LAYOUT = {
    s: {
        f"Ses0{s}F_impro01": [("F000", "neu"), ("M000", "ang"), ("F001", "exc"),
                              ("M001", "sad"), ("F002", "fru"), ("M002", "hap")],
        f"Ses0{s}M_script01_1": [("M000", "xxx"), ("F000", "sad"), ("M001", "neu")],
    }
    for s in range(1, 6)
}  # fmt: skip
#: a second tree: other dialog names (letters, scripted parts), numbers, only 3 sessions
OTHER = {
    1: {"Ses01M_impro05a": [("M010", "hap"), ("F011", "neu"), ("M012", "sur")]},
    2: {"Ses02F_script03_2b": [("F007", "ang"), ("M000", "sad"), ("F008", "oth")]},
    3: {"Ses03M_impro08b": [("F100", "neu"), ("M101", "exc"), ("F102", "dis"), ("M103", "fea")]},
}


def make_tree(root: Path, layout: dict = LAYOUT, rate: int = 16000, seconds: float = 0.5) -> Path:
    """An IEMOCAP release tree: sentences/wav/<dialog>/<turn>.wav (tones) and
    dialog/EmoEvaluation/<dialog>.txt in the release's format."""
    k = 0
    for s, dialogs in layout.items():
        sdir = root / f"Session{s}"
        ev = sdir / "dialog" / "EmoEvaluation"
        ev.mkdir(parents=True)
        (ev / "Categorical").mkdir()  # the release has these subfolders: not read
        for dialog, turns in dialogs.items():
            wdir = sdir / "sentences" / "wav" / dialog
            wdir.mkdir(parents=True)
            lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            t0 = 1.0
            for suffix, code in turns:
                name = f"{dialog}_{suffix}"
                n = int(seconds * rate) + 160 * k
                x = 0.3 * np.sin(2 * np.pi * (120 + 15 * k) * np.arange(n) / rate)
                sf.write(wdir / f"{name}.wav", x.astype(np.float32), rate, subtype="PCM_16")
                t = Turn(name, t0, t0 + n / rate, code, (2.5, 3.0, 3.5))
                lines += [format_turn(t), "C-E2:\tNeutral;\t()", "A-F1:\tval 3; act 2; dom  2;\t()"]
                lines.append("")
                t0 += n / rate + 0.7
                k += 1
            (ev / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "IEMOCAP_full_release")


def test_turn_names() -> None:
    assert parse_turn_name("Ses01F_impro01_M000") == (1, "Ses01F_impro01", "M")
    assert parse_turn_name("Ses03M_script01_1b_F012") == (3, "Ses03M_script01_1b", "F")
    assert speaker_of("Ses01F_impro01_M000") == "Ses01M"
    assert speaker_of("Ses05M_impro03_F001") == "Ses05F"
    assert utterance_id("Ses01F_impro01_M000") == "Ses01M-Ses01F_impro01_M000"
    for bad in ("Ses01F_impro01", "ses01F_impro01_F000", "Ses01X_impro01_F000", "Ses01F_x_Q000"):
        with pytest.raises(ValueError, match="turn name"):
            parse_turn_name(bad)


def test_prepare_writes_one_data_dir_per_session(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    rep = prepare_iemocap(tree, out)
    # per session: 6 + 3 turns, fru and xxx dropped
    assert rep.num_utterances == 5 * 7
    for s in range(1, 6):
        d = out / f"Session{s}"
        assert validate_data_dir(d, no_text=True).ok
        u2s, emo = read_kv(d / "utt2spk"), read_kv(d / "utt2emo")
        assert list(u2s) == sorted(u2s) and set(u2s) == set(emo)
        assert set(u2s.values()) == {f"Ses0{s}F", f"Ses0{s}M"}
        assert all(u.startswith(spk + "-") for u, spk in u2s.items())
        # the speaker is the one who speaks the turn, not the dialog's marker actor
        assert u2s[f"Ses0{s}F-Ses0{s}M_script01_1_F000"] == f"Ses0{s}F"
        assert emo[f"Ses0{s}F-Ses0{s}F_impro01_F001"] == "hap"  # exc merged into hap
        assert emo[f"Ses0{s}M-Ses0{s}F_impro01_M002"] == "hap"
        assert emo[f"Ses0{s}M-Ses0{s}F_impro01_M000"] == "ang"
        assert sorted(set(emo.values())) == ["ang", "hap", "neu", "sad"]
        assert not any("F002" in u or "script01_1_M000" in u for u in emo)  # fru, xxx
        wav = read_kv(d / "wav.scp")
        for u, p in wav.items():
            assert Path(p).is_absolute() and Path(p).name == u.split("-", 1)[1] + ".wav"
            assert int(read_kv(d / "utt2num_samples")[u]) == sf.info(p).frames
        assert read_kv(d / "spk2gender") == {f"Ses0{s}F": "f", f"Ses0{s}M": "m"}
    counts = (out / "emotion_counts.tsv").read_text().splitlines()
    assert counts[0].split("\t") == ["session", "ang", "hap", "neu", "sad", "kept",
                                     "dropped_fru", "dropped_xxx", "bad_audio"]  # fmt: skip
    assert counts[1].split("\t") == ["Session1", "1", "2", "2", "2", "7", "1", "1", "0"]
    assert counts[-1].split("\t") == ["total", "5", "10", "10", "10", "35", "5", "5", "0"]
    assert "dropped 10 with other codes (fru 5, xxx 5)" in str(rep)


def test_rerun_replaces_the_data_dirs(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    prepare_iemocap(tree, out)
    (out / "Session1" / "text").write_text("stale x\n")
    prepare_iemocap(tree, out)
    assert not (out / "Session1" / "text").exists()
    assert validate_data_dir(out / "Session1", no_text=True).ok


def test_a_tree_with_other_ids(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "other", OTHER)
    out = tmp_path / "data"
    rep = prepare_iemocap(root, out, sessions=[1, 2, 3])
    assert rep.num_utterances == 2 + 2 + 2
    assert read_kv(out / "Session1" / "utt2emo") == {
        "Ses01F-Ses01M_impro05a_F011": "neu", "Ses01M-Ses01M_impro05a_M010": "hap"}  # fmt: skip
    assert read_kv(out / "Session2" / "utt2spk") == {
        "Ses02F-Ses02F_script03_2b_F007": "Ses02F",
        "Ses02M-Ses02F_script03_2b_M000": "Ses02M",
    }
    assert read_kv(out / "Session3" / "utt2emo")["Ses03M-Ses03M_impro08b_M101"] == "hap"
    assert not (out / "Session4").exists()
    # the default asks for the five sessions
    with pytest.raises(IemocapError, match=r"Session4: no such session folder"):
        prepare_iemocap(root, tmp_path / "d2")


def test_the_command(tree: Path, tmp_path: Path, capsys) -> None:
    assert prep_main([str(tree), str(tmp_path / "data")]) == 0
    err = capsys.readouterr().err
    assert "35 turns in 5 sessions" in err and "emotion_counts.tsv" in err
    assert prep_main([str(tree / "nowhere"), str(tmp_path / "d")]) == 1
    assert "nowhere: no such IEMOCAP folder" in capsys.readouterr().err
    assert prep_main(["--sessions", "1 2", str(tree), str(tmp_path / "d3")]) == 0
    assert sorted(p.name for p in (tmp_path / "d3").iterdir() if p.is_dir()) == [
        "Session1", "Session2"]  # fmt: skip


# ------------------------------------------------------------------------------ bad inputs
def _evaluation(tree: Path, s: int = 2) -> Path:
    return tree / f"Session{s}" / "dialog" / "EmoEvaluation" / f"Ses0{s}F_impro01.txt"


def _wav(tree: Path, name: str) -> Path:
    s = int(name[3:5])
    return tree / f"Session{s}" / "sentences" / "wav" / name.rsplit("_", 1)[0] / f"{name}.wav"


def _fails(tree: Path, tmp_path: Path, match: str, **kw) -> IemocapError:
    with pytest.raises(IemocapError, match=match) as e:
        prepare_iemocap(tree, tmp_path / "data", **kw)
    return e.value


def test_missing_folders(tree: Path, tmp_path: Path) -> None:
    ev = tree / "Session3" / "dialog" / "EmoEvaluation"
    for f in ev.glob("*.txt"):
        f.unlink()
    _fails(tree, tmp_path, rf"{ev}: no evaluation files")
    ev.rename(ev.with_name("EmoEval"))
    _fails(tree, tmp_path, rf"{ev}: no such folder \(the evaluation of Session3\)")
    wavs = tree / "Session1" / "sentences" / "wav"
    wavs.rename(wavs.with_name("wav_x"))
    _fails(tree, tmp_path, rf"{wavs}: no such folder \(the turn audio of Session1\)")


def test_an_evaluated_turn_without_its_wav(tree: Path, tmp_path: Path) -> None:
    wav = _wav(tree, "Ses02F_impro01_M001")
    wav.unlink()
    e = _fails(tree, tmp_path, "turn Ses02F_impro01_M001 has no audio file")
    assert f"{_evaluation(tree)}:15:" in str(e) and str(wav) in str(e)
    # a dropped class needs no audio
    wav.write_bytes(b"")
    _wav(tree, "Ses02F_impro01_F002").unlink()  # fru
    _fails(tree, tmp_path, r"Ses02F_impro01_M001.wav: empty file")


def test_unknown_emotion_code(tree: Path, tmp_path: Path) -> None:
    f = _evaluation(tree, 4)
    f.write_text(f.read_text().replace("\tang\t", "\tangry\t"))
    e = _fails(tree, tmp_path, "unknown emotion code 'angry' for turn Ses04F_impro01_M000")
    assert str(f) + ":7:" in str(e) and "neu hap exc ang sad fru sur fea dis oth xxx" in str(e)


def test_malformed_and_misplaced_lines(tree: Path, tmp_path: Path) -> None:
    f = _evaluation(tree, 1)
    good = f.read_text()
    f.write_text(good.replace("\tneu\t[2.5000", " neu [2.5000", 1))
    e = _fails(tree, tmp_path, "not a summary line")
    assert f"{f}:3:" in str(e)
    f.write_text(good.replace("Ses01F_impro01_M001", "Ses01F_impro02_M001"))
    _fails(tree, tmp_path, "turn Ses01F_impro02_M001 belongs to dialog Ses01F_impro02")
    f.write_text(good.replace("Ses01F_impro01_M001", "Ses01F_impro01_M000"))
    _fails(tree, tmp_path, "turn Ses01F_impro01_M000 already evaluated on line 7")
    f.write_text(good.replace("[2.5000, 3.0000, 3.5000]", "[2.5000, 3.0000]", 1))
    _fails(tree, tmp_path, r"\[V, A, D\] of turn Ses01F_impro01_F000 is not 3 numbers")


def test_turn_of_another_session(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {1: {"Ses02F_impro01": [("F000", "neu")]}})
    _fails(root, tmp_path, r"turn Ses02F_impro01_F000 is not of session 1", sessions=[1])


def test_too_short_and_non_16k_audio(tree: Path, tmp_path: Path) -> None:
    wav = _wav(tree, "Ses05F_impro01_F001")
    sf.write(wav, np.zeros(1000, dtype=np.float32), 16000, subtype="PCM_16")
    e = _fails(tree, tmp_path, r"too short: 1000 samples \(0.062 s\), at least 4000")
    assert str(wav) in str(e) and f"{_evaluation(tree, 5)}:11:" in str(e)
    assert "--skip-bad-audio" in str(e)
    rep = prepare_iemocap(tree, tmp_path / "data", min_seconds=0.05)
    assert rep.num_utterances == 35
    # with skip_bad the turn is dropped and reported
    rep = prepare_iemocap(tree, tmp_path / "data", skip_bad=True)
    assert rep.num_utterances == 34 and "Ses05F_impro01_F001" in str(rep)
    assert "Ses05F-Ses05F_impro01_F001" not in read_kv(tmp_path / "data/Session5/utt2emo")
    counts = (tmp_path / "data" / "emotion_counts.tsv").read_text().splitlines()
    assert counts[5].endswith("\t1") and counts[5].startswith("Session5\t")
    wav2 = _wav(tree, "Ses03F_impro01_M002")
    sf.write(wav2, np.zeros(8000, dtype=np.float32), 8000, subtype="PCM_16")
    e = _fails(tree, tmp_path, r"sample rate is 8000 Hz, expected 16000 Hz")
    assert str(wav2) in str(e)


def test_stereo_audio(tree: Path, tmp_path: Path) -> None:
    wav = _wav(tree, "Ses01F_impro01_F000")
    sf.write(wav, np.zeros((8000, 2), dtype=np.float32), 16000, subtype="PCM_16")
    _fails(tree, tmp_path, rf"{wav}: has 2 channels")


def test_read_evaluation_skips_the_evaluators_lines(tree: Path) -> None:
    turns = read_evaluation(_evaluation(tree, 1))
    assert [t.name[-4:] for t in turns] == ["F000", "M000", "F001", "M001", "F002", "M002"]
    assert turns[0].dialog == "Ses01F_impro01" and turns[0].vad == (2.5, 3.0, 3.5)
    assert turns[1].line == 7 and turns[1].emotion == "ang"
    assert turns[1].start > turns[0].end


def test_four_classes() -> None:
    assert sorted(set(FOUR_CLASS.values())) == ["ang", "hap", "neu", "sad"]
    assert FOUR_CLASS["exc"] == "hap" and "fru" not in FOUR_CLASS


# ------------------------------------------------------------------------------ folds
def test_loso_folds() -> None:
    sessions = [f"Session{k}" for k in range(1, 6)]
    folds = loso_folds(sessions)
    assert [f.name for f in folds] == ["fold1", "fold2", "fold3", "fold4", "fold5"]
    assert folds[0].test == "Session1" and folds[0].dev == "Session2"
    assert folds[0].train == ("Session3", "Session4", "Session5")
    assert folds[4].test == "Session5" and folds[4].dev == "Session1"
    assert folds[4].train == ("Session2", "Session3", "Session4")
    for f in folds:  # every session is tested once; splits never overlap
        assert len({*f.train, f.dev, f.test}) == 5
    assert sorted(f.test for f in folds) == sessions
    assert loso_folds(sessions, dev_offset=4)[0].dev == "Session5"
    for bad in ({"dev_offset": 0}, {"dev_offset": 5}):
        with pytest.raises(ValueError, match="dev_offset"):
            loso_folds(sessions, **bad)
    with pytest.raises(ValueError, match="at least 3"):
        loso_folds(sessions[:2])


def _fake_dump(d: Path, data: Path) -> None:
    """A dump dir of ``data`` (what pase-dump-feats leaves that the folds use)."""
    d.mkdir(parents=True)
    u2s = read_kv(data / "utt2spk")
    write_kv(d / "utt2spk", u2s)
    write_kv(d / "feats.scp", {u: f"/x/feats.ark:{i}" for i, u in enumerate(u2s)})
    write_kv(d / "utt2num_frames", {u: "50" for u in u2s})
    (d / "spk2utt").write_text("".join(f"{s} {u}\n" for u, s in u2s.items()))


def test_write_folds(tree: Path, tmp_path: Path) -> None:
    prepare_iemocap(tree, tmp_path / "data")
    names = [f"Session{k}" for k in range(1, 6)]
    feats = {n: tmp_path / "dump" / n for n in names}
    data = {n: tmp_path / "data" / n for n in names}
    for n in names:
        _fake_dump(feats[n], data[n])
    out = tmp_path / "folds"
    sizes = write_folds(loso_folds(names), feats, data, out)
    assert sizes["fold1"] == {"train": 21, "dev": 7, "test": 7}
    tr = out / "fold2" / "train"
    u2s = read_kv(tr / "utt2spk")
    assert {s[:5] for s in u2s.values()} == {"Ses01", "Ses04", "Ses05"}
    assert read_kv(tr / "feats.scp").keys() == read_kv(tr / "utt2emo").keys() == u2s.keys()
    assert read_kv(tr / "utt2emo")["Ses04F-Ses04F_impro01_F001"] == "hap"
    assert read_kv(out / "fold2" / "test" / "feats.scp") == read_kv(feats["Session2"] / "feats.scp")
    assert validate_data_dir(tr, no_text=True, no_wav=True).ok
    assert (out / "folds.tsv").read_text().splitlines()[1] == (
        "fold1\tSession1\tSession2\tSession3,Session4,Session5"
    )
    # a rerun replaces its own dirs, and never a folder it did not make
    write_folds(loso_folds(names), feats, data, out)
    (out / "fold1" / "dev" / ".pase_fold").unlink()
    with pytest.raises(IemocapError, match="not made by pase-make-folds"):
        write_folds(loso_folds(names), feats, data, out)
    # features without a label, a group without features
    lab = data["Session3"] / "utt2emo"
    t = read_kv(lab)
    t.pop(next(iter(t)))
    write_kv(lab, t)
    with pytest.raises(
        IemocapError,
        match=r"Session3/utt2emo: no label for 1 utterance\(s\) of .*Session3/feats.scp",
    ):
        write_folds(loso_folds(names), feats, data, tmp_path / "f2")
    (feats["Session4"] / "feats.scp").unlink()
    with pytest.raises(IemocapError, match=r"Session4: no feats.scp"):
        write_folds(loso_folds(names), feats, data, tmp_path / "f3")


def test_make_folds_command(tree: Path, tmp_path: Path, capsys) -> None:
    from pase.bin.make_folds import main as folds_main

    prepare_iemocap(tree, tmp_path / "data")
    names = [f"Session{k}" for k in range(1, 6)]
    for n in names:
        _fake_dump(tmp_path / "dump" / n, tmp_path / "data" / n)
    args = ["--feats-root", str(tmp_path / "dump"), "--labels-root", str(tmp_path / "data")]
    out = tmp_path / "dump" / "folds"
    assert folds_main([*args, "--out-dir", str(out), *names]) == 0
    err = capsys.readouterr().err
    assert "fold5: test Session5 (7), dev Session1 (7), train Session2+Session3+Session4 (21)" in (
        err
    )
    assert read_kv(out / "fold3" / "dev" / "utt2emo") == read_kv(
        tmp_path / "data" / "Session4" / "utt2emo"
    )
    assert folds_main([*args, "--out-dir", str(out), "--dev-offset", "5", *names]) == 1
    assert "dev_offset must be in [1, 4]" in capsys.readouterr().err
    assert folds_main([*args, "--out-dir", str(out), "--labels", "utt2x", *names]) == 1
    assert "Session1: no label file utt2x" in capsys.readouterr().err
