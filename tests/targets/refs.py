"""Independent numpy re-derivations of the original PASE target definitions, for tests.

Written from the published definitions (python_speech_features ``logfbank``, librosa
``feature.mfcc``/``rms``/``zero_crossing_rate``/``delta``, gammatone filters), loop-based where
that is clearest, float64, with the frame centring this package uses (frame ``i`` centred on
sample ``160 i``).
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import scipy.fft
import scipy.signal

SR = 16000
HOP = 160


def centred_frames(x: np.ndarray, win: int, mode: str = "reflect") -> np.ndarray:
    """(T, win) frames, frame i = x[160 i - win // 2 : ... + win] with padding ``mode``."""
    t = len(x) // HOP
    xp = np.pad(x, (win // 2, win), mode=mode)
    return np.stack([xp[i * HOP : i * HOP + win] for i in range(t)])


def lps(x: np.ndarray, n_fft: int = 2048, win: int = 400) -> np.ndarray:
    """(F, T): 10 log10(|rfft(rect frame, n_fft)|^2 + 1e-19)."""
    fr = centred_frames(x, win)
    return (10 * np.log10(np.abs(np.fft.rfft(fr, n_fft)) ** 2 + 1e-19)).T


def pse_filterbank(nfilt: int, nfft: int, sr: int = SR) -> np.ndarray:
    """python_speech_features get_filterbanks (HTK mel, integer FFT bins), (nfilt, F)."""
    hz2mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    mel2hz = lambda m: 700 * (10 ** (m / 2595.0) - 1)  # noqa: E731
    points = np.linspace(hz2mel(0.0), hz2mel(sr / 2), nfilt + 2)
    bins = np.floor((nfft + 1) * mel2hz(points) / sr)
    fb = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fb[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fb[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return fb


def pse_logfbank(x: np.ndarray, win: int = 400, nfft: int = 512, nfilt: int = 40) -> np.ndarray:
    """(nfilt, T) python_speech_features logfbank with centred frames."""
    y = np.append(x[0], x[1:] - 0.97 * x[:-1])
    fr = centred_frames(y, win)
    pspec = np.abs(np.fft.rfft(fr, nfft)) ** 2 / nfft
    feat = pspec @ pse_filterbank(nfilt, nfft).T
    feat = np.where(feat == 0, np.finfo(float).eps, feat)
    return np.log(feat).T


def slaney_mel(n_mels: int, n_fft: int, sr: int = SR) -> np.ndarray:
    """librosa filters.mel defaults (Slaney scale, Slaney norm), (n_mels, F)."""

    def hz2mel(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, float)
        return np.where(
            f >= 1000, 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27), 3 * f / 200
        )

    def mel2hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), 200 * m / 3)

    mel_f = mel2hz(np.linspace(hz2mel(0.0), hz2mel(sr / 2), n_mels + 2))
    fftfreqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    w = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return w * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]


def librosa_mfcc(x: np.ndarray, order: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """(order, T) librosa feature.mfcc defaults (Hann, power, Slaney mel, power_to_db top 80,
    DCT-II ortho)."""
    fr = centred_frames(x, n_fft) * scipy.signal.get_window("hann", n_fft)
    s = np.abs(np.fft.rfft(fr, axis=1)) ** 2
    m = slaney_mel(n_mels, n_fft) @ s.T
    db = 10 * np.log10(np.maximum(1e-10, m))
    db = np.maximum(db, db.max() - 80.0)
    return scipy.fft.dct(db, type=2, norm="ortho", axis=0)[:order]


def rms(x: np.ndarray, win: int = 320) -> np.ndarray:
    """librosa feature.rms(frame_length=win, hop 160, center, pad_mode='constant')."""
    return np.sqrt(np.mean(centred_frames(x, win, "constant") ** 2, axis=1))


def zcr(x: np.ndarray, win: int = 320) -> np.ndarray:
    """librosa feature.zero_crossing_rate(frame_length=win, hop 160, center): edge padding,
    |x| <= 1e-10 -> 0, sign-bit changes counted (0 is positive), mean over the frame."""
    y = np.where(np.abs(x) <= 1e-10, 0.0, x)
    fr = centred_frames(y, win, "edge")
    sb = np.signbit(fr)
    crossings = np.concatenate([np.zeros((len(fr), 1), bool), sb[:, 1:] != sb[:, :-1]], axis=1)
    return crossings.mean(axis=1)


def deltas(x: np.ndarray, width: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """First / second regression deltas over the last axis, librosa (savgol 'interp') edges,
    written as the direct formulas: d1 = sum_k k x[t+k] / sum k^2 and d2 = 2 c where c is the
    quadratic coefficient of the least-squares parabola over the window."""
    h = width // 2
    t = x.shape[-1]
    k = np.arange(-h, h + 1)
    d1 = np.zeros_like(x)
    d2 = np.zeros_like(x)
    for i in range(t):
        c = min(max(i, h), t - 1 - h)  # nearest complete window
        seg = x[..., c - h : c + h + 1]
        d1[..., i] = (seg * k).sum(-1) / (k**2).sum()
        coef = np.polyfit(k, seg.reshape(-1, width).T, 2)  # (3, N): a k^2 + b k + c
        d2[..., i] = (2 * coef[0]).reshape(x.shape[:-1])
    return d1, d2


def gammatone_td(x: np.ndarray, win: int, n_ch: int = 40, f_min: float = 500.0) -> np.ndarray:
    """Time-domain gammatone reference, (n_ch, T) rms: FIR t^3 exp(-2 pi b t) cos(2 pi fc t)
    (b = 1.019 ERB, unit gain at fc), ERB-spaced fc from 8 kHz down to f_min (Slaney's
    formula written out), output advanced by its energy centroid, rms over centred
    rectangular frames of ``win`` samples."""
    q = 9.26449 * 24.7
    frac = np.arange(1, n_ch + 1) / n_ch
    fcs = -q + np.exp(frac * (np.log(f_min + q) - np.log(SR / 2 + q))) * (SR / 2 + q)
    n = np.arange(int(0.08 * SR))
    t = len(x) // HOP
    out = np.zeros((n_ch, t))
    for c, fc in enumerate(fcs):
        b = 1.019 * (fc / 9.26449 + 24.7)
        h = (n / SR) ** 3 * np.exp(-2 * np.pi * b * n / SR) * np.cos(2 * np.pi * fc * n / SR)
        h /= np.abs(np.sum(h * np.exp(-2j * np.pi * fc * n / SR)))
        d = int(np.rint(np.sum(n * h**2) / np.sum(h**2)))
        y = scipy.signal.fftconvolve(x, h)[d : d + len(x)]
        cs = np.concatenate([[0.0], np.cumsum(np.pad(y, (win // 2, win)) ** 2)])
        starts = np.arange(t) * HOP
        out[c] = np.sqrt((cs[starts + win] - cs[starts]) / win)
    return out


def espeak(text: str, voice: str = "en-us", extra: str = "") -> np.ndarray | None:
    """A 16 kHz espeak-ng utterance (float64), or None when espeak-ng / sox are missing."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        return None
    import soundfile as sf

    cmd = f"espeak-ng -v {voice} {extra} --stdout '{text}' | sox -t wav - -r 16000 -t wav -"
    wav = subprocess.run(cmd, shell=True, capture_output=True, check=True).stdout
    y, sr = sf.read(io.BytesIO(wav), dtype="float64")
    assert sr == SR
    return y
