#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh <data-dir>   (keeps utterances present in all files; backup in <data-dir>/.backup)
# (Kaldi's interface; the logic is pase.io.datadir, run through pase.bin.data_dir.)
exec "${PYTHON:-python3}" -m pase.bin.data_dir fix "$@"
