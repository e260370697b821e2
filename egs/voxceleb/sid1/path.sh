# shellcheck shell=bash
# Environment of the recipe: the project's console scripts (pase-*) must be on PATH
# (tools/install.sh, or pip install -e '.[all]'); tools/venv is used when present.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$root/tools/venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "$root/tools/venv/bin/activate"
fi
export PYTHONUNBUFFERED=1
export LC_ALL=C
