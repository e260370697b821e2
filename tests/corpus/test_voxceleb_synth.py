"""The synthetic VoxCeleb1-layout corpus (pase.corpus.synth_voxceleb, pase-synth-voxceleb):
layout, iden_split consistency, determinism, voices unseen by the synthetic LibriSpeech, and
the prep reading it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.corpus.espeak import espeak_available
from pase.corpus.synth_common import VOICES
from pase.corpus.synth_voxceleb import VoxSynthSettings, draw_speakers, make_synthetic_voxceleb
from pase.corpus.voxceleb import prepare_voxceleb, read_iden_split
from pase.io.datadir import validate_data_dir

pytestmark = pytest.mark.skipif(not espeak_available(), reason="libespeak-ng not installed")

TINY = VoxSynthSettings(num_speakers=3, videos=2, utterances=3, dev_per_speaker=1,
                        test_per_speaker=2)  # fmt: skip


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    return make_synthetic_voxceleb(tmp_path_factory.mktemp("vox"), TINY, log=lambda m: None)


def test_layout(corpus) -> None:
    wavs = sorted(p.relative_to(corpus.wav).as_posix() for p in corpus.wav.rglob("*.wav"))
    assert len(wavs) == corpus.num_utterances == 3 * 2 * 3
    for rel in wavs:
        assert re.fullmatch(r"id\d{5}/[A-Za-z0-9_-]{11}/000\d\d\.wav", rel), rel
        info = sf.info(str(corpus.wav / rel))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames > 16000  # a sentence: more than a second
    lines = corpus.split_file.read_text().splitlines()
    assert sorted(rel for _, rel in (x.split() for x in lines)) == wavs  # every file once
    assert lines == sorted(lines, key=lambda x: x.split()[1])
    speakers = {rel.split("/")[0] for rel in wavs}
    assert len(speakers) == 3
    for spk in speakers:
        videos = {rel.split("/")[1] for rel in wavs if rel.startswith(spk)}
        assert len(videos) == 2
        for v in videos:  # utterances numbered from 00001 within a video
            assert sorted(Path(r).name for r in wavs if f"/{v}/" in r) == [
                "00001.wav", "00002.wav", "00003.wav"
            ]  # fmt: skip
    assert len((corpus.root / "synth_speakers.tsv").read_text().splitlines()) == 1 + 3
    assert len((corpus.root / "synth_videos.tsv").read_text().splitlines()) == 1 + 6


def test_iden_split_is_consistent(corpus) -> None:
    sets = read_iden_split(corpus.split_file)
    for name, per_spk in (("train", 3), ("dev", 1), ("test", 2)):
        spk = [u.speaker for u in sets[name]]
        assert sorted(set(spk)) == sorted({u.speaker for u in sets["train"]})
        assert all(spk.count(s) == per_spk for s in set(spk)), (name, spk)
    for s in {u.speaker for u in sets["train"]}:  # test utterances from both videos
        assert len({u.video for u in sets["test"] if u.speaker == s}) == 2


def test_channels_differ_between_videos(corpus) -> None:
    rows = [r.split("\t") for r in (corpus.root / "synth_videos.tsv").read_text().splitlines()]
    head, rows = rows[0], rows[1:]
    assert head == ["speaker", "video", "rt60", "noise", "snr_db", "level"]
    assert all(r[2] != "-" or r[3] != "-" for r in rows)  # reverb and/or noise on every video
    assert len({tuple(r[2:]) for r in rows}) == len(rows)


def test_voices_are_not_the_synthetic_librispeech_speakers(corpus) -> None:
    """pase-synth-librispeech speaker i: VOICES[i % 16] with pitch + 7c, rate + 9c."""
    libri = {(v, min(99, p + 7 * c), r + 9 * c) for v, _, p, r in VOICES for c in range(8)}
    big = draw_speakers(np.random.default_rng(0), 40)
    for s in big:
        assert (s.voice, s.pitch, s.rate) not in libri
    assert len({(s.voice, s.pitch, s.rate) for s in big}) == 40
    assert {s.gender for s in big} == {"m", "f"}


def test_deterministic_and_seeded(corpus, tmp_path: Path) -> None:
    again = make_synthetic_voxceleb(tmp_path / "again", TINY, log=lambda m: None)
    assert _digest(again.root) == _digest(corpus.root)
    other = make_synthetic_voxceleb(
        tmp_path / "other", VoxSynthSettings(num_speakers=2, videos=2, utterances=2,
                                             dev_per_speaker=1, test_per_speaker=1, seed=5),
        log=lambda m: None,
    )  # fmt: skip
    ids = {p.name for p in other.wav.iterdir()}
    assert len(ids) == 2 and not ids & {p.name for p in corpus.wav.iterdir()}


def test_rerun_is_a_no_op_and_settings_are_checked(corpus) -> None:
    before = {p: p.stat().st_mtime_ns for p in corpus.root.rglob("*.wav")}
    msgs: list[str] = []
    make_synthetic_voxceleb(corpus.root, TINY, log=msgs.append)
    assert msgs == [f"synthetic VoxCeleb up to date in {corpus.root}"]
    assert before == {p: p.stat().st_mtime_ns for p in corpus.root.rglob("*.wav")}
    with pytest.raises(ValueError, match="leave no training utterance"):
        VoxSynthSettings(videos=1, utterances=2, dev_per_speaker=1, test_per_speaker=1).check()


def test_prep_reads_it(corpus, tmp_path: Path) -> None:
    rep = prepare_voxceleb(corpus.root, tmp_path / "data")
    assert {k: v[:2] for k, v in rep.sets.items()} == {
        "train": (9, 3), "dev": (3, 3), "test": (6, 3)
    }  # fmt: skip
    for s in ("train", "dev", "test"):
        assert validate_data_dir(tmp_path / "data" / s, no_text=True).ok


def test_command(tmp_path: Path) -> None:
    from pase.bin.synth_voxceleb import main

    args = ["--num-speakers", "2", "--videos", "2", "--utterances", "2", "--dev-per-speaker",
            "1", "--test-per-speaker", "1", "--seed", "3", "--nj", "2"]  # fmt: skip
    assert main([*args, str(tmp_path / "c")]) == 0
    assert len((tmp_path / "c" / "iden_split.txt").read_text().splitlines()) == 8
    assert main([*args[:-4], "--utterances", "1", str(tmp_path / "d")]) == 1  # no training left
