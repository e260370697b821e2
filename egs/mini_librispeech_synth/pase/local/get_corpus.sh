#!/usr/bin/env bash
# Stage -1 of egs/mini_librispeech_synth/pase: synthesise the LibriSpeech-layout corpus
# (pase-synth-librispeech: 16 eSpeak NG voices in train-clean-5 / dev-clean-2 / test-clean-2,
# noises, impulse responses, filters, distortions.cfg) into <dir>. Deterministic; a rerun with
# the same settings does nothing.
# Usage: local/get_corpus.sh <dir> <subset> [<subset> ...]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "Usage: $0 <dir> <subset> [<subset> ...]" >&2
  exit 1
fi
dir=$1
shift
pase-synth-librispeech "$dir"
for subset in "$@"; do
  if [ ! -d "$dir/LibriSpeech/$subset" ]; then
    echo "$0: the synthetic corpus has no subset $subset (it has:" \
      "$(cd "$dir/LibriSpeech" && echo */))" >&2
    exit 1
  fi
done
