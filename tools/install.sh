#!/usr/bin/env bash
# Set up everything the recipes need, idempotently (rerun at will):
#   1. Debian packages (sox, espeak-ng, flite, shellcheck, jemalloc) when running as root with apt;
#   2. a Python virtual environment in tools/venv (override with PASE_VENV=...);
#   3. PyTorch (2.13.0 by default; set TORCH_SPEC, e.g. "torch==2.5.1", to choose, and
#      TORCH_INDEX_URL, e.g. https://download.pytorch.org/whl/cpu, for another wheel index);
#   4. this project in editable mode with extras (PASE_EXTRAS, default "all,test").
# Usage: tools/install.sh [--no-apt] [--no-venv]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${PASE_VENV:-$root/tools/venv}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
extras=${PASE_EXTRAS:-all,test}
python=${PYTHON:-python3}
use_apt=true
use_venv=true

for arg in "$@"; do
  case $arg in
    --no-apt) use_apt=false ;;
    --no-venv) use_venv=false ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "$0: unknown option $arg" >&2; exit 1 ;;
  esac
done

log() { echo "[install] $*"; }

if $use_apt; then
  pkgs=(sox libsox-fmt-all flac espeak-ng libespeak-ng1 flite shellcheck libjemalloc2)
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present: ${pkgs[*]}"
  elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "WARNING: please install these system packages: ${missing[*]}" >&2
  fi
fi

if $use_venv; then
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtual environment $venv"
    "$python" -m venv "$venv"
  fi
  # shellcheck disable=SC1091
  . "$venv/bin/activate"
  python=python
fi

if "$python" -c "import torch" 2>/dev/null; then
  log "torch present: $("$python" -c 'import torch; print(torch.__version__)')"
else
  # torch first, pinned: an unpinned dependency resolution would pull a multi-GB CUDA build.
  log "pip install $torch_spec ${TORCH_INDEX_URL:+(from $TORCH_INDEX_URL)}"
  "$python" -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$torch_spec"
  "$python" -m pip install -q numpy
fi
log "pip install -e .[$extras]"
"$python" -m pip install -q -e "${root}[$extras]"
log "done. Activate with: . $venv/bin/activate"
