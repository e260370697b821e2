#!/usr/bin/env bash
# Usage: utils/combine_data.sh <dest-data-dir> <src-data-dir1> [<src-data-dir2> ...]
# (Kaldi's interface; the logic is pase.io.datadir, run through pase.bin.data_dir.)
exec "${PYTHON:-python3}" -m pase.bin.data_dir combine "$@"
