"""``decoder``: reconstructs the waveform (worker ``cchunk``) from the embeddings."""

from __future__ import annotations

from dataclasses import dataclass

from pase.workers.base import Embeddings, Output, Rng, Targets, Worker
from pase.workers.blocks import WaveDecoder, align_time, drop_frames, shuffle_frames
from pase.workers.config import WorkerOptions
from pase.workers.registry import register_worker


@register_worker("decoder")
class DecoderWorker(Worker):
    """Waveform decoder: embeddings ``(B, D, T)`` -> waveform ``(B, 1, prod(strides) T)``
    (``(B, 1, 160 T)`` with the default strides) against the ``(B, 1, L)`` target.

    Transposed convolutions (PReLU init 0) upsample by ``prod(strides)``, then an MLP block
    and a 1x1 Conv1d to ``num_outputs`` channels. In training, input frames are zeroed with
    probability ``dropout_time`` and, with ``shuffle``, permuted within blocks of
    ``shuffle_depth`` frames.
    """

    @dataclass(frozen=True)
    class Options(WorkerOptions):
        loss: str = "L1Loss"
        fmaps: tuple[int, ...] = (512, 256, 128)
        strides: tuple[int, ...] = (4, 4, 10)
        kwidths: tuple[int, ...] = (30, 30, 30)
        dropout_time: float = 0.0
        shuffle: bool = False
        shuffle_depth: int = 7

        def __post_init__(self) -> None:
            if self.shuffle and self.shuffle_depth < 1:
                raise ValueError(f"shuffle_depth must be >= 1, got {self.shuffle_depth}")

    def __init__(self, name: str, emb_dim: int, opts: Options) -> None:
        super().__init__(name, emb_dim, opts)
        self.decoder = WaveDecoder(
            emb_dim,
            opts.num_outputs,
            fmaps=opts.fmaps,
            strides=opts.strides,
            kwidths=opts.kwidths,
            hidden_size=opts.hidden_size,
            hidden_layers=opts.hidden_layers,
            dropout=opts.dropout,
        )
        self.dropout_time = opts.dropout_time
        self.shuffle = opts.shuffle
        self.shuffle_depth = opts.shuffle_depth

    def forward(self, emb: Embeddings, targets: Targets, generator: Rng | None = None) -> Output:
        x = emb.chunk
        if self.training:
            x = drop_frames(x, self.dropout_time, generator)
            if self.shuffle:
                x = shuffle_frames(x, self.shuffle_depth, generator)
        pred = self.decoder(x)
        target = self.target(targets)
        if target.dim() == 2:
            target = target.unsqueeze(1)
        return align_time(pred, target, worker=self.name, tolerance=self.decoder.factor)
