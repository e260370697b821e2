#!/usr/bin/env bash
# The data of the PASE+ distortions and the config pointing at it, <out-dir>/distortions.json
# (run.sh, before the first data stage of a run that trains; --distortions simulated|openslr).
# Filters (band-drop, 16->8 kHz low-pass) are designed and the overlapping speech taken from
# <train-dir> by pase-prepare-distortions; the impulse responses and noises are
#   simulated  simulated ones (nothing to download);
#   openslr    OpenSLR 28 RIRS_NOISES (simulated_rirs, pointsource_noises; 1.3 GB) and, with
#              --musan true, MUSAN's noises (OpenSLR 17, 11 GB), downloaded into <download-dir>
#              (resumable: an interrupted download continues; size and MD5 checked, then
#              unpacked; marker <download-dir>/<folder>/.complete). Needs the internet; without
#              it, fails within seconds with a message. OPENSLR_URL replaces
#              https://www.openslr.org/resources (e.g. a mirror; RIRS_NOISES_MD5 and MUSAN_MD5
#              the published MD5s).
# A rerun with the same settings does nothing.
# Usage: local/prepare_distortions.sh [--musan false] [--seed 0] \
#          <simulated|openslr> <download-dir> <train-dir> <out-dir>
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail
musan=false   # openslr: MUSAN's noises too
seed=0        # filters, simulated files and the overlap subset
help_message="Usage: $0 [--musan true|false] [--seed N] <simulated|openslr> <download-dir> <train-dir> <out-dir>"
. utils/parse_options.sh
if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
mode=$1 download_dir=$2 train_dir=$3 out_dir=$4
base_url=${OPENSLR_URL:-https://www.openslr.org/resources}
# the archives' MD5s, as openslr.org publishes them
rirs_md5=${RIRS_NOISES_MD5:-e6f48e257286e05de56413b4779d8ffb}
musan_md5=${MUSAN_MD5:-0c472d4fc0c5141eca47ad1ffeb2a7df}

if [ ! -f "$train_dir/wav.scp" ]; then
  echo "$0: $train_dir/wav.scp: no such file (the overlapping speech; run stage 0 first)" >&2
  exit 1
fi

# fetch <url> <file> <md5>: download resumably into <file>.part, check its size, rename; then
# check the MD5 (of a file put there by hand too)
fetch() {
  local url=$1 out=$2 md5=$3 headers size have
  if [ ! -f "$out" ]; then
    if ! headers=$(curl -sSfIL --connect-timeout 10 --max-time 30 "$url" 2> /dev/null); then
      echo "$0: cannot reach $url (no internet?). Put that file at $out by hand and rerun," \
        "or use --distortions simulated" >&2
      exit 1
    fi
    size=$(printf '%s\n' "$headers" | tr -d '\r' \
      | awk 'tolower($1) == "content-length:" { n = $2 } END { print n }')
    have=
    [ ! -f "$out.part" ] || have=$(stat -c %s "$out.part")
    if [ -z "$size" ] || [ "${have:-0}" != "$size" ]; then
      echo "$0: downloading $url${size:+ ($size bytes)}${have:+, resuming after $have}"
      curl -fL --retry 3 --connect-timeout 10 -C - -o "$out.part" "$url"
    fi
    have=$(stat -c %s "$out.part")
    if [ -n "$size" ] && [ "$have" != "$size" ]; then
      echo "$0: $out.part has $have bytes, the server says $size; rerun to continue" >&2
      exit 1
    fi
    mv "$out.part" "$out"
  fi
  if [ "$(md5sum < "$out" | cut -d' ' -f1)" != "$md5" ]; then
    echo "$0: $out: MD5 is not $md5 (corrupt or wrong file); remove it and rerun" >&2
    exit 1
  fi
}

args=(--train-dir "$train_dir" --seed "$seed")
case $mode in
  simulated) ;;
  openslr)
    mkdir -p "$download_dir"
    if [ ! -f "$download_dir/RIRS_NOISES/.complete" ]; then
      fetch "$base_url/28/rirs_noises.zip" "$download_dir/rirs_noises.zip" "$rirs_md5"
      unzip -q -o "$download_dir/rirs_noises.zip" -d "$download_dir"
      touch "$download_dir/RIRS_NOISES/.complete"
      rm -f "$download_dir/rirs_noises.zip"
    fi
    args+=(--rirs-noises "$download_dir/RIRS_NOISES")
    if [ "$musan" = true ]; then
      if [ ! -f "$download_dir/musan/.complete" ]; then
        fetch "$base_url/17/musan.tar.gz" "$download_dir/musan.tar.gz" "$musan_md5"
        tar -C "$download_dir" -xzf "$download_dir/musan.tar.gz"
        touch "$download_dir/musan/.complete"
        rm -f "$download_dir/musan.tar.gz"
      fi
      args+=(--musan "$download_dir/musan")
    fi
    ;;
  *)
    echo "$0: unknown source '$mode' (simulated or openslr)" >&2
    exit 1
    ;;
esac
pase-prepare-distortions "${args[@]}" "$out_dir" > /dev/null
