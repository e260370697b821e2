"""TIMIT data preparation (LDC layout -> Kaldi data dirs) and the synthetic TIMIT corpus."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.asr.scoring import PhoneMap
from pase.corpus.espeak import PhoneEvent
from pase.corpus.timit import TimitError, prepare_timit, read_speaker_list
from pase.io.datadir import read_kv

SR = 16000
# (label, samples): q is deleted and merged into the previous phone, bcl -> vcl, h# -> sil
PHN = [("h#", 2000), ("sh", 1500), ("iy", 1200), ("q", 300), ("bcl", 700), ("b", 400),
       ("ax-h", 500), ("h#", 2400)]  # fmt: skip
N_SAMPLES = sum(n for _, n in PHN)


def write_utt(d: Path, name: str, *, upper: bool = True, phn=PHN, riff: bool = False) -> None:
    case = str.upper if upper else str.lower
    d.mkdir(parents=True, exist_ok=True)
    x = (0.1 * np.sin(np.arange(N_SAMPLES) * 0.05)).astype(np.float32)
    if riff:
        sf.write(d / case(f"{name}.wav"), x, SR, format="WAV", subtype="PCM_16")
    else:
        sf.write(d / case(f"{name}.wav"), x, SR, format="NIST", subtype="PCM_16")
    if phn is not None:
        pos, rows = 0, []
        for lab, n in phn:
            rows.append(f"{pos} {pos + n} {lab}")
            pos += n
        (d / case(f"{name}.phn")).write_text("\n".join(rows) + "\n")
    (d / case(f"{name}.txt")).write_text(f"0 {N_SAMPLES} Some text.\n")


def make_tree(root: Path, *, upper: bool = True) -> None:
    case = str.upper if upper else str.lower
    spks = [("train", "dr1", "fcjf0"), ("train", "dr2", "mabc1"), ("test", "dr1", "faks0"),
            ("test", "dr3", "mdab0"), ("test", "dr4", "mzzz9")]  # fmt: skip
    for part, dr, spk in spks:
        for utt in ("sa1", "si1000", "sx20"):
            write_utt(root / case(part) / case(dr) / case(spk), utt, upper=upper)


@pytest.mark.parametrize("upper", [True, False])
def test_prepare_splits_ids_and_labels(tmp_path: Path, upper: bool, caplog) -> None:
    root = tmp_path / "corpus" / ("TIMIT" if upper else "timit")
    make_tree(root, upper=upper)
    with caplog.at_level(logging.WARNING):
        counts = prepare_timit(tmp_path / "corpus", tmp_path / "data")
    assert counts == {"train": 4, "dev": 2, "test": 2}  # SA excluded, mzzz9 in no list
    # the missing dev/test speakers are listed in a warning
    assert "fdac1" in caplog.text and "mwbt0" in caplog.text
    d = tmp_path / "data"
    assert list(read_kv(d / "train" / "utt2spk")) == [
        "fcjf0_si1000", "fcjf0_sx20", "mabc1_si1000", "mabc1_sx20"
    ]  # fmt: skip
    assert read_kv(d / "dev" / "spk2utt") == {"faks0": "faks0_si1000 faks0_sx20"}
    assert list(read_kv(d / "test" / "utt2spk")) == ["mdab0_si1000", "mdab0_sx20"]
    text = read_kv(d / "test" / "text")["mdab0_sx20"].split()
    assert text == ["sil", "sh", "iy", "vcl", "b", "ax", "sil"]
    assert read_kv(d / "test" / "text.61")["mdab0_sx20"].split()[3] == "q"
    assert read_kv(d / "dev" / "spk2gender") == {"faks0": "f"}
    wav = read_kv(d / "dev" / "wav.scp")["faks0_sx20"]
    assert Path(wav).is_file() and sf.info(wav).format == "NIST"
    assert read_kv(d / "dev" / "utt2num_samples")["faks0_sx20"] == str(N_SAMPLES)
    ctm = [line.split() for line in (d / "dev" / "phones.ctm").read_text().splitlines()]
    rows = [r for r in ctm if r[0] == "faks0_sx20"]
    assert [r[4] for r in rows] == text
    # segments tile the utterance; the 300 deleted q samples went to the preceding iy
    starts = [float(r[2]) for r in rows]
    ends = [float(r[2]) + float(r[3]) for r in rows]
    assert starts[0] == 0 and ends[-1] == pytest.approx(N_SAMPLES / SR, abs=1e-4)
    assert all(abs(a - b) < 2e-4 for a, b in zip(ends[:-1], starts[1:]))
    assert float(rows[2][3]) == pytest.approx((1200 + 300) / SR, abs=1e-4)


def _prep_error(tmp_path: Path, **kw) -> str:
    root = tmp_path / "c"
    make_tree(root)
    write_utt(root / "TEST" / "DR1" / "FAKS0", "si1000", **kw)
    with pytest.raises(TimitError) as e:
        prepare_timit(root, tmp_path / "data")
    return str(e.value)


def test_missing_phn_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_tree(root)
    (root / "TEST" / "DR1" / "FAKS0" / "SI1000.PHN").unlink()
    with pytest.raises(TimitError, match=r"FAKS0/SI1000\.WAV.*PHN"):
        prepare_timit(root, tmp_path / "data")


def test_phn_beyond_audio_names_the_file(tmp_path: Path) -> None:
    msg = _prep_error(tmp_path, phn=[*PHN[:-1], ("h#", 2500)])
    assert re.search(r"FAKS0/SI1000\.PHN:8: .*ends at sample 9100 .*9000", msg), msg


def test_unknown_label_names_the_file(tmp_path: Path) -> None:
    msg = _prep_error(tmp_path, phn=[("h#", 2000), ("xx", 4600), ("h#", 2400)])
    assert "FAKS0/SI1000.PHN:2" in msg and "'xx'" in msg


def test_non_sphere_wav_names_the_file(tmp_path: Path) -> None:
    msg = _prep_error(tmp_path, riff=True)
    assert "FAKS0/SI1000.WAV" in msg and "NIST SPHERE" in msg


def test_no_corpus_and_empty_split(tmp_path: Path) -> None:
    with pytest.raises(TimitError, match="no TRAIN/ or TEST/"):
        prepare_timit(tmp_path, tmp_path / "data")
    root = tmp_path / "c"
    write_utt(root / "TRAIN" / "DR1" / "FCJF0", "si1")
    with pytest.raises(TimitError, match="dev split"):
        prepare_timit(root, tmp_path / "data")


def test_speaker_lists_are_kaldis() -> None:
    dev, test = (
        read_speaker_list(None, "timit_dev_spk.list"),
        read_speaker_list(None, "timit_test_spk.list"),
    )
    assert len(dev) == 50 and len(test) == 24 and not set(dev) & set(test)
    pm = PhoneMap.load()
    assert len(pm.to48) == 61 and pm.to48["q"] is None
    assert len(pm.phones48) == 48 and len(pm.phones39) == 39


def test_espeak_events_to_timit_segments() -> None:
    from pase.corpus.synth_timit import SynthTimitError, map_phone, to_timit_segments

    spans = [("_", 0, 100), ("t", 100, 300), ("3", 300, 500), ("r-", 500, 560),
             ("_:", 560, 900), ("aI", 900, 1000)]  # fmt: skip
    ev = [PhoneEvent(*s) for s in spans]
    segs = to_timit_segments(ev, 50, 1200)
    assert [s[2] for s in segs] == ["h#", "tcl", "t", "axr", "pau", "ay", "h#"]
    assert segs[0][0] == 0 and segs[-1][1] == 1200
    assert all(a[1] == b[0] for a, b in itertools.pairwise(segs))
    assert segs[1] == (150, 270, "tcl")  # 60% closure
    assert segs[3] == (350, 610, "axr")  # syllabic r- merged into the vowel
    pm = PhoneMap.load()
    assert all(lab in pm.to48 for _, _, lab in segs)
    with pytest.raises(SynthTimitError, match="'Q9'"):
        map_phone("Q9", "here")
    assert map_phone("t#") == ("dx",) and map_phone("oU#") == ("ow",)


@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory) -> Path:
    from pase.corpus.espeak import espeak_available
    from pase.corpus.synth_timit import make_synthetic_timit

    if not espeak_available():
        pytest.skip("libespeak-ng not installed")
    root = tmp_path_factory.mktemp("synth") / "timit"
    make_synthetic_timit(
        root, train_speakers=2, dev_speakers=1, test_speakers=1, utts_per_speaker=2, jobs=2
    )
    return root


def test_synthetic_corpus_prepares_into_all_splits(synth_corpus: Path, tmp_path: Path) -> None:
    counts = prepare_timit(synth_corpus, tmp_path / "data")
    assert counts == {"train": 4, "dev": 2, "test": 2}
    phn = sorted(synth_corpus.glob("TRAIN/*/*/SX*.PHN"))[0]
    rows = [r.split() for r in phn.read_text().splitlines()]
    assert rows[0][2] == "h#" and rows[-1][2] == "h#" and rows[0][0] == "0"
    assert int(rows[-1][1]) == sf.info(str(phn.with_suffix(".WAV"))).frames
    assert (synth_corpus / "TRAIN").is_dir() and sorted(synth_corpus.glob("TEST/*/FAKS0/SA1.WAV"))
