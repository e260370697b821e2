"""``pase-asr-train``: train the hybrid MLP acoustic model on aligned features.

Example::

    pase-asr-train --config conf/MLP_PASE.cfg \\
        --train-feats dump/pase/train/feats.scp --train-data-dir data/train --train-ali exp/mono \\
        --dev-feats dump/pase/dev/feats.scp --dev-data-dir data/dev --dev-ali exp/mono/ali_dev \\
        --norm avg_spk exp/mlp_pase

Targets are the pdfs of the alignments: of our monophone HMM for alignment dirs made by
``pase-asr-align``, or Kaldi's own pdfs (e.g. its triphone states) for a Kaldi alignment dir
(decoding then needs Kaldi's binaries and graph). The model dir gets ``final.pt`` (best dev
frame error), ``last.pt`` (resumable), ``history.json``, ``log_prior.npy``, ``input.json``
(feature normalisation, dims) and a copy of the HMM (``final.mdl``, ``hmm.npz``, lang files).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pase.bin import cli

if TYPE_CHECKING:
    from pase.asr.steps import load_targets

__all__ = ["build_parser", "load_targets", "main"]
PROG = "pase-asr-train"


def __getattr__(name: str) -> Any:
    # pase.asr.steps.load_targets, imported on first use (numpy): --help does not need it
    if name == "load_targets":
        from pase.asr.steps import load_targets

        return load_targets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="output model dir")
    p.add_argument("--config", required=True, help="MLP config: original MLP_PASE.cfg or YAML")
    for split in ("train", "dev"):
        p.add_argument(f"--{split}-feats", required=True, help=f"{split} feats.scp")
        cli.add(p, f"--{split}-data-dir", required=True, help=f"{split} data dir (utt2spk)")
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
    cli.add_device(p, default="auto")
    cli.add_num_threads(p, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--max-epochs", type=int, help="stop after this many epochs (testing)")
    cli.add_verbose(p)
    return p


def _main(a: argparse.Namespace) -> None:
    import torch

    from pase.asr import steps

    if a.num_threads:
        torch.set_num_threads(a.num_threads)
    print(
        steps.train_acoustic_model(
            a.out,
            a.config,
            (a.train_feats, a.train_data_dir, a.train_ali),
            (a.dev_feats, a.dev_data_dir, a.dev_ali),
            norm=a.norm,
            deltas=a.deltas,
            max_trim=a.max_trim,
            device=a.device,
            max_epochs=a.max_epochs,
        )
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
