#!/usr/bin/env bash
# Usage: utils/subset_data_dir.sh (--utt-list <file> | --spk-list <file>) <src-data-dir> <dest-data-dir>
# (Kaldi's interface; the logic is pase.io.datadir, run through pase.bin.data_dir.)
exec "${PYTHON:-python3}" -m pase.bin.data_dir subset "$@"
