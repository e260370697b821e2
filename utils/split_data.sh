#!/usr/bin/env bash
# Usage: utils/split_data.sh [--per-utt] <data-dir> <num-parts>   (-> <data-dir>/split<N>[utt]/<1..N>)
# (Kaldi's interface; the logic is pase.io.datadir, run through pase.bin.data_dir.)
exec "${PYTHON:-python3}" -m pase.bin.data_dir split "$@"
