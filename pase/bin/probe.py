"""``pase-probe``: train and score a small task head on features of a PASE encoder (or any
Kaldi features) — speaker ID, emotion, frame phone classification.

Examples::

    # frozen features dumped by pase-dump-feats, speaker ID from utt2spk
    pase-probe --train dump/train --dev dump/dev --test dump/test --labels utt2spk \\
        --out-dir exp/probe_sid
    # emotion, statistics pooling and an MLP head
    pase-probe --train dump/s1 --dev dump/s2 --test dump/s5 --labels utt2emo \\
        --pooling stats --hidden 256 --out-dir exp/probe_emo
    # frame phone classification from per-frame labels (<utt> <label per 10 ms frame> ...)
    pase-probe --task frame --labels phones.ali --train dump/train --dev dump/dev \\
        --test dump/test --out-dir exp/probe_phone
    # from the audio, encoder fine-tuned with the head (BatchNorm frozen), learned layer mix
    pase-probe --inputs wav --fe-cfg PASE+ --ckpt FE_e199.ckpt --finetune --freeze-bn \\
        --layer weighted --encoder-lr 1e-5 --train data/train --dev data/dev \\
        --test data/test --out-dir exp/probe_ft

Each split is a dump dir (``--inputs feats``: its ``feats.scp``) or a data dir (``--inputs
wav``) holding the label file ``--labels``. The epoch is chosen on dev; test accuracy, with
its 95 % interval, goes to ``<out-dir>/results.json`` with the confusion matrix
(``confusion.tsv``, ``confusion.png``) and, for utterance tasks, ``predictions.txt``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pase.bin import cli
from pase.bin.parser_values import PROBE_INPUTS, PROBE_POOLINGS, PROBE_TASKS

PROG = "pase-probe"


def _layer(text: str) -> str | int:
    if text in ("output", "weighted"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layer expects output, weighted or a layer index, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    g = p.add_argument_group("data")
    g.add_argument("--train", required=True, type=Path, help="training split (dump or data dir)")
    g.add_argument("--dev", required=True, type=Path, help="dev split (chooses the epoch)")
    g.add_argument("--test", required=True, type=Path, help="test split (scored)")
    g.add_argument("--labels", default="utt2spk", help="label file in each split (utt2spk)")
    g.add_argument("--task", choices=PROBE_TASKS, default="utt", help="utt: per utterance; frame")
    g.add_argument("--inputs", choices=PROBE_INPUTS, default="feats", help="feats.scp or the audio")
    g.add_argument("--out-dir", required=True, type=Path, help="results folder")
    cli.add_channel(g)
    g = p.add_argument_group("encoder (--inputs wav)")
    cli.add_fe_cfg(g)
    cli.add_ckpt(g)
    g.add_argument(
        "--layer", type=_layer, default="output", help="output, weighted (learned sum) or N"
    )
    g.add_argument("--finetune", action="store_true", help="train the encoder with the head")
    g.add_argument("--freeze-bn", action="store_true", help="fine-tuning: BatchNorm frozen")
    g.add_argument("--encoder-lr", type=float, default=1e-5, help="encoder learning rate")
    g = p.add_argument_group("head and training")
    g.add_argument("--pooling", choices=PROBE_POOLINGS, default="mean", help="utterance pooling")
    g.add_argument("--hidden", type=int, default=0, help="MLP hidden units (0: linear)")
    g.add_argument("--dropout", type=float, default=0.1)
    g.add_argument("--lr", type=float, default=1e-3, help="head learning rate")
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--epochs", type=int, default=20)
    g.add_argument("--batch-size", type=int, default=16)
    g.add_argument("--patience", type=int, default=5, help="epochs without dev gain to stop")
    g.add_argument("--max-trim", type=int, default=3, help="frame task: extra frames ignored")
    cli.add_seed(g)
    cli.add_num_threads(g)
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.downstream.experiment import ProbeExperiment, run_experiment
    from pase.downstream.train import ProbeConfig

    if a.num_threads:
        import torch

        torch.set_num_threads(a.num_threads)
    cfg = ProbeConfig(
        task=a.task, pooling=a.pooling, hidden=a.hidden, dropout=a.dropout, lr=a.lr,
        encoder_lr=a.encoder_lr, weight_decay=a.weight_decay, epochs=a.epochs,
        batch_size=a.batch_size, patience=a.patience, seed=a.seed, max_trim=a.max_trim,
    )  # fmt: skip
    exp = ProbeExperiment(
        train=a.train, dev=a.dev, test=a.test, out_dir=a.out_dir, labels=a.labels,
        inputs=a.inputs, fe_cfg=a.fe_cfg, ckpt=a.ckpt, layer=a.layer, finetune=a.finetune,
        freeze_bn=a.freeze_bn, channel=a.channel, config=cfg,
    )  # fmt: skip
    run_experiment(exp, log=lambda m: print(f"{PROG}: {m}", file=sys.stderr, flush=True))


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
