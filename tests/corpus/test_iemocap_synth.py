"""The synthetic IEMOCAP-layout corpus: layout, determinism, evaluation files that parse back,
the preparation on it, and emotions that differ in prosody."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.corpus.espeak import espeak_available
from pase.corpus.iemocap import parse_turn_name, prepare_iemocap, read_evaluation
from pase.corpus.synth_iemocap import SynthIemocapSettings, make_synthetic_iemocap
from pase.io.datadir import read_kv, validate_data_dir

pytestmark = pytest.mark.skipif(not espeak_available(), reason="libespeak-ng not installed")

SMALL = SynthIemocapSettings(num_sessions=2, utts_per_emotion=2, other_per_speaker=1)
TINY = SynthIemocapSettings(num_sessions=1, utts_per_emotion=1, other_per_speaker=1, seed=3)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    return make_synthetic_iemocap(tmp_path_factory.mktemp("iemo"), SMALL, log=lambda m: None)


def test_layout(corpus) -> None:
    root = corpus.root
    assert root.name == "IEMOCAP_full_release" and corpus.sessions == ("Session1", "Session2")
    assert sorted(p.name for p in root.iterdir()) == [".pase_synth_iemocap", "Session1", "Session2"]
    wavs = sorted(root.glob("Session*/sentences/wav/*/*.wav"))
    assert len(wavs) == SMALL.num_turns == 2 * 2 * (4 * 2 + 1)
    for w in wavs:
        info = sf.info(str(w))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        session, dialog, _ = parse_turn_name(w.stem)
        assert w.parent.name == dialog and w.parents[3].name == f"Session{session}"
        assert info.frames > 8000
    evs = sorted(p.name for p in root.glob("Session1/dialog/EmoEvaluation/*.txt"))
    assert evs == ["Ses01F_impro01.txt", "Ses01M_script01_1.txt"]
    trans = (root / "Session2/dialog/transcriptions/Ses02F_impro01.txt").read_text().splitlines()
    assert trans[0].startswith("Ses02F_impro01_F000 [") and "]: " in trans[0]


def test_evaluation_files_parse_back(corpus) -> None:
    codes = []
    for ev in sorted(corpus.root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        assert ev.read_text().startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]")
        turns = read_evaluation(ev)
        wdir = ev.parents[2] / "sentences" / "wav" / ev.stem
        assert sorted(t.name for t in turns) == sorted(p.stem for p in wdir.glob("*.wav"))
        for a, b in itertools.pairwise(turns):
            assert b.start > a.end  # one timeline per dialog
        for t in turns:
            n = sf.info(str(wdir / f"{t.name}.wav")).frames
            assert abs((t.end - t.start) - n / 16000) < 2e-4
            assert all(1.0 <= x <= 5.0 for x in t.vad)
        # the dialog's turns alternate between the actors, numbered per actor
        first, second = ev.stem[5], "M" if ev.stem[5] == "F" else "F"
        assert [t.name[-4:] for t in turns[:4]] == [f"{first}000", f"{second}000",
                                                    f"{first}001", f"{second}001"]  # fmt: skip
        codes += [t.emotion for t in turns]
    assert codes.count("exc") == 2 * 2 * 1 and codes.count("hap") == 2 * 2 * 1
    for c in ("neu", "ang", "sad"):
        assert codes.count(c) == 2 * 2 * 2
    others = [c for c in codes if c not in ("neu", "hap", "exc", "ang", "sad")]
    assert len(others) == 4 and set(others) <= {"fru", "xxx", "sur", "oth", "fea", "dis"}


def test_prepare_on_the_synthetic_tree(corpus, tmp_path: Path) -> None:
    rep = prepare_iemocap(corpus.root, tmp_path / "data", sessions=[1, 2])
    assert rep.num_utterances == 2 * 2 * 4 * 2
    assert sum(sum(c.values()) for c in rep.dropped.values()) == 4
    for s in (1, 2):
        d = tmp_path / "data" / f"Session{s}"
        assert validate_data_dir(d, no_text=True).ok
        emo = read_kv(d / "utt2emo")
        assert sorted(emo.values()) == sorted(["ang", "hap", "neu", "sad"] * 4)
        assert set(read_kv(d / "utt2spk").values()) == {f"Ses0{s}F", f"Ses0{s}M"}


def test_emotions_differ_in_prosody(corpus, tmp_path: Path) -> None:
    """Per actor: angry turns are louder and faster (fewer seconds per word) than sad ones."""
    rms: dict[tuple[str, str], list[float]] = {}
    spw: dict[tuple[str, str], list[float]] = {}
    for ev in corpus.root.glob("Session*/dialog/EmoEvaluation/*.txt"):
        text = {
            ln.split()[0]: ln.split("]: ", 1)[1]
            for ln in (ev.parents[1] / "transcriptions" / ev.name).read_text().splitlines()
        }
        for t in read_evaluation(ev):
            x, _ = sf.read(str(ev.parents[2] / "sentences/wav" / ev.stem / f"{t.name}.wav"))
            key = (t.name[:5] + t.name[-4], t.emotion)
            rms.setdefault(key, []).append(float(np.sqrt(np.mean(x**2))))
            spw.setdefault(key, []).append(len(x) / 16000 / len(text[t.name].split()))
    actors = {a for a, _ in rms}
    assert len(actors) == 4
    for a in actors:
        assert min(rms[(a, "ang")]) > 2 * max(rms[(a, "sad")])
        assert np.mean(spw[(a, "sad")]) > 1.2 * np.mean(spw[(a, "ang")])
        assert np.mean(spw[(a, "sad")]) > np.mean(spw[(a, "neu")])


def test_deterministic_and_seeded(tmp_path: Path) -> None:
    a = make_synthetic_iemocap(tmp_path / "a", TINY, jobs=2, log=lambda m: None)
    b = make_synthetic_iemocap(tmp_path / "b", TINY, jobs=1, log=lambda m: None)
    assert _digest(a.root) == _digest(b.root) and len(_digest(a.root)) == 10 + 2 * 2 + 1
    msgs: list[str] = []
    make_synthetic_iemocap(tmp_path / "a", TINY, log=msgs.append)
    assert msgs == [f"synthetic IEMOCAP up to date in {a.root}"]
    other = SynthIemocapSettings(**{**TINY.__dict__, "seed": 4})
    c = make_synthetic_iemocap(tmp_path / "a", other, log=lambda m: None)
    assert c.root == a.root and _digest(c.root) != _digest(b.root)


def test_never_removes_a_tree_it_did_not_make(tmp_path: Path) -> None:
    real = tmp_path / "c" / "IEMOCAP_full_release" / "Session1"
    real.mkdir(parents=True)
    (real / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not made by pase-synth-iemocap: not touched"):
        make_synthetic_iemocap(tmp_path / "c", TINY, log=lambda m: None)
    assert (real / "keep.txt").read_text() == "x"


def test_the_command(tmp_path: Path, capsys) -> None:
    from pase.bin.synth_iemocap import main

    args = ["--num-sessions", "1", "--utts-per-emotion", "1", "--other-per-speaker", "0"]
    assert main([*args, "--dialogs-per-session", "1", str(tmp_path / "c")]) == 0
    assert "8 turns, 1 sessions x 2 actors" in capsys.readouterr().err
    assert len(list((tmp_path / "c").rglob("*.wav"))) == 8
    assert [p.name for p in (tmp_path / "c").glob("*/Session1/dialog/EmoEvaluation/*")] == [
        "Ses01F_impro01.txt"
    ]
    assert main(["--num-sessions", "0", str(tmp_path / "d")]) == 1
    assert "num_sessions must be at least 1" in capsys.readouterr().err


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="other_per_speaker"):
        SynthIemocapSettings(other_per_speaker=-1).check()
    with pytest.raises(ValueError, match="utts_per_emotion"):
        SynthIemocapSettings(utts_per_emotion=0).check()
