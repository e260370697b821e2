"""Kaldi data-dir tools behind ``utils/*.sh`` (``python -m pase.bin.data_dir <tool> ...``).

Tools (Kaldi's names and arguments)::

    validate [--no-text] [--no-feats] [--no-wav] [--no-spk-sort] [--non-print] <data>
    fix <data>
    split [--per-utt] <data> <num-parts>
    combine <dest> <src1> [<src2> ...]
    subset (--utt-list FILE | --spk-list FILE) <src> <dest>
"""

from __future__ import annotations

import argparse
import sys

from pase.io.datadir import (
    DataDirError,
    check_data_dir,
    combine_data_dirs,
    fix_data_dir,
    split_data_dir,
    subset_data_dir,
)


def _ids(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [ln.split()[0] for ln in f if ln.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="data_dir", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="tool", required=True)
    v = sub.add_parser("validate", prog="validate_data_dir.sh", help="check a data dir")
    for flag, what in (
        ("--no-text", "text is optional"),
        ("--no-feats", "do not check feats.scp"),
        ("--no-wav", "wav.scp is optional (feats.scp required)"),
        ("--no-spk-sort", "utterance order need not be speaker order"),
        ("--non-print", "allow non-printable characters in text"),
    ):
        v.add_argument(flag, action="store_true", help=what)
    v.add_argument("data")
    f = sub.add_parser(
        "fix",
        prog="fix_data_dir.sh",
        help="keep utterances present in all files; backup in <data>/.backup",
    )
    f.add_argument("data")
    s = sub.add_parser("split", prog="split_data.sh", help="split into <data>/split<N>[utt]/<1..N>")
    s.add_argument("--per-utt", action="store_true", help="split by utterance, not speaker")
    s.add_argument("data")
    s.add_argument("num_parts", type=int)
    c = sub.add_parser("combine", prog="combine_data.sh", help="merge data dirs")
    c.add_argument("dest")
    c.add_argument("sources", nargs="+")
    b = sub.add_parser("subset", prog="subset_data_dir.sh", help="copy some utterances")
    g = b.add_mutually_exclusive_group(required=True)
    g.add_argument("--utt-list", help="file whose first column lists utterance ids")
    g.add_argument("--spk-list", help="file whose first column lists speaker ids")
    b.add_argument("src")
    b.add_argument("dest")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.tool == "validate":
            rep = check_data_dir(
                args.data,
                no_text=args.no_text,
                no_feats=args.no_feats,
                no_wav=args.no_wav,
                no_spk_sort=args.no_spk_sort,
                non_print=args.non_print,
            )
            print(f"validate_data_dir: {rep}", file=sys.stderr)
            return 0 if rep.ok else 1
        if args.tool == "fix":
            fix_data_dir(args.data)
        elif args.tool == "split":
            parts = split_data_dir(args.data, args.num_parts, per_utt=args.per_utt)
            print(
                f"split_data: {args.data} -> {parts[0].parent}/{{1..{len(parts)}}}", file=sys.stderr
            )
        elif args.tool == "combine":
            n = combine_data_dirs(args.dest, args.sources)
            print(
                f"combine_data: {n} utterances from {len(args.sources)} dirs in {args.dest}",
                file=sys.stderr,
            )
            fix_data_dir(args.dest)
        elif args.tool == "subset":
            if args.utt_list:
                n = subset_data_dir(args.src, args.dest, utterances=_ids(args.utt_list))
            else:
                n = subset_data_dir(args.src, args.dest, speakers=_ids(args.spk_list))
            print(f"subset_data_dir: {n} utterances in {args.dest}", file=sys.stderr)
    except (DataDirError, OSError, ValueError) as e:
        print(f"{args.tool}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
