"""``pase-asr-train``: train the hybrid MLP acoustic model on aligned features.

Example::

    pase-asr-train --config conf/MLP_PASE.cfg \\
        --train-feats dump/pase/train/feats.scp --train-data data/train --train-ali exp/mono \\
        --dev-feats dump/pase/dev/feats.scp --dev-data data/dev --dev-ali exp/mono/ali_dev \\
        --norm avg_spk exp/mlp_pase

Targets are the pdfs of the alignments: of our monophone HMM for alignment dirs made by
``pase-asr-align``, or Kaldi's own pdfs (e.g. its triphone states) for a Kaldi alignment dir
(decoding then needs Kaldi's binaries and graph). The model dir gets ``final.pt`` (best dev
frame error), ``last.pt`` (resumable), ``history.json``, ``log_prior.npy``, ``input.json``
(feature normalisation, dims) and a copy of the HMM (``final.mdl``, ``hmm.npz``, lang files).
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from pase.bin.asr_common import read_utt2spk, run

log = logging.getLogger("pase-asr-train")


def load_targets(ali_dir: str | Path) -> tuple[dict, int, str]:
    """utt -> (T,) pdf ids, number of pdfs, and ``"pase"`` or ``"kaldi"`` (which HMM)."""
    from pase.asr.alignments import kaldi_pdf_alignments
    from pase.asr.expdir import load_ali_dir

    d = Path(ali_dir)
    if (d / "hmm.npz").is_file():
        hmm, ali, _ = load_ali_dir(d)
        return {u: hmm.tids_to_pdfs(t, u) for u, t in ali.items()}, hmm.num_pdfs, "pase"
    pdfs, num_pdfs = kaldi_pdf_alignments(d)
    return pdfs, num_pdfs, "kaldi"


def _main(a: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from pase.asr import mlp
    from pase.asr.expdir import copy_model
    from pase.asr.feats import load_features
    from pase.extract import resolve_device
    from pase.io.atomic import atomic_open, write_json_atomic

    cfg = mlp.MLPConfig.from_file(a.config)
    if a.threads:
        torch.set_num_threads(a.threads)
    norm = a.norm or ("avg_spk" if cfg.avg_spk else "none")
    tr_y, num_pdfs, source = load_targets(a.train_ali)
    dv_y, dv_pdfs, _ = load_targets(a.dev_ali)
    if dv_pdfs != num_pdfs:
        raise ValueError(f"{a.dev_ali} has {dv_pdfs} pdfs, {a.train_ali} has {num_pdfs}")
    if cfg.num_outputs_cfg not in (None, num_pdfs):
        log.info(
            "output layer: %d pdfs of the alignments (the config's %d is Kaldi's tree)",
            num_pdfs,
            cfg.num_outputs_cfg,
        )
    tr_x = load_features(
        a.train_feats, read_utt2spk(a.train_data), norm=norm, deltas=a.deltas, utts=set(tr_y)
    )
    dv_x = load_features(
        a.dev_feats, read_utt2spk(a.dev_data), norm=norm, deltas=a.deltas, utts=set(dv_y)
    )
    train_t = mlp.FrameTable(tr_x, tr_y, max_trim=a.max_trim)
    dev_t = mlp.FrameTable(dv_x, dv_y, max_trim=a.max_trim)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log_prior = mlp.log_priors(tr_y, num_pdfs)
    with atomic_open(out / "log_prior.npy", "wb") as f:
        np.save(f, log_prior, allow_pickle=False)
    write_json_atomic(
        out / "input.json",
        {
            "norm": norm,
            "deltas": a.deltas,
            "dim": train_t.dim,
            "num_pdfs": num_pdfs,
            "pdf_source": source,
            "ali_dir": str(a.train_ali),
            "feats": str(a.train_feats),
        },
    )
    if source == "pase":
        copy_model(a.train_ali, out)
    else:  # Kaldi's own pdfs: decoding uses Kaldi's transition model (and graph)
        shutil.copyfile(Path(a.train_ali) / "final.mdl", out / "final.mdl")
    device = resolve_device(a.device)
    log.info(
        "training on %d frames (%d utts), dev %d frames, %d pdfs, input %d x %d, %s",
        len(train_t),
        len(train_t.utts),
        len(dev_t),
        num_pdfs,
        cfg.context,
        train_t.dim,
        device,
    )
    hist = mlp.train(train_t, dev_t, num_pdfs, cfg, out, device=device, max_epochs=a.max_epochs)
    shutil.copyfile(out / "best.pt", out / "final.pt")
    best = min(hist, key=lambda h: h["dev_frame_err"])
    print(
        f"{out}/final.pt: epoch {best['epoch']}, dev frame error {100 * best['dev_frame_err']:.2f}%"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="pase-asr-train",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    p.add_argument("out", help="output model dir")
    p.add_argument("--config", required=True, help="MLP config: original MLP_PASE.cfg or YAML")
    for split in ("train", "dev"):
        p.add_argument(f"--{split}-feats", required=True, help=f"{split} feats.scp")
        p.add_argument(f"--{split}-data", required=True, help=f"{split} data dir (utt2spk)")
        p.add_argument(f"--{split}-ali", required=True, help=f"{split} alignment dir")
    p.add_argument(
        "--norm",
        help="feature normalisation (default: avg_spk if the config's "
        "avg_spk, else none; cmvn / cmvn-vars for MFCC/fbank)",
    )
    p.add_argument("--deltas", type=int, default=0, help="delta order to add to the features")
    p.add_argument(
        "--max-trim",
        type=int,
        default=3,
        help="extra feature frames (PASE vs MFCC framing) that may be trimmed",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--max-epochs", type=int, help="stop after this many epochs (testing)")
    p.add_argument("--verbose", action="store_true")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
