"""Training data: audio items (Kaldi data dirs, JSON data cfgs), validation, chunk datasets,
resumable sharded sampling and collation. See docs/training-data.md."""

from pase.data.chunking import batches_per_epoch, random_scale, reflect_pad, segment_prefix
from pase.data.dataset import CONTEXT_POLICIES, ChunkDataset, read_random_window
from pase.data.items import (
    AudioItem,
    AudioSet,
    DataConfigError,
    from_data_cfg,
    from_datadir,
    load_data_cfg,
    open_audio_set,
)
from pase.data.loader import ChunkBatch, ChunkLoader, build_chunk_loader, collate_chunks
from pase.data.sampler import ChunkBatchSampler, ChunkKey, SamplerStateError
from pase.data.validate import AudioValidationError, AudioValidationReport, BadItem, validate_items

__all__ = [
    "CONTEXT_POLICIES",
    "AudioItem",
    "AudioSet",
    "AudioValidationError",
    "AudioValidationReport",
    "BadItem",
    "ChunkBatch",
    "ChunkBatchSampler",
    "ChunkDataset",
    "ChunkKey",
    "ChunkLoader",
    "DataConfigError",
    "SamplerStateError",
    "batches_per_epoch",
    "build_chunk_loader",
    "collate_chunks",
    "from_data_cfg",
    "from_datadir",
    "load_data_cfg",
    "open_audio_set",
    "random_scale",
    "read_random_window",
    "reflect_pad",
    "segment_prefix",
    "validate_items",
]
