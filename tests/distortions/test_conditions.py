"""Test conditions (pase.distortions.conditions, pase-make-condition, pase-synth-distortions):
per-utterance determinism, the SNR and the delay compensation of what is written, the data dir,
reruns, and the errors on unusable noise / RIR / source files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pase.bin import make_condition as make_condition_cli
from pase.bin import synth_distortions
from pase.distortions.conditions import (
    ConditionError,
    ConditionSpec,
    make_condition,
    read_file_list,
    simulate_files,
    utterance_rng,
)
from pase.io.audio import AudioError
from pase.io.datadir import read_kv
from tests.conftest import harmonic

SR = 16000
UTTS = {"spk1_a": (150.0, 1.2), "spk1_b": (200.0, 0.9), "spk2_a": (120.0, 1.5)}


def quiet(_msg: str) -> None:
    pass


def make_data(root: Path) -> Path:
    """A 3-utterance Kaldi data dir (NIST files like TIMIT's) with text, utt2spk, spk2utt."""
    d = root / "data" / "test"
    d.mkdir(parents=True)
    (root / "audio").mkdir()
    scp, text, u2s = [], [], []
    for utt, (f0, sec) in UTTS.items():
        path = root / "audio" / f"{utt}.WAV"
        sf.write(path, 0.5 * harmonic(f0, sec), SR, format="NIST", subtype="PCM_16")
        scp.append(f"{utt} {path}\n")
        text.append(f"{utt} sil aa sil\n")
        u2s.append(f"{utt} {utt.split('_')[0]}\n")
    (d / "wav.scp").write_text("".join(scp))
    (d / "text").write_text("".join(text))
    (d / "utt2spk").write_text("".join(u2s))
    (d / "spk2utt").write_text("spk1 spk1_a spk1_b\nspk2 spk2_a\n")
    (d / "phones.ctm").write_text("spk1_a 1 0.00 0.50 sil\n")
    (d / "feats.scp").write_text("spk1_a feats.ark:7\n")  # describes the old audio: not copied
    return d


def make_files(root: Path) -> tuple[Path, Path]:
    """A noise list (one long, one short noise; relative paths, a comment) and a RIR folder."""
    rng = np.random.default_rng(3)
    (root / "noises").mkdir()
    sf.write(root / "noises" / "long.wav", 0.3 * rng.standard_normal(3 * SR), SR)
    sf.write(root / "noises" / "short.wav", 0.3 * rng.standard_normal(SR // 4), SR)
    lst = root / "noise.list"
    lst.write_text("# two noises\nnoises/long.wav\n\nnoises/short.wav  # 0.25 s\n")
    (root / "rirs").mkdir()
    for i, (delay, decay) in enumerate([(40, 0.05), (200, 0.1)]):
        n = int(0.4 * SR)
        h = 0.2 * rng.standard_normal(n) * np.exp(-np.arange(n) / (decay * SR))
        h[:delay] = 0.0
        h[delay] = 1.0
        sf.write(root / "rirs" / f"rir{i}.wav", h, SR, subtype="FLOAT")
    return lst, root / "rirs"


def read(path: str | Path) -> np.ndarray:
    x, sr = sf.read(path, dtype="float64")
    assert sr == SR
    return x


def snr_against(y: np.ndarray, clean: np.ndarray) -> float:
    """SNR (dB) of ``y`` as a scaled ``clean`` plus what is left (least-squares scale)."""
    a = float(y @ clean / (clean @ clean))
    rest = y - a * clean
    return 10 * np.log10(float((a * clean) @ (a * clean)) / float(rest @ rest))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    return (make_data(tmp_path), *make_files(tmp_path))


def test_spec_and_lists(tmp_path: Path, setup) -> None:
    with pytest.raises(ConditionError, match="unknown condition 'babble'"):
        ConditionSpec("babble")
    with pytest.raises(ConditionError, match="LOW <= HIGH"):
        ConditionSpec("noise", (20.0, 0.0))
    _data, noises, rirs = setup
    files = read_file_list(noises, "--noise-list")
    assert files == [str(tmp_path / "noises/long.wav"), str(tmp_path / "noises/short.wav")]
    assert read_file_list(rirs, "--rir-list") == sorted(str(p) for p in rirs.glob("*.wav"))
    (tmp_path / "empty.list").write_text("# nothing\n\n")
    with pytest.raises(ConditionError, match=r"empty\.list: the list names no files"):
        read_file_list(tmp_path / "empty.list", "--noise-list")
    with pytest.raises(ConditionError, match=r"--rir-list .*nowhere: no such file or folder"):
        read_file_list(tmp_path / "nowhere", "--rir-list")
    (tmp_path / "void").mkdir()
    with pytest.raises(ConditionError, match=r"no \.wav/\.flac/\.npy files"):
        read_file_list(tmp_path / "void", "--rir-list")
    # the draws are a function of (seed, component, utterance) only
    a = utterance_rng(0, "noise", "spk1_a").random(3)
    assert np.array_equal(a, utterance_rng(0, "noise", "spk1_a").random(3))
    assert not np.array_equal(a, utterance_rng(1, "noise", "spk1_a").random(3))
    assert not np.array_equal(a, utterance_rng(0, "reverb", "spk1_a").random(3))


def test_noise_condition_is_deterministic_noisier_and_a_data_dir(tmp_path: Path, setup) -> None:
    data, noises, _rirs = setup
    spec = ConditionSpec("noise", (0.0, 10.0), seed=5)
    out = tmp_path / "data" / "test_noise"
    res = make_condition(data, out, spec, noise_list=noises, say=quiet)
    assert res.utterances == 3 and res.wav_dir == out / "wav"
    # a data dir of the same utterances, pointing at the new 16-bit files
    scp = read_kv(out / "wav.scp")
    assert list(scp) == list(UTTS)
    assert all(Path(p).parent == out / "wav" for p in scp.values())
    for name in ("text", "utt2spk", "spk2utt", "phones.ctm"):
        assert (out / name).read_bytes() == (data / name).read_bytes()
    assert not (out / "feats.scp").exists()
    info = json.loads((out / "condition.json").read_text())
    assert info["condition"] == "noise" and info["snr_db"] == [0.0, 10.0]
    assert info["noises"]["files"] == read_file_list(noises, "--noise-list")
    for utt, path in scp.items():
        assert sf.info(path).subtype == "PCM_16" and sf.info(path).samplerate == SR
        clean, noisy = read(data.parent.parent / "audio" / f"{utt}.WAV"), read(path)
        assert noisy.shape == clean.shape
        d = info["utterances"][utt]
        assert 0.0 <= d["snr_db"] <= 10.0 and Path(d["noise"]).is_file()
        # the noise is there at the drawn SNR (looped: the 0.25 s noise covers every sample)
        assert snr_against(noisy, clean) == pytest.approx(d["snr_db"], abs=0.3)
        assert np.abs(noisy - clean * (noisy @ clean) / (clean @ clean))[-800:].max() > 1e-3
    # the same bytes again, in another folder, and for an utterance of a subset alone
    again = make_condition(data, tmp_path / "again", spec, noise_list=noises, say=quiet)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "wav.scp").write_text(f"spk2_a {read_kv(data / 'wav.scp')['spk2_a']}\n")
    make_condition(sub, tmp_path / "sub_noise", spec, noise_list=noises, say=quiet)
    for utt in UTTS:
        first = (out / "wav" / f"{utt}.wav").read_bytes()
        assert (again.wav_dir / f"{utt}.wav").read_bytes() == first
    assert (tmp_path / "sub_noise/wav/spk2_a.wav").read_bytes() == (
        out / "wav" / "spk2_a.wav"
    ).read_bytes()
    other = make_condition(data, tmp_path / "seed6", ConditionSpec("noise", (0.0, 10.0), 6),
                           noise_list=noises, say=quiet)  # fmt: skip
    assert (other.wav_dir / "spk1_a.wav").read_bytes() != (out / "wav/spk1_a.wav").read_bytes()


def test_reverb_keeps_the_alignment_and_components_share_draws(tmp_path: Path, setup) -> None:
    data, noises, rirs = setup
    # a unit impulse at any delay leaves the audio as it was (the direct path is removed)
    (tmp_path / "dirac").mkdir()
    h = np.zeros(900)
    h[333] = 1.0
    sf.write(tmp_path / "dirac" / "d.wav", h, SR, subtype="FLOAT")
    out = make_condition(data, tmp_path / "dirac_out", ConditionSpec("reverb"),
                         rir_list=tmp_path / "dirac", say=quiet)  # fmt: skip
    clean = read(data.parent.parent / "audio" / "spk1_a.WAV")
    np.testing.assert_allclose(read(out.wav_dir / "spk1_a.wav"), clean, atol=2 / 32768)
    # real RIRs: same length, energy kept; noise+reverb draws like noise and like reverb
    infos = {}
    for cond in ("noise", "reverb", "noise+reverb"):
        d = tmp_path / cond
        make_condition(data, d, ConditionSpec(cond), noise_list=noises, rir_list=rirs, say=quiet)
        infos[cond] = json.loads((d / "condition.json").read_text())["utterances"]
        y = read(d / "wav" / "spk1_a.wav")
        assert y.shape == clean.shape
        assert float(y @ y) == pytest.approx(float(clean @ clean), rel=0.01)
    for utt in UTTS:
        both = infos["noise+reverb"][utt]
        assert {k: both[k] for k in ("noise", "noise_offset", "snr_db")} == {
            k: infos["noise"][utt][k] for k in ("noise", "noise_offset", "snr_db")
        }
        assert both["rir"] == infos["reverb"][utt]["rir"] and "noise" not in infos["reverb"][utt]


def test_loud_mixtures_are_scaled_not_clipped(tmp_path: Path, setup) -> None:
    _data, noises, _rirs = setup
    loud = tmp_path / "loud"
    loud.mkdir()
    x = harmonic(100.0, 1.0)
    sf.write(loud / "a.wav", 0.98 * x / np.abs(x).max(), SR, subtype="FLOAT")
    (loud / "wav.scp").write_text(f"u_a {loud / 'a.wav'}\n")
    out = make_condition(loud, tmp_path / "loud_noise", ConditionSpec("noise", (0.0, 0.0)),
                         noise_list=noises, say=quiet)  # fmt: skip
    y = read(out.wav_dir / "u_a.wav")
    gain = json.loads((out.data_dir / "condition.json").read_text())["utterances"]["u_a"]["gain"]
    assert gain < 1.0 and np.abs(y).max() == pytest.approx(0.99, abs=1e-4)


def test_reruns_skip_until_something_changes(tmp_path: Path, setup) -> None:
    data, noises, _rirs = setup
    spec = ConditionSpec("noise")
    out = tmp_path / "out"
    said: list[str] = []
    make_condition(data, out, spec, noise_list=noises, say=said.append)
    wav = out / "wav" / "spk1_a.wav"
    before = wav.stat().st_mtime_ns
    said.clear()
    make_condition(data, out, spec, noise_list=noises, say=said.append)
    assert "is up to date" in said[0] and wav.stat().st_mtime_ns == before
    # an output removed, the SNR range, the list, a noise file: each remakes it
    changes = [
        (lambda: wav.unlink(), {}, "now missing"),
        (lambda: None, {"spec": ConditionSpec("noise", (5.0, 5.0))}, "option snr"),
        (lambda: noises.write_text("noises/long.wav\n"), {}, "contents changed"),
        (lambda: sf.write(tmp_path / "noises/long.wav", np.ones(SR) * 0.1, SR), {}, "long.wav"),
    ]
    for change, kw, why in changes:
        change()
        said.clear()
        make_condition(data, out, kw.get("spec", spec), noise_list=noises, say=said.append)
        spec = kw.get("spec", spec)
        assert "recomputing" in said[0] and why in said[0], said
        assert wav.is_file()
    said.clear()
    make_condition(data, out, spec, noise_list=noises, force=True, say=said.append)
    assert "--force" in said[0]


def test_unusable_files_are_named(tmp_path: Path, setup) -> None:
    data, noises, rirs = setup

    def fails(lines: str, match: str, cond: str = "noise") -> None:
        lst = tmp_path / "bad.list"
        lst.write_text(lines)
        kw = {"noise_list": lst} if cond == "noise" else {"rir_list": lst}
        with pytest.raises(ConditionError, match=match):
            make_condition(data, tmp_path / "bad_out", ConditionSpec(cond), say=quiet, **kw)

    sf.write(tmp_path / "n8k.wav", np.random.default_rng(0).standard_normal(8000), 8000)
    sf.write(tmp_path / "zeros.wav", np.zeros(1000), SR)
    sf.write(tmp_path / "empty.wav", np.zeros(0), SR)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    fails("noises/long.wav\nmissing.wav\n", r"--noise-list .*bad\.list: .*missing\.wav: file does")
    fails("n8k.wav\n", r"n8k\.wav: sample rate is 8000 Hz, expected 16000 Hz")
    fails("zeros.wav\n", r"zeros\.wav: all samples are zero", cond="reverb")
    fails("empty.wav\n", r"empty\.wav: contains no samples")
    fails("junk.wav\n", r"junk\.wav: unreadable")
    with pytest.raises(ConditionError, match="condition noise needs --noise-list"):
        make_condition(data, tmp_path / "o", ConditionSpec("noise"), rir_list=rirs, say=quiet)
    with pytest.raises(ConditionError, match="noise\\+reverb needs --rir-list"):
        make_condition(data, tmp_path / "o", ConditionSpec("noise+reverb"), noise_list=noises)
    with pytest.raises(ConditionError, match="must differ from the source"):
        make_condition(data, data, ConditionSpec("noise"), noise_list=noises)
    # a source file at another rate is named with its utterance
    sf.write(tmp_path / "audio" / "spk1_b.WAV", np.zeros(8000) + 0.1, 8000, format="NIST")
    with pytest.raises(AudioError, match=r"spk1_b.*8000 Hz"):
        make_condition(data, tmp_path / "o", ConditionSpec("noise"), noise_list=noises)


def test_commands(tmp_path: Path, setup, capsys) -> None:
    data, _noises, _rirs = setup
    sim = tmp_path / "sim"
    assert synth_distortions.main(["--seed", "2", "--num-noises", "3", "--num-rirs", "2",
                                   "--noise-seconds", "1", str(sim)]) == 0  # fmt: skip
    lists = capsys.readouterr().out.split()
    assert lists == [str(sim / "noise.list"), str(sim / "rir.list")]
    assert len(read_file_list(sim / "noise.list", "n")) == 3
    first = {p.name: p.read_bytes() for p in sim.glob("*/*.wav")}
    # the same files from the same seed, elsewhere; a rerun does nothing
    res = simulate_files(tmp_path / "sim2", seed=2, num_noises=3, num_rirs=2, noise_seconds=1.0,
                         say=quiet)  # fmt: skip
    assert {p.name: p.read_bytes() for p in res.noise_list.parent.glob("*/*.wav")} == first
    said: list[str] = []
    simulate_files(sim, seed=2, num_noises=3, num_rirs=2, noise_seconds=1.0, say=said.append)
    assert "up to date" in said[0]
    argv = ["--condition", "noise+reverb", "--noise-list", str(sim / "noise.list"),
            "--rir-list", str(sim / "rir.list"), "--snr", "5", "15", "--seed", "3",
            "--wav-dir", str(tmp_path / "wavs"), str(data), str(tmp_path / "test_nr")]  # fmt: skip
    assert make_condition_cli.main(argv) == 0
    info = json.loads((tmp_path / "test_nr/condition.json").read_text())
    assert info["snr_db"] == [5.0, 15.0] and info["seed"] == 3
    assert info["noises"]["simulated"]["seed"] == 2
    assert sorted(os.listdir(tmp_path / "wavs")) == sorted(f"{u}.wav" for u in UTTS)
    capsys.readouterr()
    assert make_condition_cli.main(["--condition", "reverb", str(data), str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err == "pase-make-condition: error: condition reverb needs --rir-list (a list or " \
        "folder)\n"  # fmt: skip
