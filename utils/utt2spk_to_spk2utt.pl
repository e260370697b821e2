#!/usr/bin/env python3
# Usage: utils/utt2spk_to_spk2utt.pl [utt2spk] > spk2utt
# Converts "<utt> <spk>" lines (file or stdin) to "<spk> <utt1> <utt2> ..." lines, speakers in
# order of first appearance (Kaldi's behaviour; sorted when utt2spk is sorted and utterance ids
# are speaker-prefixed). Python, stdlib only, like Kaldi's Perl script in interface.
import sys

src = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
spk2utt: dict[str, list[str]] = {}
for n, line in enumerate(src, 1):
    fields = line.split()
    if not fields:
        continue
    if len(fields) != 2:
        sys.exit(f"utt2spk_to_spk2utt.pl: line {n}: expected '<utt> <spk>', got {line.strip()!r}")
    spk2utt.setdefault(fields[1], []).append(fields[0])
sys.stdout.writelines(f"{spk} {' '.join(utts)}\n" for spk, utts in spk2utt.items())
