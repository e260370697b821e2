"""Spectral targets against independent references: numpy re-derivations of the original
definitions, torch.stft, kaldi-native-fbank (Kaldi's fbank / MFCC / librosa mel matrix)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.targets import filters
from pase.targets import functional as tf
from tests.conftest import harmonic
from tests.targets import refs

FLT_EPS = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def speechlike() -> np.ndarray:
    """1 s: a 140 Hz harmonic tone with an amplitude step plus light noise (float64)."""
    rng = np.random.default_rng(1)
    x = harmonic(140, 1.0).astype(np.float64)
    x[8000:] *= 0.2
    return x + 0.01 * rng.standard_normal(len(x))


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x)[None]


@pytest.mark.parametrize("win", [400, 512])
def test_lps_matches_numpy_and_torch_stft(speechlike: np.ndarray, win: int) -> None:
    x = speechlike
    got = tf.lps(_t(x), 2048, win)[0].numpy()
    ref = refs.lps(x, 2048, win)
    assert got.shape == (1025, 100)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    # the original's call: torch.stft with window None (rectangular win) and center=True
    spec = torch.stft(_t(x), 2048, 160, win, window=torch.ones(win, dtype=torch.float64),
                      center=True, pad_mode="reflect", return_complex=True)  # fmt: skip
    orig = 10 * torch.log10(spec.abs() ** 2 + 1e-19)[0, :, :100]
    np.testing.assert_allclose(got, orig.numpy(), atol=1e-6)
    # a wrong window or hop is far off
    assert np.abs(refs.lps(x, 2048, 512 if win == 400 else 400) - got).max() > 1.0


def test_lps_float32_close_to_float64(speechlike: np.ndarray) -> None:
    got32 = tf.lps(_t(speechlike).float())[0].numpy()
    ref = refs.lps(speechlike)
    ok = ref > -60  # float32 cannot resolve bins 60 dB below the peak exactly
    assert np.abs(got32 - ref)[ok].max() < 0.05


@pytest.mark.parametrize(("win", "nfft"), [(400, 512), (1024, 1024)])
def test_fbank_matches_python_speech_features_definition(
    speechlike: np.ndarray, win: int, nfft: int
) -> None:
    got = tf.fbank(_t(speechlike), 40, win, nfft)[0].numpy()
    ref = refs.pse_logfbank(speechlike, win, nfft)
    assert got.shape == (40, 100)
    np.testing.assert_allclose(got, ref, atol=1e-8)
    assert (
        np.abs(refs.pse_logfbank(speechlike, 400 if win != 400 else 1024, nfft) - got).max() > 0.5
    )


def _kaldi(kind: str, x: np.ndarray, **kw: object) -> np.ndarray:
    knf = pytest.importorskip("kaldi_native_fbank")
    o = knf.FbankOptions() if kind == "fbank" else knf.MfccOptions()
    o.frame_opts.dither = 0.0
    o.frame_opts.preemph_coeff = 0.0
    o.frame_opts.remove_dc_offset = False
    o.frame_opts.window_type = "rectangular"
    o.frame_opts.snip_edges = True
    o.mel_opts.num_bins = 40
    o.mel_opts.low_freq = 0.0
    o.mel_opts.high_freq = 0.0
    for k, v in kw.items():
        setattr(o, k, v)
    f = knf.OnlineFbank(o) if kind == "fbank" else knf.OnlineMfcc(o)
    f.accept_waveform(16000, x.astype(np.float32).tolist())
    f.input_finished()
    return np.stack([f.get_frame(i) for i in range(f.num_frames_ready)])


def _kaldi_aligned(x: np.ndarray) -> torch.Tensor:
    """Kaldi's snip-edges frame i covers x[160 i, 160 i + 400); our frame j is centred on
    160 j, so prepending 120 samples makes our frame i + 2 cover exactly Kaldi's frame i."""
    return _t(np.concatenate([np.zeros(120), x.astype(np.float32).astype(np.float64)]))


KALDI_MEL = dict(window="rect", mel_scale="htk", mel_shape="mel", mel_norm=None, log="ln")


def test_log_mel_kaldi_definition_matches_kaldi_native_fbank(speechlike: np.ndarray) -> None:
    ref = _kaldi("fbank", speechlike)
    z = _kaldi_aligned(speechlike)
    got = tf.log_mel(z, 40, 400, 512, floor=FLT_EPS, **KALDI_MEL)[0].T.numpy()
    n = len(ref)
    np.testing.assert_allclose(got[2 : n + 2], ref, atol=1e-4)
    # log base and framing errors would not pass
    db = tf.log_mel(z, 40, 400, 512, **{**KALDI_MEL, "log": "db"})[0].T.numpy() / 10
    assert np.abs(db[2 : n + 2] - ref).max() > 1.0
    assert np.abs(got[1 : n + 1] - ref).max() > 0.1


def test_mfcc_kaldi_definition_matches_kaldi_native_fbank(speechlike: np.ndarray) -> None:
    ref = _kaldi("mfcc", speechlike, use_energy=False, cepstral_lifter=0.0, num_ceps=13)
    z = _kaldi_aligned(speechlike)
    got = tf.mfcc(z, 13, 400, 512, n_mels=40, top_db=None, floor=FLT_EPS, **KALDI_MEL)
    got = got[0].T.numpy()
    n = len(ref)
    np.testing.assert_allclose(got[2 : n + 2], ref, atol=1e-3)


def test_slaney_mel_matrix_matches_kaldi_native_fbank_librosa_mode() -> None:
    knf = pytest.importorskip("kaldi_native_fbank")
    mo = knf.MelBanksOptions()
    mo.num_bins, mo.low_freq, mo.high_freq, mo.is_librosa = 128, 0.0, 8000.0, True
    fo = knf.FrameExtractionOptions()
    fo.samp_freq, fo.frame_length_ms, fo.round_to_power_of_two = 16000, 25.0, False
    ref = knf.MelBanks(mo, fo, 1.0).get_matrix()
    ours = filters.mel_filterbank(128, 400, 16000, 0.0, None, "slaney", "hz", "slaney").T
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    np.testing.assert_allclose(ours, refs.slaney_mel(128, 400), atol=1e-12)


@pytest.mark.parametrize(("order", "win"), [(13, 400), (20, 2048)])
def test_mfcc_matches_librosa_definition(speechlike: np.ndarray, order: int, win: int) -> None:
    got = tf.mfcc(_t(speechlike), order, win)[0].numpy()
    ref = refs.librosa_mfcc(speechlike, order, win)
    assert got.shape == (order, 100)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    other = refs.librosa_mfcc(speechlike, order, 2048 if win == 400 else 400)
    assert np.abs(other - got).max() > 1.0


def test_mfcc_top_db_is_per_example(speechlike: np.ndarray) -> None:
    x = torch.from_numpy(speechlike).clone()
    x[12000:] = 0.0  # digital silence: -100 dB, clipped by top_db
    x = torch.stack([x, x * 1e-3])
    lm = tf.log_mel(x, 128, 400, window="hann", mel_scale="slaney", mel_norm="slaney",
                    log="db", floor=1e-10, top_db=80.0)  # fmt: skip
    peak = lm.amax(dim=(1, 2))
    assert peak[0] - peak[1] == pytest.approx(60.0, abs=1e-6)  # -60 dB gain
    for b in range(2):  # silence sits at max(own peak - 80 dB, amin = -100 dB)
        assert lm[b].min() == pytest.approx(max(float(peak[b]) - 80.0, -100.0), abs=1e-9)


@pytest.mark.parametrize(("win", "median_tol"), [(400, 0.04), (2048, 0.015)])
def test_gammatone_fft_approximation_vs_time_domain(win: int, median_tol: float) -> None:
    rng = np.random.default_rng(0)
    n = 32000
    t = np.arange(n) / 16000
    phase = 2 * np.pi * np.cumsum(120 + 100 * t / t[-1]) / 16000  # f0 glide 120 -> 220 Hz
    x = sum(np.sin(k * phase) / k for k in range(1, 40))
    x = x * np.repeat(rng.uniform(0.05, 1.0, 8), n // 8) + 0.05 * rng.standard_normal(n)
    x = 0.3 * x / np.abs(x).max()
    got = np.exp(tf.gammatone(_t(x), 40, win)[0].numpy()) - 1e-10
    margin = slice(win // 160 + 2, -(win // 160 + 2))

    def log_err(ref: np.ndarray) -> float:
        g, r = got[:, margin], ref[:, margin]
        big = r > 0.01 * r.max()
        return float(np.median(np.abs(np.log(g[big] / r[big]))))

    err = log_err(refs.gammatone_td(x, win))
    wrong = log_err(refs.gammatone_td(x, 2048 if win == 400 else 400))
    assert err < median_tol, err
    assert wrong > 2 * err  # the comparison can tell the window apart


def test_gammatone_centre_frequencies_and_gain() -> None:
    fcs = filters.erb_space(500.0, 8000.0, 40)
    assert fcs[-1] == pytest.approx(500.0) and np.all(np.diff(fcs) < 0) and fcs[0] < 8000
    # ERB-rate spacing: equal steps of log(f + EarQ * minBW)
    steps = np.diff(np.log(fcs + 9.26449 * 24.7))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    # a pure tone at a channel's centre frequency: that channel's rms = tone rms (unit gain)
    fc = float(fcs[20])
    x = 0.5 * np.sin(2 * np.pi * fc * np.arange(32000) / 16000)
    g = tf.gammatone(_t(x), 40, 2048)[0].numpy()
    assert np.argmax(g[:, 100]) == 20
    np.testing.assert_allclose(np.exp(g[20, 20:-20]), 0.5 / np.sqrt(2), rtol=0.03)


def test_all_spectral_targets_centred_on_the_same_frame() -> None:
    """A short burst centred on sample 160 * 60 peaks at frame 60 for every target and window
    length (the original's fbank/gammatone lagged by half a window)."""
    n = torch.arange(24000, dtype=torch.float64)
    x = (torch.exp(-0.5 * ((n - 9600) / 15) ** 2) * torch.cos(0.9 * n))[None]
    lib = dict(window="hann", mel_scale="slaney", mel_norm="slaney", log="db", top_db=None)
    power = {  # every target in the power domain
        "lps": 10 ** (tf.lps(x, 2048, 400) / 10), "lps_long": 10 ** (tf.lps(x, 2048, 512) / 10),
        "fbank": tf.fbank(x, 40, 400, 512).exp(), "fbank_long": tf.fbank(x, 40, 1024, 1024).exp(),
        "gtn": tf.gammatone(x, 40, 400).exp() ** 2,
        "gtn_long": tf.gammatone(x, 40, 2048).exp() ** 2,
        "mfcc_mel": 10 ** (tf.log_mel(x, 128, 400, **lib) / 10),
        "mfcc_long_mel": 10 ** (tf.log_mel(x, 128, 2048, **lib) / 10),
        "energy": tf.rms_energy(x, 320)[:, None] ** 2,
    }  # fmt: skip
    for name, f in power.items():
        profile = f[0].sum(dim=0)
        # long windows hold the whole burst in several frames: take the plateau's centre
        top = torch.nonzero(profile >= profile.max() * (1 - 1e-6)).flatten()
        assert (top.min() + top.max()) / 2 == 60, name


def test_frame_signal_layout() -> None:
    x = torch.arange(1000, dtype=torch.float64)[None]
    fr = tf.frame_signal(x, 400)
    assert fr.shape == (1, 6, 400)
    assert fr[0, 2, 200] == 320  # centre of frame i is sample 160 i
    assert fr[0, 0, 0] == 200  # reflect padding
    fz = tf.frame_signal(x, 400, pad_mode="constant")
    assert fz[0, 0, :200].abs().sum() == 0
    with pytest.raises(tf.TargetError, match=r"\(B, L\)"):
        tf.frame_signal(torch.zeros(2, 2, 2), 400)
