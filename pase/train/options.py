"""Options of ``pase-train``: the original ``train.py`` flags plus ours, from the command line
and/or a YAML config (``--config conf/train_pase+.yaml``; command-line values win).

Every option has its kebab-case name (``--fe-cfg``, the vocabulary of all ``pase-*`` commands,
docs/cli.md) and its snake_case spelling (``--fe_cfg``, the original's flag); a YAML config
may use either as a key.
"""

from __future__ import annotations

import argparse
from typing import Any

import configargparse

from pase.constants import HOP, SAMPLE_RATE
from pase.train.schedules import LR_MODES

BACKPROP_MODES = ("base", "select_half")
CONTEXTS = ("speaker", "recording", "prefix", "self")
#: the original's dataset classes and the context policy that reproduces them
DATASETS = {"LibriSpeechSegTupleWavDataset": "prefix", "PairWavDataset": "self"}


def str2bool(value: str | bool) -> bool:
    """The original's boolean strings: "True"/"False" (also yes/no, 1/0)."""
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in ("true", "yes", "1", "on"):
        return True
    if v in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {value!r}")


class BoolFlag(argparse.Action):
    """A boolean option: ``--foo`` alone is True, ``--foo true`` / ``--foo False`` (the
    original's spelling, any of :func:`str2bool`'s words) set it as given."""

    def __init__(
        self,
        option_strings: list[str],
        dest: str,
        default: bool = False,
        help: str | None = None,
    ) -> None:
        super().__init__(
            option_strings, dest, nargs="?", const=True, default=default, type=str2bool,
            metavar="BOOL", help=help,
        )  # fmt: skip

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)


def add_bool(
    g: argparse._ActionsContainer, name: str, *, default: bool, help: str
) -> argparse.Action:
    """``--name [BOOL]`` (:class:`BoolFlag`, with its snake_case spelling) and, unless the
    name is itself a negation (``--no-cuda``), ``--no-name`` to turn it off (e.g. over a YAML
    config's ``name: true``). Returns the ``--name`` action."""
    snake = "--" + name[2:].replace("-", "_")
    dest = name[2:].replace("-", "_")
    flags = [name] if snake == name else [name, snake]
    action = g.add_argument(*flags, dest=dest, action=BoolFlag, default=default, help=help)
    if not name.startswith("--no-"):
        neg = ["--no-" + name[2:]]
        if snake != name:
            neg.append("--no_" + snake[2:])
        g.add_argument(
            *neg, dest=dest, action="store_false", default=argparse.SUPPRESS,
            help=f"{name} false",
        )  # fmt: skip
    return action


def build_parser(
    parser_class: type[configargparse.ArgumentParser] = configargparse.ArgumentParser,
    formatter_class: type[argparse.HelpFormatter] = argparse.ArgumentDefaultsHelpFormatter,
) -> configargparse.ArgumentParser:
    """The ``pase-train`` argument parser (``pase-train`` itself passes the command-line
    layer's parser and help classes, :mod:`pase.bin.cli`)."""
    p = parser_class(
        prog="pase-train",
        description="Self-supervised PASE / PASE+ training with workers (resumes by default).",
        config_file_parser_class=configargparse.YAMLConfigFileParser,
        formatter_class=formatter_class,
    )
    p.add_argument("--config", is_config_file=True, help="YAML file of options")

    g = p.add_argument_group("data")
    g.add_argument("--data-cfg", "--data_cfg", help="JSON data config (pase-make-data-cfg)")
    g.add_argument("--data-root", "--data_root", help="folder of the data config's file names")
    g.add_argument(
        "--data-dir", "--data_dir", help="Kaldi data dir for training (instead of --data-cfg)"
    )
    g.add_argument(
        "--valid-data-dir",
        "--valid_data_dir",
        help="Kaldi data dir for validation (with --data-dir)",
    )
    g.add_argument(
        "--dataset", choices=sorted(DATASETS), help="original dataset class (sets --context)"
    )
    g.add_argument(
        "--context", choices=CONTEXTS, default="speaker", help="where context chunks come from"
    )
    g.add_argument(
        "--chunk-size", "--chunk_size", type=int, default=SAMPLE_RATE, help="samples per chunk"
    )
    g.add_argument("--batch-size", "--batch_size", type=int, default=100, help="chunks per batch")
    g.add_argument(
        "--num-workers", "--num_workers", type=int, default=2, help="DataLoader processes"
    )
    add_bool(g, "--random-scale", default=False, help="peak-normalise x U(0,1)")
    g.add_argument(
        "--valid-batches",
        "--valid_batches",
        type=int,
        help="validation batches (default: valid size // chunk // batch)",
    )
    add_bool(g, "--validate-audio", default=True, help="check every file before training")
    add_bool(
        g, "--skip-bad-audio", default=False, help="drop and report bad files instead of failing"
    )

    g = p.add_argument_group("model and targets")
    g.add_argument(
        "--fe-cfg", "--fe_cfg", default="PASE+", help="frontend: PASE, PASE+ or a .cfg path"
    )
    g.add_argument(
        "--net-cfg", "--net_cfg", required=True, help="workers: workers, workers+ or a .cfg path"
    )
    g.add_argument("--stats", help="target statistics (.json/.npz from pase-make-stats)")
    add_bool(
        g,
        "--legacy-stats-pickle",
        default=False,
        help="read an original PASE .pkl stats file (restricted unpickler)",
    )
    g.add_argument("--dtrans-cfg", "--dtrans_cfg", help="distortions config (JSON, original keys)")
    g.add_argument(
        "--hop-size",
        "--hop_size",
        "--hop",
        dest="hop",
        type=int,
        default=HOP,
        help=f"must be {HOP} (the original's --hop)",
    )

    g = p.add_argument_group("optimisation")
    g.add_argument("--epoch", type=int, default=1000, help="epochs")
    g.add_argument(
        "--max-steps", "--max_steps", type=int, help="stop after this many steps in total"
    )
    g.add_argument("--fe-lr", "--fe_lr", type=float, default=1e-4, help="encoder learning rate")
    g.add_argument("--min-lr", "--min_lr", type=float, default=4e-4, help="worker learning rate")
    g.add_argument(
        "--fe-opt",
        "--fe_opt",
        choices=["Adam", "RAdam", "adam", "radam"],
        default="Adam",
        help="encoder optimiser",
    )
    g.add_argument(
        "--min-opt",
        "--min_opt",
        choices=["Adam", "RAdam", "adam", "radam"],
        default="Adam",
        help="worker optimiser",
    )
    g.add_argument(
        "--lr-mode",
        "--lr_mode",
        choices=LR_MODES,
        default="step",
        help="learning-rate schedule (pase.train.schedules)",
    )
    g.add_argument(
        "--lrdec-step",
        "--lrdec_step",
        type=int,
        default=30,
        help="step mode: epochs between decays",
    )
    g.add_argument("--lrdecay", type=float, default=0.1, help="step mode: decay factor")
    g.add_argument(
        "--lr-warmup-steps",
        "--lr_warmup_steps",
        type=int,
        default=0,
        help="linear learning-rate warm-up",
    )
    g.add_argument(
        "--warmup",
        type=float,
        help="the original's legacy option (unused there); accepted, has no effect; "
        "see --lr-warmup-steps",
    )
    g.add_argument(
        "--backprop-mode",
        "--backprop_mode",
        choices=BACKPROP_MODES,
        default="base",
        help="base: every worker's loss; select_half: a random half of them each step",
    )
    g.add_argument(
        "--grad-clip", "--grad_clip", type=float, default=0.0, help="max gradient norm (0: off)"
    )
    add_bool(g, "--amp", default=False, help="mixed precision (CUDA only)")
    add_bool(g, "--skip-nonfinite", default=False, help="skip batches with NaN/Inf losses")

    g = p.add_argument_group("run")
    g.add_argument("--save-path", "--save_path", default="ckpt", help="checkpoints, logs, curves")
    g.add_argument(
        "--max-ckpts", "--max_ckpts", type=int, default=2, help="training-state checkpoints kept"
    )
    g.add_argument(
        "--ckpt-interval",
        "--ckpt_interval",
        type=int,
        default=500,
        help="save the training state every N steps",
    )
    g.add_argument(
        "--log-freq", "--log_freq", type=int, default=100, help="steps between log lines"
    )
    g.add_argument(
        "--progress-file",
        "--progress_file",
        help="also write one short progress line per log interval here (steps done/total, "
        "loss, steps/s, ETA), e.g. /dev/tty: the terminal, when the output goes to a log; "
        "skipped if it cannot be opened",
    )
    add_bool(
        g, "--tensorboard", default=True, help="TensorBoard scalars in <save-path>/tensorboard"
    )
    g.add_argument("--seed", type=int, default=2, help="random seed")
    add_bool(g, "--no-cuda", default=False, help="train on CPU (as --device cpu)")
    g.add_argument("--device", help="cpu, cuda, cuda:N (default: cuda when available)")
    add_bool(
        g,
        "--no-continue",
        default=False,
        help="start afresh: remove the training states of an earlier run in --save-path",
    )
    g.add_argument(
        "--pretrained-ckpt",
        "--pretrained_ckpt",
        help="fresh run: start the encoder from these weights (FE_e199.ckpt, a raw state_dict, "
        "ours or a training state); ignored when resuming",
    )
    g.add_argument(
        "--net-ckpt",
        "--net_ckpt",
        help="fresh run: start the encoder and the workers that fit from this full model "
        "(a training state of ours or frontend.* / workers.* weights); ignored when resuming",
    )
    add_bool(
        g,
        "--allow-config-change",
        default=False,
        help="resume even if options or input files differ from the saved run's (logged); "
        "see pase.train.fingerprint for what is compared",
    )
    return p


def parse_options(
    argv: list[str] | None = None, parser: configargparse.ArgumentParser | None = None
) -> argparse.Namespace:
    """Parse (with ``parser``, default :func:`build_parser`'s) and check options; raise
    ``SystemExit`` (argparse) on a bad command line."""
    p = parser if parser is not None else build_parser()
    args = p.parse_args(argv)
    if args.dataset:
        args.context = DATASETS[args.dataset]
    for name in ("chunk_size", "batch_size", "epoch", "log_freq", "ckpt_interval", "max_ckpts"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.max_steps is not None and args.max_steps < 1:
        p.error("--max-steps must be >= 1")
    if args.hop != HOP:
        p.error(f"--hop-size must be {HOP} (the encoder hop)")
    if (args.data_cfg is None) == (args.data_dir is None):
        p.error("give exactly one of --data-cfg or --data-dir")
    if args.valid_data_dir and not args.data_dir:
        p.error("--valid-data-dir goes with --data-dir (a data cfg has its own valid split)")
    if args.lrdecay <= 0:
        p.error("--lrdecay must be > 0")
    return args


def to_dict(args: argparse.Namespace) -> dict[str, Any]:
    """Resolved options as a plain dict (saved next to the checkpoints)."""
    return {k: v for k, v in sorted(vars(args).items()) if k != "config"}
