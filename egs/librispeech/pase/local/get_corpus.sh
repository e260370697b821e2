#!/usr/bin/env bash
# Stage -1 of egs/librispeech/pase: download and unpack LibriSpeech subsets from openslr.org
# (resource 12) into <dir>/LibriSpeech/<subset>. Needs the internet; without it, fails within
# seconds with a message. Subsets already unpacked (marker <dir>/LibriSpeech/<subset>/.complete)
# are skipped.
# Usage: local/get_corpus.sh <download-dir> <subset> [<subset> ...]
set -euo pipefail
base_url=${LIBRISPEECH_URL:-https://www.openslr.org/resources/12}
if [ $# -lt 2 ]; then
  echo "Usage: $0 <download-dir> <subset> [<subset> ...]" >&2
  exit 1
fi
dir=$1
shift
mkdir -p "$dir"
for subset in "$@"; do
  if [ -f "$dir/LibriSpeech/$subset/.complete" ]; then
    echo "$0: $dir/LibriSpeech/$subset already there"
    continue
  fi
  url=$base_url/$subset.tar.gz
  if ! curl -sSfI --connect-timeout 10 --max-time 20 "$url" > /dev/null; then
    echo "$0: cannot reach $url (no internet?). Download LibriSpeech by hand and run" \
      "./run.sh --stage 0 --librispeech <folder holding the subset folders>" >&2
    exit 1
  fi
  echo "$0: downloading $url"
  curl -fL --retry 3 --connect-timeout 10 -o "$dir/$subset.tar.gz.part" "$url"
  mv "$dir/$subset.tar.gz.part" "$dir/$subset.tar.gz"
  tar -C "$dir" -xzf "$dir/$subset.tar.gz"
  touch "$dir/LibriSpeech/$subset/.complete"
  rm -f "$dir/$subset.tar.gz"
done
