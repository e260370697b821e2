#!/usr/bin/env python3
# Usage: utils/spk2utt_to_utt2spk.pl [spk2utt] > utt2spk
# Converts "<spk> <utt1> <utt2> ..." lines (file or stdin) to "<utt> <spk>" lines, in input
# order. Python, stdlib only, like Kaldi's Perl script in interface.
import sys

src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
for n, line in enumerate(src, 1):
    fields = line.split()
    if not fields:
        continue
    if len(fields) < 2:
        sys.exit(f"spk2utt_to_utt2spk.pl: line {n}: speaker {fields[0]!r} has no utterances")
    sys.stdout.writelines(f"{utt} {fields[0]}\n" for utt in fields[1:])
