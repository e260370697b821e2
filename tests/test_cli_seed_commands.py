"""Every command line of the original PASE README runs with our tools where we provide the
equivalent: each is parsed by our parser and must give the intended options; the same line in
our spelling (docs/cli.md) must give the same namespace.

The command lines are copied from the original README (the project's
shared/seeds/000_*.txt, which gives them without the script names: ``python --data_root ...``);
the script each one is for is from the original repository (shared/spec/pase-original.md).
Python's own ``-u`` of the training lines is dropped.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from pase.bin import make_data_cfg, make_stats, prepare_openslr_rirs
from pase.bin import train as train_cli
from pase.train.options import parse_options

ROOT = Path(__file__).resolve().parents[1]

DATA_CFG = """--data_root data/LibriSpeech/wavs \\
    --train_scp data/LibriSpeech/libri_tr.scp --test_scp data/LibriSpeech/libri_te.scp \\
    --libri_dict data/LibriSpeech/libri_dict.npy --cfg_file data/librispeech_data.cfg"""

STATS_PASE = """--data_root data/LibriSpeech/wavs \\
    --data_cfg data/librispeech_data.cfg \\
    --net_cfg cfg/workers/workers.cfg \\
    --out_file data/librispeech_stats.pkl """

STATS_PASE_PLUS = """--data_root data/LibriSpeech/wavs \\
    --data_cfg data/librispeech_data.cfg \\
    --net_cfg cfg/workers/workers+.cfg \\
    --out_file data/librispeech_stats_pase+.pkl """

TRAIN_PASE = """--batch_size 32 --epoch 150 --save_path pase_ckpt --num_workers 4 \\
    --net_cfg cfg/workers/workers.cfg --fe_cfg cfg/frontend/PASE.cfg \\
    --data_cfg data/librispeech_data.cfg --min_lr 0.0005 --fe_lr 0.0005 \\
    --data_root data/LibriSpeech/wavs/ --stats data/librispeech_stats.pkl --lrdec_step 30 \
--lrdecay 0.5"""

TRAIN_PASE_PLUS = """--batch_size 16 --epoch 400 --save_path pase+_ckpt \\
           --num_workers 4 --warmup 10000000 --net_cfg cfg/workers/workers+.cfg \\
           --fe_cfg cfg/frontend/PASE+.cfg --data_cfg data/librispeech_data.cfg \\
           --min_lr 0.0005 --fe_lr 0.001 --data_root data/LibriSpeech/wavs/ \\
           --dtrans_cfg cfg/distortions/pase+.cfg \\
           --stats data/librispeech_stats_pase+.pkl \\
           --chunk_size 32000 \\
           --tensorboard False \\
           --backprop_mode base\\
           --random_scale True\\
           --lr_mode poly"""

OPENSLR = """--data_root data/simulated_rirs_16k --out_file cfg/distortions/pase+.cfg \
--existing_cfg cfg/distortions/pase+.cfg"""

TIMIT = "../cfg/frontend/PASE+.cfg FE_e199.ckpt /data/TIMIT out cfg/MLP_PASE.cfg cfg/decoder.cfg"


def _train(argv: list[str]) -> argparse.Namespace:
    return parse_options(argv, train_cli.build_parser())


def _parser(module) -> Callable[[list[str]], argparse.Namespace]:
    return lambda argv: module.build_parser().parse_args(argv)


#: (original script, our command, command line, options it must give)
SEED = [
    ("unsupervised_data_cfg_librispeech.py", make_data_cfg, DATA_CFG, {
        "data_root": "data/LibriSpeech/wavs", "train_scp": "data/LibriSpeech/libri_tr.scp",
        "test_scp": "data/LibriSpeech/libri_te.scp", "valid_scp": None,
        "libri_dict": "data/LibriSpeech/libri_dict.npy", "cfg_file": "data/librispeech_data.cfg",
    }),
    ("make_trainset_statistics.py", make_stats, STATS_PASE, {
        "data_root": "data/LibriSpeech/wavs", "data_cfg": "data/librispeech_data.cfg",
        "net_cfg": "cfg/workers/workers.cfg", "out_file": "data/librispeech_stats.pkl",
        "max_batches": 20,
    }),
    ("make_trainset_statistics.py", make_stats, STATS_PASE + " --max_batches 10", {
        "net_cfg": "cfg/workers/workers.cfg", "max_batches": 10,
    }),
    ("make_trainset_statistics.py", make_stats, STATS_PASE_PLUS, {
        "net_cfg": "cfg/workers/workers+.cfg", "out_file": "data/librispeech_stats_pase+.pkl",
    }),
    ("train.py", train_cli, TRAIN_PASE, {
        "batch_size": 32, "epoch": 150, "save_path": "pase_ckpt", "num_workers": 4,
        "net_cfg": "cfg/workers/workers.cfg", "fe_cfg": "cfg/frontend/PASE.cfg",
        "data_cfg": "data/librispeech_data.cfg", "min_lr": 0.0005, "fe_lr": 0.0005,
        "data_root": "data/LibriSpeech/wavs/", "stats": "data/librispeech_stats.pkl",
        "lrdec_step": 30, "lrdecay": 0.5, "dtrans_cfg": None, "lr_mode": "step",
    }),
    ("train.py", train_cli, TRAIN_PASE_PLUS, {
        "batch_size": 16, "epoch": 400, "save_path": "pase+_ckpt", "num_workers": 4,
        "warmup": 10000000.0, "net_cfg": "cfg/workers/workers+.cfg",
        "fe_cfg": "cfg/frontend/PASE+.cfg", "min_lr": 0.0005, "fe_lr": 0.001,
        "dtrans_cfg": "cfg/distortions/pase+.cfg", "stats": "data/librispeech_stats_pase+.pkl",
        "chunk_size": 32000, "tensorboard": False, "backprop_mode": "base",
        "random_scale": True, "lr_mode": "poly",
    }),
    ("data/prep/prepare_openslr_rirs_cfg.py", prepare_openslr_rirs, OPENSLR, {
        "data_root": "data/simulated_rirs_16k", "out_file": "cfg/distortions/pase+.cfg",
        "existing_cfg": "cfg/distortions/pase+.cfg", "small_room_ratio": 1.0, "no_check": False,
    }),
]  # fmt: skip


def words(line: str) -> list[str]:
    """The shell's words of ``line`` (a backslash-newline joins lines, as in the shell)."""
    return shlex.split(line.replace("\\\n", ""))


def parse(module, line: str) -> argparse.Namespace:
    argv = words(line)
    return _train(argv) if module is train_cli else _parser(module)(argv)


def kebab(line: str) -> str:
    """The same command line in our spelling: ``--data_root`` -> ``--data-root``."""
    return re.sub(r"--[a-z0-9_]+", lambda m: m.group(0).replace("_", "-"), line)


IDS = [f"{i}-{s[0].split('/')[-1]}" for i, s in enumerate(SEED)]


@pytest.mark.parametrize(("script", "module", "line", "expected"), SEED, ids=IDS)
def test_seed_command_lines_parse(script: str, module, line: str, expected: dict) -> None:
    args = parse(module, line)
    got = {k: getattr(args, k) for k in expected}
    assert got == expected, script


@pytest.mark.parametrize(("script", "module", "line", "expected"), SEED, ids=IDS)
def test_seed_command_lines_in_our_spelling(script, module, line: str, expected) -> None:
    assert "_" in line and "_" not in " ".join(re.findall(r"--[\w-]+", kebab(line)))
    assert vars(parse(module, kebab(line))) == vars(parse(module, line)), script


def test_timit_one_command_experiment() -> None:
    """``python run_TIMIT_full_decoding.py $pase_cfg $pase_model $timit_folder $out_folder
    cfg/MLP_PASE.cfg cfg/decoder.cfg``: becomes a run.sh call whose every option is a variable
    the recipe declares (utils/parse_options.sh accepts only those)."""
    recipe = ROOT / "egs" / "timit" / "asr1"
    spec = importlib.util.spec_from_file_location("rtfd", recipe / "run_TIMIT_full_decoding.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cmd = mod.build_command(words(TIMIT), recipe)
    assert cmd[0].endswith("run.sh")
    declared = set(re.findall(r"^([a-z_]+)=", (recipe / "run.sh").read_text(), re.M))
    opts = [w[2:] for w in cmd[1:] if w.startswith("--")]
    assert opts and all(o in declared for o in opts), set(opts) - declared
    assert cmd[cmd.index("--pase_ckpt") + 1].endswith("FE_e199.ckpt")
