#!/usr/bin/env bash
# Usage: utils/validate_data_dir.sh [--no-text] [--no-feats] [--no-wav] [--no-spk-sort] [--non-print] <data-dir>
# (Kaldi's interface; the logic is pase.io.datadir, run through pase.bin.data_dir.)
exec "${PYTHON:-python3}" -m pase.bin.data_dir validate "$@"
