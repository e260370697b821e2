"""``pase-make-folds``: leave-one-group-out folds (train / dev / test dirs) of per-group feature
dirs, with their labels: IEMOCAP's leave-one-session-out protocol (recipe egs/iemocap/emo1).

Examples::

    # dump/mfcc/Session<N> from pase-dump-feats, labels from data/Session<N>/utt2emo
    pase-make-folds --feats-root dump/mfcc --labels-root data --out-dir dump/mfcc/folds \\
        Session1 Session2 Session3 Session4 Session5
    pase-probe --train dump/mfcc/folds/fold1/train --dev dump/mfcc/folds/fold1/dev \\
        --test dump/mfcc/folds/fold1/test --labels utt2emo --out-dir exp/mfcc/fold1

Fold k tests on the k-th group, takes the group ``--dev-offset`` places after it (cyclically;
default 1: the next one) as dev and trains on the others. Each split dir holds the groups'
``feats.scp``, ``utt2spk``, ``spk2utt``, ``utt2num_frames`` merged (as utils/combine_data.sh)
and the label file, which pase-dump-feats does not copy into its dump dirs; ``folds.tsv``
lists the folds. A rerun rewrites the split dirs it made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pase.bin import cli

PROG = "pase-make-folds"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("groups", nargs="+", help="group names (e.g. Session1 ... Session5), in order")
    p.add_argument(
        "--feats-root", type=Path, required=True, help="folder of one feature dir per group"
    )
    p.add_argument(
        "--labels-root",
        type=Path,
        help="folder of one data dir per group holding the label file (default: --feats-root)",
    )
    p.add_argument("--labels", default="utt2emo", help="label file name (default utt2emo)")
    p.add_argument("--dev-offset", type=int, default=1, help="dev = the group N after the test")
    p.add_argument("--out-dir", type=Path, required=True, help="where fold<k>/ dirs go")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.corpus.iemocap import loso_folds, write_folds

    folds = loso_folds(a.groups, dev_offset=a.dev_offset)
    labels_root = a.labels_root or a.feats_root
    sizes = write_folds(
        folds,
        {g: a.feats_root / g for g in a.groups},
        {g: labels_root / g for g in a.groups},
        a.out_dir,
        labels=a.labels,
    )
    for f in folds:
        n = sizes[f.name]
        print(
            f"{PROG}: {a.out_dir / f.name}: test {f.test} ({n['test']}), dev {f.dev} "
            f"({n['dev']}), train {'+'.join(f.train)} ({n['train']})",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
