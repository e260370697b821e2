"""Kaldi MFCC and filterbank features (``compute-mfcc-feats`` / ``compute-fbank-feats``
definitions) through kaldi-native-fbank, and Kaldi's ``add-deltas``.

Input is a ``(L,)`` float waveform in [-1, 1] at ``sample_rate``; it is scaled by 32768 before
analysis so that energies equal Kaldi's on the same 16-bit audio. Output is ``(T, D)`` float32,
one frame per ``frame_shift_ms`` (10 ms = 160 samples at 16 kHz); with ``snip_edges`` (Kaldi's
default) ``T = 1 + (L - 400) // 160`` for ``L >= 400`` samples, else 0.

Defaults are Kaldi's except ``dither``: Kaldi adds random noise (``--dither=1``), which makes
features differ run to run; we default to 0 (deterministic). Pass ``dither=1.0`` for Kaldi's
behaviour. Other options (Kaldi names): ``frame_length_ms`` 25, ``frame_shift_ms`` 10,
``preemph_coeff`` 0.97, ``remove_dc_offset``, ``window_type`` "povey", ``low_freq`` 20 Hz,
``high_freq`` 0 (Nyquist; negative = offset from Nyquist); MFCC: ``num_bins`` 23, ``num_ceps``
13, ``use_energy`` (C0 replaced by log energy), ``cepstral_lifter`` 22; fbank: ``num_bins``
(Kaldi's default is 23; we default to 40, the usual ASR setting), ``use_energy`` False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pase.constants import SAMPLE_RATE

INT16_SCALE = 32768.0


@dataclass(frozen=True)
class FrameOptions:
    """Framing/windowing options shared by MFCC and fbank (Kaldi names and defaults, except
    ``dither`` 0)."""

    sample_rate: int = SAMPLE_RATE
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0
    preemph_coeff: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    snip_edges: bool = True
    low_freq: float = 20.0
    high_freq: float = 0.0

    @property
    def frame_length(self) -> int:
        """Window length in samples."""
        return int(self.sample_rate * self.frame_length_ms / 1000)

    @property
    def frame_shift(self) -> int:
        """Hop in samples."""
        return int(self.sample_rate * self.frame_shift_ms / 1000)


def _knf():
    try:
        import kaldi_native_fbank as knf
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Kaldi features need kaldi-native-fbank: pip install 'pase[kaldi]' "
            "(or pip install kaldi-native-fbank==1.23.0)"
        ) from e
    return knf


def _set_frame_opts(opts, fo: FrameOptions) -> None:
    f = opts.frame_opts
    f.samp_freq = float(fo.sample_rate)
    f.frame_length_ms = fo.frame_length_ms
    f.frame_shift_ms = fo.frame_shift_ms
    f.dither = fo.dither
    f.preemph_coeff = fo.preemph_coeff
    f.remove_dc_offset = fo.remove_dc_offset
    f.window_type = fo.window_type
    f.snip_edges = fo.snip_edges
    opts.mel_opts.low_freq = fo.low_freq
    opts.mel_opts.high_freq = fo.high_freq


def _run(computer, wav: np.ndarray, fo: FrameOptions, dim: int) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected a (L,) waveform, got shape {x.shape}")
    computer.accept_waveform(float(fo.sample_rate), (x * INT16_SCALE).astype(np.float32))
    computer.input_finished()
    n = computer.num_frames_ready
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([np.asarray(computer.get_frame(i), dtype=np.float32) for i in range(n)])


def num_frames(
    num_samples: int, frame_length: int = 400, frame_shift: int = 160, snip_edges: bool = True
) -> int:
    """Kaldi's frame count for ``num_samples`` samples (defaults: 25 ms / 10 ms at 16 kHz)."""
    if snip_edges:
        return 0 if num_samples < frame_length else 1 + (num_samples - frame_length) // frame_shift
    return (num_samples + frame_shift // 2) // frame_shift


def fbank(
    wav: np.ndarray,
    num_bins: int = 40,
    *,
    use_energy: bool = False,
    frame: FrameOptions | None = None,
) -> np.ndarray:
    """Log mel filterbank energies, ``(T, num_bins)`` (``+1`` leading energy column with
    ``use_energy``), float32. Kaldi ``compute-fbank-feats --num-mel-bins=num_bins``."""
    knf = _knf()
    fo = frame or FrameOptions()
    opts = knf.FbankOptions()
    _set_frame_opts(opts, fo)
    opts.mel_opts.num_bins = num_bins
    opts.use_energy = use_energy
    return _run(knf.OnlineFbank(opts), wav, fo, num_bins + int(use_energy))


def mfcc(
    wav: np.ndarray,
    num_ceps: int = 13,
    deltas: int = 0,
    *,
    num_bins: int = 23,
    use_energy: bool = True,
    cepstral_lifter: float = 22.0,
    delta_window: int = 2,
    frame: FrameOptions | None = None,
) -> np.ndarray:
    """MFCCs, ``(T, num_ceps * (deltas + 1))`` float32: Kaldi ``compute-mfcc-feats`` then
    ``add-deltas --delta-order=deltas --delta-window=delta_window`` when ``deltas > 0``."""
    knf = _knf()
    fo = frame or FrameOptions()
    opts = knf.MfccOptions()
    _set_frame_opts(opts, fo)
    opts.mel_opts.num_bins = num_bins
    opts.num_ceps = num_ceps
    opts.use_energy = use_energy
    opts.cepstral_lifter = cepstral_lifter
    feats = _run(knf.OnlineMfcc(opts), wav, fo, num_ceps)
    return add_deltas(feats, deltas, delta_window) if deltas > 0 else feats


def add_deltas(feats: np.ndarray, order: int = 2, window: int = 2) -> np.ndarray:
    """Kaldi ``add-deltas``: ``(T, D)`` -> ``(T, D * (order + 1))`` as ``[x, d, dd, ...]``,
    regression over ``+-window`` frames with edge frames replicated."""
    knf = _knf()
    x = np.ascontiguousarray(feats, dtype=np.float32)
    if x.shape[0] == 0:
        return np.zeros((0, x.shape[1] * (order + 1)), dtype=np.float32)
    opts = knf.DeltaOptions()
    opts.order = order
    opts.window = window
    return np.asarray(knf.compute_deltas(opts, x), dtype=np.float32)


@dataclass(frozen=True)
class KaldiFeatures:
    """One Kaldi feature pipeline, fully specified: ``mfcc`` (with optional deltas) or
    ``fbank``, and the framing options. Plain values only, so it can be stored as JSON
    (:meth:`to_dict` / :meth:`from_dict`).

    ``num_bins`` None means the usual default (MFCC 23, fbank 40); ``use_energy`` None means
    MFCC True, fbank False.
    """

    feat_type: str
    num_ceps: int = 13
    deltas: int = 0
    num_bins: int | None = None
    use_energy: bool | None = None
    frame: FrameOptions = FrameOptions()

    def __post_init__(self) -> None:
        if self.feat_type not in ("mfcc", "fbank"):
            raise ValueError(f"feat_type must be mfcc or fbank, got {self.feat_type!r}")

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        """``(L,)`` waveform -> ``(T, D)`` features."""
        if self.feat_type == "mfcc":
            energy = True if self.use_energy is None else self.use_energy
            return mfcc(
                wav,
                self.num_ceps,
                self.deltas,
                num_bins=self.num_bins or 23,
                use_energy=energy,
                frame=self.frame,
            )
        return fbank(wav, self.num_bins or 40, use_energy=bool(self.use_energy), frame=self.frame)

    @property
    def min_samples(self) -> int:
        """Shortest input giving one frame (one full window with ``snip_edges``)."""
        return self.frame.frame_length if self.frame.snip_edges else 1

    def num_frames(self, num_samples: int) -> int:
        """Frames for ``num_samples`` samples."""
        f = self.frame
        return num_frames(num_samples, f.frame_length, f.frame_shift, f.snip_edges)

    def to_dict(self) -> dict:
        """Plain values (the framing options nested under ``frame``)."""
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> KaldiFeatures:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        frame = FrameOptions(**d.pop("frame", {}))
        return cls(**d, frame=frame)
