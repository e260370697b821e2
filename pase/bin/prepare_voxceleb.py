"""``pase-prepare-voxceleb``: VoxCeleb1 identification -> Kaldi data dirs train / dev / test.

Examples::

    pase-prepare-voxceleb /data/VoxCeleb1 data                # wav/ + iden_split.txt
    pase-prepare-voxceleb --split-file meta/iden_split.txt --wav-dir /data/vox1_dev/wav \\
        --wav-dir /data/vox1_test/wav /data/VoxCeleb1 data    # archives unpacked apart
    pase-prepare-voxceleb --num-speakers 40 --utts-per-speaker 1 /data/VoxCeleb1 data
    pase-prepare-voxceleb --train-list minivoxceleb_40spk/minivox_tr_list.txt \\
        --test-list minivoxceleb_40spk/minivox_test_list.txt /data/VoxCeleb1 data

Writes ``<data-dir>/{train,dev,test}`` (``wav.scp``, ``utt2spk``, ``spk2utt``,
``utt2num_samples``, ``utt2dur``; utterance ids ``<speaker>-<video>-<nnnnn>``) from the split's
sets 1, 2, 3, or from the original PASE's mini-VoxCeleb lists (dev: the split's set 2 of the
listed speakers unless ``--dev-list``). Stops naming the file for a missing split file or wav,
a bad line or set number, a dev/test speaker without training utterances, audio that is not
16 kHz mono, and audio shorter than ``--min-samples`` (``--skip-short`` drops those).
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli

PROG = "pase-prepare-voxceleb"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("voxceleb_dir", help="VoxCeleb1 folder holding wav/ and iden_split.txt")
    p.add_argument("data_dir", help="parent of the data dirs train, dev, test to write")
    p.add_argument("--split-file", help="iden_split.txt (default: <voxceleb-dir>/iden_split.txt)")
    p.add_argument(
        "--wav-dir",
        action="append",
        help="folder holding <speaker>/<video>/<nnnnn>.wav, repeatable, searched in order "
        "(default: <voxceleb-dir>/wav)",
    )
    g = p.add_argument_group("selection")
    g.add_argument("--train-list", help="mini-VoxCeleb training list (original PASE's format)")
    g.add_argument("--test-list", help="mini-VoxCeleb test list")
    g.add_argument("--dev-list", help="dev list (default: the split's set 2 of those speakers)")
    g.add_argument("--num-speakers", type=int, help="keep this many training speakers (seeded)")
    g.add_argument("--utts-per-speaker", type=int, help="at most this many per speaker and set")
    cli.add_seed(g, help="seed of --num-speakers / --utts-per-speaker (default 0)")
    g = p.add_argument_group("audio")
    g.add_argument(
        "--min-samples",
        type=int,
        help="shortest usable recording in samples (default: the --fe-cfg encoder's "
        "min_input_samples, 471 for PASE+)",
    )
    cli.add_fe_cfg(g, help="encoder whose shortest input is the default --min-samples")
    cli.add_skip_short(g)
    cli.add_nj(g, help="threads reading audio headers (default 4)")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.voxceleb import VoxCelebError, encoder_min_samples, prepare_voxceleb
    from pase.io.audio import audio_instead_of
    from pase.io.datadir import validate_data_dir

    for path, expected in (
        (a.voxceleb_dir, "the VoxCeleb1 folder holding wav/"),
        (a.data_dir, "a folder for the data dirs"),
    ):
        msg = audio_instead_of(path, expected)
        if msg is not None:
            raise VoxCelebError(msg)
    lists = {k: v for k, v in (("train", a.train_list), ("dev", a.dev_list),
                               ("test", a.test_list)) if v}  # fmt: skip
    if lists and ("train" not in lists or "test" not in lists):
        raise VoxCelebError("--train-list and --test-list go together (--dev-list is optional)")
    min_samples = a.min_samples if a.min_samples is not None else encoder_min_samples(a.fe_cfg)
    rep = prepare_voxceleb(
        a.voxceleb_dir,
        a.data_dir,
        split_file=a.split_file,
        wav_dirs=a.wav_dir,
        lists=lists or None,
        num_speakers=a.num_speakers,
        utts_per_speaker=a.utts_per_speaker,
        seed=a.seed,
        min_samples=min_samples,
        skip_short=a.skip_short,
        jobs=a.nj,
    )
    for name in rep.sets:
        validate_data_dir(f"{a.data_dir}/{name}", no_text=True)
    print(f"{PROG}: {a.data_dir}: {rep}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
