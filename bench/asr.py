"""TIMIT hybrid ASR speed: decoding real-time factor and MLP training time per epoch.

    python bench/asr.py                       # both, CPU
    python bench/asr.py --device cuda         # MLP on GPU (decoding is CPU code)
    python bench/asr.py --skip-train --utts 20

Decoding uses TIMIT's shape: 48 phones x 3 states (144 pdfs), a phone-bigram HCLG (from random
phone sentences), beam 13 / lattice beam 8 / acoustic scale 0.2 (the original decoder.cfg), 3 s
utterances (300 frames, 100 frames/s). The log-likelihoods are what a trained MLP produces in
shape: a random state path with 2-8 frames per state, the path's pdf 4 nats above a noisy
background. Reported: RTF = time / audio time of the MLP forward (original 5 x 1024 MLP on
17 x 256 PASE+ inputs), of lattice generation, of the 10-point LM-weight sweep, and of one-best
decoding (FasterDecoder, max-active 7000).

Training: seconds per 10,000 frames of the original MLP (SGD, batch 128) for the monophone
output (144 pdfs) and the original's 1973 Kaldi states, extrapolated to one TIMIT epoch
(``--timit-frames``, about 1.1 M frames of the 3696 SI+SX training utterances).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pase.asr.decode import DecodeConfig, decode_best, decode_lattice, sweep
from pase.asr.graph import make_hclg
from pase.asr.hmm import HmmModel
from pase.asr.lang import Lang
from pase.asr.lm import arpa_to_g, bigram_arpa
from pase.asr.mlp import FrameTable, HybridMLP, MLPConfig, log_likelihoods
from pase.asr.scoring import PhoneMap


def fake_loglikes(hmm: HmmModel, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames, num_pdfs): a left-to-right state path through random phones, peaked."""
    out = rng.normal(-6.0, 1.5, size=(frames, hmm.num_pdfs)).astype(np.float32)
    t = 0
    phones = hmm.topo.phones
    while t < frames:
        p = int(rng.choice(phones))
        for s in range(hmm.num_emitting_states(p)):
            d = int(rng.integers(2, 9))
            out[t : t + d, hmm.pdf_of(p, s)] += 4.0
            t += d
    return out


def bench_decode(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    pm = PhoneMap.load()
    lang = Lang(pm.phones48)
    hmm = HmmModel(lang)
    sents = [list(rng.choice(pm.phones48, size=int(rng.integers(20, 40)))) for _ in range(500)]
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "G.arpa").write_text(bigram_arpa(sents, pm.phones48))
        t0 = time.perf_counter()
        hclg = make_hclg(hmm, arpa_to_g(Path(d) / "G.arpa", lang, d))
        t_graph = time.perf_counter() - t0
    cfg = DecodeConfig()
    frames = int(args.seconds * 100)
    mats = [fake_loglikes(hmm, frames, rng) for _ in range(args.utts)]
    audio = args.utts * args.seconds
    print(f"HCLG: {hclg.num_states} states, built in {t_graph:.2f} s")
    print(f"decoding {args.utts} x {args.seconds:g} s, beam {cfg.beam}, lattice beam "
          f"{cfg.lattice_beam}, acwt {cfg.acwt}")  # fmt: skip

    mcfg = MLPConfig()
    torch.manual_seed(0)
    mlp = HybridMLP(17 * 256, hmm.num_pdfs, mcfg).eval()
    feats = rng.normal(size=(frames, 256)).astype(np.float32)
    prior = np.full(hmm.num_pdfs, -np.log(hmm.num_pdfs))
    log_likelihoods(mlp, feats, prior, mcfg)
    t0 = time.perf_counter()
    for _ in range(args.utts):
        log_likelihoods(mlp, feats, prior, mcfg)
    t_am = time.perf_counter() - t0

    t_lat = t_sweep = 0.0
    for m in mats:
        t0 = time.perf_counter()
        lat = decode_lattice(hclg, m, hmm.tid2pdf, cfg)
        t1 = time.perf_counter()
        sweep(lat, cfg)
        t_sweep += time.perf_counter() - t1
        t_lat += t1 - t0
    t0 = time.perf_counter()
    for m in mats:
        decode_best(hclg, m, hmm.tid2pdf, cfg)
    t_best = time.perf_counter() - t0
    print(f"{'step':<44} {'RTF':>8}")
    for name, t in (
        ("MLP forward (5x1024, 4352 inputs, CPU)", t_am),
        ("lattice generation (LatticeSimpleDecoder)", t_lat),
        (f"LM-weight sweep ({len(cfg.lmwts)} best paths)", t_sweep),
        ("one-best decoding (FasterDecoder)", t_best),
        ("total hybrid decoding (MLP + lattice + sweep)", t_am + t_lat + t_sweep),
    ):
        print(f"{name:<44} {t / audio:8.4f}")


def bench_train(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    device = torch.device(args.device)
    n = args.frames
    utt = 300
    feats = {f"u{i}": rng.normal(size=(utt, 256)).astype(np.float32) for i in range(n // utt)}
    print(f"\nMLP training (original MLP_PASE.cfg: 5 x 1024, BN, dropout 0.15, +-8 frames, "
          f"batch 128, SGD) on {device}, {torch.get_num_threads()} CPU threads")  # fmt: skip
    print(f"{'outputs':>8} {'s / 10k frames':>15} {'TIMIT epoch (est.)':>20}")
    for pdfs in (144, 1973):
        labels = {u: rng.integers(0, pdfs, size=utt) for u in feats}
        table = FrameTable(feats, labels)
        cfg = MLPConfig()
        model = HybridMLP(table.dim * cfg.context, pdfs, cfg).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        perm = torch.randperm(len(table))
        times = []
        for rep in range(args.repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for b in range(0, len(table), cfg.batch_size):
                idx = perm[b : b + cfg.batch_size]
                x = table.batch(idx, cfg.left, cfg.right).to(device)
                y = table.labels[idx].to(device)
                loss = torch.nn.functional.nll_loss(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if rep:  # first pass is a warm-up
                times.append(time.perf_counter() - t0)
        per10k = statistics.median(times) / len(table) * 1e4
        epoch = per10k * args.timit_frames / 1e4
        print(f"{pdfs:>8} {per10k:>15.2f} {epoch / 60:>16.1f} min")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--utts", type=int, default=30, help="utterances to decode")
    p.add_argument("--seconds", type=float, default=3.0, help="length of each utterance")
    p.add_argument("--frames", type=int, default=12000, help="training frames per timing")
    p.add_argument("--timit-frames", type=int, default=1_124_000, help="frames of a TIMIT epoch")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-decode", action="store_true")
    p.add_argument("--skip-train", action="store_true")
    args = p.parse_args()
    if not args.skip_decode:
        bench_decode(args)
    if not args.skip_train:
        bench_train(args)


if __name__ == "__main__":
    main()
