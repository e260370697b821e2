"""Chunk dataset, sampler, loader: shapes, context/random partners, padding, seeding, resume,
sharding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pase.data import (
    AudioItem,
    AudioSet,
    ChunkBatchSampler,
    ChunkDataset,
    ChunkKey,
    SamplerStateError,
    batches_per_epoch,
    build_chunk_loader,
    from_data_cfg,
    from_datadir,
    reflect_pad,
    segment_prefix,
)
from pase.data.chunking import random_scale
from pase.io.audio import AudioError
from tests.datasets.conftest import SR, make_corpus, write_wav


def ids(values: torch.Tensor, corpus) -> list[str]:
    return [corpus.utt_of_value(float(v)) for v in values]


def test_chunk_shapes_and_collation(corpus) -> None:
    audio = from_datadir(corpus.dir)
    loader = build_chunk_loader(audio, chunk_size=800, batch_size=4, seed=1)
    # 9 files of 3000 + 500 k samples = 45000 samples -> 56 chunks -> 14 batches of 4
    assert loader.batches_per_epoch == 14 == len(loader)
    batch = next(iter(loader))
    for t in (batch.chunk, batch.chunk_ctxt, batch.chunk_rand):
        assert t.shape == (4, 800) and t.dtype == torch.float32
    assert batch.stacked().shape == (12, 1, 800)
    assert torch.equal(batch.stacked()[4:8, 0], batch.chunk_ctxt)
    assert (batch.epoch, batch.batch, batch.positions) == (0, 0, [0, 1, 2, 3])
    assert len(batch.utts) == 4 and all(len(u) == 3 for u in batch.utts)
    assert "epoch 0 batch 0" in batch.describe() and str(corpus.wav_dir) in batch.describe()


def test_context_is_another_utterance_of_the_same_speaker(corpus) -> None:
    ds = ChunkDataset(from_datadir(corpus.dir).items, 1000, seed=0)
    for pos in range(60):
        ex = ds[ChunkKey(0, 0, pos, pos % len(ds))]
        u, uc, ur = ex["utts"]
        # the samples really come from the named utterances
        assert corpus.utt_of_value(ex["chunk"][0]) == u
        assert corpus.utt_of_value(ex["chunk_ctxt"][0]) == uc
        assert corpus.utt_of_value(ex["chunk_rand"][0]) == ur
        assert uc != u and corpus.utt2spk[uc] == corpus.utt2spk[u]
        assert ur != u
        assert np.all(ex["chunk"] == ex["chunk"][0])


def test_context_partners_are_uniform_over_the_speaker(corpus) -> None:
    ds = ChunkDataset(from_datadir(corpus.dir).items, 100, seed=0)
    rng = np.random.default_rng(0)
    seen = {ds.context_index(0, rng) for _ in range(200)}
    assert seen == {1, 2}  # spk0-utt1, spk0-utt2
    rnd = {ds.random_index(4, rng) for _ in range(500)}
    assert rnd == set(range(9)) - {4}


def test_context_policies(tmp_path: Path) -> None:
    w = write_wav(tmp_path / "rec.wav", np.arange(8000) / 32768)
    other = write_wav(tmp_path / "other.wav", np.zeros(4000))
    items = [
        AudioItem("a", str(w), "s1", "rec", 0.0, 0.1),
        AudioItem("b", str(w), "s2", "rec", 0.2, 0.3),
        AudioItem("c", str(other), "s1", "other"),
    ]
    rng = np.random.default_rng(0)
    assert ChunkDataset(items, 100, context="recording").context_index(0, rng) == 1
    assert ChunkDataset(items, 100, context="speaker").context_index(0, rng) == 2
    assert ChunkDataset(items, 100, context="self").context_index(0, rng) == 0
    # a segment is read from its own region: samples 0.2 s .. 0.3 s of the ramp
    ex = ChunkDataset(items, 1600, context="recording")[ChunkKey(0, 0, 0, 1)]
    assert np.allclose(ex["chunk"] * 32768, np.arange(3200, 4800))
    with pytest.raises(ValueError, match="unknown context policy"):
        ChunkDataset(items, 100, context="chapter")


def test_prefix_policy_follows_the_original_rule(tmp_path: Path) -> None:
    assert segment_prefix("/x/1001-134707-0004-4.wav") == "1001-134707-0004-"
    assert segment_prefix("1001-134707-0004.flac") == "1001-134707-"
    names = ["1001-1-0004-1.wav", "1001-1-0004-2.wav", "1001-1-0005-1.wav"]
    items = [AudioItem(n, str(write_wav(tmp_path / n, np.zeros(400))), "spk") for n in names]
    ds = ChunkDataset(items, 100, context="prefix")
    rng = np.random.default_rng(0)
    assert {ds.context_index(0, rng) for _ in range(20)} == {1}
    assert ds.context_index(2, rng) == 2  # no other segment: the file itself


def test_window_is_a_contiguous_slice_and_offsets_vary(tmp_path: Path) -> None:
    w = write_wav(tmp_path / "ramp.wav", np.arange(5000) / 32768)
    items = [AudioItem("r", str(w)), AudioItem("z", str(write_wav(tmp_path / "z.wav", np.ones(9))))]
    ds = ChunkDataset(items, 1000, with_pairs=False)
    starts = set()
    for pos in range(30):
        x = np.rint(ds[ChunkKey(0, 0, pos, 0)]["chunk"] * 32768)
        assert np.array_equal(x, x[0] + np.arange(1000))
        assert 0 <= x[0] <= 4000
        starts.add(x[0])
    assert len(starts) > 20


def test_reflect_padding_of_short_files(tmp_path: Path) -> None:
    ramp = np.arange(1, 101) / 32768
    items = [
        AudioItem("s", str(write_wav(tmp_path / "s.wav", ramp))),
        AudioItem("t", str(write_wav(tmp_path / "t.wav", ramp))),
    ]
    x = ChunkDataset(items, 250)[0]["chunk"]
    assert x.shape == (250,)
    assert np.allclose(x, np.pad(ramp, (0, 150), mode="reflect"), atol=1e-7)
    # the padded tail mirrors around the last sample, repeatedly
    assert np.allclose(x[100:199] * 32768, np.arange(99, 0, -1))
    assert np.allclose(reflect_pad(np.array([0.5], np.float32), 4), 0.5)
    same = np.arange(5.0)
    assert reflect_pad(same, 3) is same


def test_random_scale(tmp_path: Path, corpus) -> None:
    x = np.array([0.1, -0.4, 0.2], np.float32)
    y = random_scale(x, np.random.default_rng(5))
    g = np.random.default_rng(5).uniform()
    assert np.allclose(y, x / 0.4 * g)
    assert np.all(random_scale(np.zeros(3, np.float32), np.random.default_rng(0)) == 0)
    ds = ChunkDataset(from_datadir(corpus.dir).items, 500, random_scale=True)
    peaks = [np.abs(ds[ChunkKey(0, 0, p, p % 9)]["chunk"]).max() for p in range(40)]
    assert max(peaks) <= 1.0 and np.std(peaks) > 0.1


def test_same_key_same_example_other_epoch_other_example(corpus) -> None:
    ds = ChunkDataset(from_datadir(corpus.dir).items, 700, seed=3)
    a, b = ds[ChunkKey(2, 0, 5, 4)], ds[ChunkKey(2, 0, 5, 4)]
    assert a["utts"] == b["utts"] and np.array_equal(a["chunk_ctxt"], b["chunk_ctxt"])
    draws = {ds[ChunkKey(e, 0, 5, 4)]["utts"][1:] for e in range(12)}
    assert len(draws) > 1
    other_seed = ChunkDataset(ds.items, 700, seed=4)
    assert {other_seed[ChunkKey(e, 0, 5, 4)]["utts"][1:] for e in range(12)} != draws


def _flat(batches) -> list[tuple]:
    return [
        (b.epoch, b.batch, tuple(b.positions), b.chunk.numpy().tobytes(), tuple(b.utts))
        for b in batches
    ]


def test_resume_continues_exactly_with_any_worker_count(corpus) -> None:
    audio = from_datadir(corpus.dir)
    kw = {"chunk_size": 400, "batch_size": 3, "seed": 7, "random_scale": True}
    ref = build_chunk_loader(audio, **kw)
    full = []
    for _ in range(2):  # two whole epochs
        full += _flat(ref)
    assert ref.epoch == 2 and len(full) == 2 * ref.batches_per_epoch

    first = build_chunk_loader(audio, **kw)
    got = []
    for b in first:
        got += _flat([b])
        if len(got) == 5:
            break
    state = first.state_dict()
    assert (state["epoch"], state["next_batch"]) == (0, 5)
    resumed = build_chunk_loader(audio, num_workers=2, **kw)
    resumed.load_state_dict(state)
    assert len(resumed) == resumed.batches_per_epoch - 5
    got += _flat(resumed)
    assert resumed.epoch == 1
    got += _flat(resumed)
    assert got == full


def test_epochs_use_new_orders(corpus) -> None:
    s = ChunkBatchSampler(9, 3, 6, seed=0)
    o0, o1 = s.order(0), s.order(1)
    assert not np.array_equal(o0, o1)
    # 18 positions over 9 items: two full permutations, every item twice
    assert np.array_equal(np.bincount(o0, minlength=9), np.full(9, 2))
    assert np.array_equal(ChunkBatchSampler(9, 3, 6, shuffle=False).order(0) % 9, np.arange(18) % 9)


def test_sharding_is_disjoint_and_covers_the_epoch() -> None:
    n_items, B, bpe, world = 40, 4, 5, 2
    shards = [ChunkBatchSampler(n_items, B, bpe, seed=1, rank=r, world_size=world) for r in (0, 1)]
    pos = [{k.position for batch in s for k in batch} for s in shards]
    assert not pos[0] & pos[1]
    assert pos[0] | pos[1] == set(range(bpe * B * world))
    idx = [[k.index for batch in s for k in batch] for s in shards]
    # 40 positions, one permutation: no file is seen by both processes in this epoch
    assert not set(idx[0]) & set(idx[1]) and len(set(idx[0])) == 20
    assert all(len(batch) == B for batch in shards[1])
    with pytest.raises(ValueError, match="bad rank"):
        ChunkBatchSampler(4, 1, 1, rank=2, world_size=2)


def test_sharded_loaders_split_the_data(corpus) -> None:
    audio = from_datadir(corpus.dir)
    kw = {"chunk_size": 400, "batch_size": 2, "seed": 7, "world_size": 2}
    a = _flat(build_chunk_loader(audio, rank=0, **kw))
    b = _flat(build_chunk_loader(audio, rank=1, **kw))
    # 45000 // 400 = 112 chunks // (2 * 2) = 28 batches per process
    assert len(a) == len(b) == 28
    assert not {p for x in a for p in x[2]} & {p for x in b for p in x[2]}


def test_sampler_state_must_match() -> None:
    s = ChunkBatchSampler(10, 2, 5, seed=1)
    s.advance(0, 1)
    state = s.state_dict()
    with pytest.raises(SamplerStateError, match=r"seed=1.*this run has 2"):
        ChunkBatchSampler(10, 2, 5, seed=2).load_state_dict(state)
    with pytest.raises(SamplerStateError, match="batch_size"):
        ChunkBatchSampler(10, 3, 5, seed=1).load_state_dict(state)
    t = ChunkBatchSampler(10, 2, 5, seed=1)
    t.load_state_dict(state)
    assert [b[0].batch for b in t] == [2, 3, 4]


def test_validation_loader_repeats_the_same_batches(corpus) -> None:
    audio = from_datadir(corpus.dir)
    val = build_chunk_loader(audio, chunk_size=500, batch_size=4, validation=True, num_batches=3)
    a, b = _flat(val), _flat(val)
    assert a == b and len(a) == 3 and val.epoch == 0


def test_epoch_size_follows_the_original() -> None:
    # 50 h at 2 s chunks, batch 16 -> 5625 iterations (spec §6)
    assert batches_per_epoch(50 * 3600 * SR, 32000, 16) == 5625
    assert batches_per_epoch(50 * 3600 * SR, 32000, 16, world_size=2) == 2812
    assert batches_per_epoch(100, 32000, 16) == 1
    with pytest.raises(ValueError):
        batches_per_epoch(100, 0, 16)


def test_data_cfg_split_and_declared_total(tmp_path: Path) -> None:
    c = make_corpus(tmp_path, n_spk=2, n_utt=2)
    cfg = {
        "train": {
            "data": [{"filename": f"{u}.wav", "spk": s} for u, s in c.utt2spk.items()],
            "speakers": ["spk0", "spk1"],
            "total_wav_dur": 640000,
        },
        "valid": {"data": [], "speakers": [], "total_wav_dur": 0},
    }
    audio = from_data_cfg(cfg, "train", data_root=c.wav_dir)
    assert [it.utt_id for it in audio.items] == list(c.utt2spk)
    assert audio.items[0].source == str(c.wav_dir / "spk0-utt0.wav")
    assert audio.total_samples() == 640000
    loader = build_chunk_loader(audio, chunk_size=16000, batch_size=4)
    assert loader.batches_per_epoch == 10
    batch = next(iter(loader))
    assert batch.chunk.shape == (4, 16000)
    with pytest.raises(ValueError, match="no split 'test'"):
        from_data_cfg(cfg, "test")
    cfg["train"]["data"].append(dict(cfg["train"]["data"][0]))
    with pytest.raises(ValueError, match="duplicate utterance 'spk0-utt0'"):
        from_data_cfg(cfg, "train")


def test_read_errors_name_the_utterance(tmp_path: Path) -> None:
    good = write_wav(tmp_path / "g.wav", np.zeros(1000))
    hi = write_wav(tmp_path / "hi.wav", np.zeros(1000), sr=44100)
    items = [
        AudioItem("good", str(good)),
        AudioItem("gone", str(tmp_path / "gone.wav")),
        AudioItem("hi", str(hi)),
    ]
    ds = ChunkDataset(items, 100)
    with pytest.raises(AudioError, match=r"utterance .gone.*gone\.wav.*does not exist"):
        ds[ChunkKey(0, 0, 0, 1)]
    with pytest.raises(AudioError, match=r"utterance .hi.*44100 Hz"):
        ds[ChunkKey(0, 0, 0, 2)]


def test_pipe_sources(tmp_path: Path) -> None:
    w = write_wav(tmp_path / "p.wav", np.arange(3000) / 32768)
    items = [AudioItem("p", f"cat {w} |"), AudioItem("q", str(w))]
    x = np.rint(ChunkDataset(items, 500, with_pairs=False)[0]["chunk"] * 32768)
    assert np.array_equal(x, x[0] + np.arange(500))


def test_needs_two_items_for_pairs(tmp_path: Path) -> None:
    item = AudioItem("only", str(write_wav(tmp_path / "o.wav", np.zeros(100))))
    with pytest.raises(ValueError, match="at least 2 items"):
        ChunkDataset([item], 50)
    assert ChunkDataset([item], 50, with_pairs=False)[0]["chunk"].shape == (50,)
    assert AudioSet([item]).total_samples() == 100


def test_rank_and_world_default_to_the_process_group(corpus, monkeypatch) -> None:
    import torch.distributed as dist

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    loader = build_chunk_loader(from_datadir(corpus.dir), chunk_size=400, batch_size=2)
    assert (loader.sampler.rank, loader.sampler.world_size) == (1, 2)
    assert loader.batches_per_epoch == 28
    assert next(iter(loader)).positions == [2, 3]


def test_multichannel_windows_follow_the_item_channel(tmp_path: Path, monkeypatch) -> None:
    import soundfile as sf

    w = tmp_path / "st.wav"
    sf.write(w, np.stack([np.full(3000, 0.25), np.full(3000, -0.5)], 1), SR, subtype="PCM_16")
    for src in (str(w), f"cat {w} |"):
        ds = ChunkDataset([AudioItem("st", src)], 500, with_pairs=False)
        with pytest.raises(AudioError, match=r"utterance 'st' .*has 2 channels"):
            ds[0]
        for chan, value in ((0, 0.25), (1, -0.5)):
            ds = ChunkDataset([AudioItem("st", src, channel=chan)], 500, with_pairs=False)
            assert np.allclose(ds[0]["chunk"], value)
        monkeypatch.setattr("pase.io.audio._mix_warned", False)
        ds = ChunkDataset([AudioItem("st", src, channel="mix")], 500, with_pairs=False)
        with pytest.warns(UserWarning, match="averaging 2 channels"):
            assert np.allclose(ds[0]["chunk"], -0.125)
