#!/usr/bin/env bash
# Kaldi-style option parsing, to be *sourced* by a script after it has declared its options:
#
#   nj=4                # declare every option with its default ...
#   use_gpu=false
#   help_message="Usage: $0 [options] <data-dir>"
#   . utils/parse_options.sh || exit 1   # ... then parse; positional args remain in "$@"
#
# Semantics (as Kaldi's):
#   --foo-bar VALUE   sets the shell variable foo_bar (dashes become underscores); the variable
#                     must already be set (declared) or the option is rejected ("--foo-bar=VALUE"
#                     is accepted too);
#   boolean options   a variable whose current value is true/false only accepts true/false;
#   --config FILE     sources FILE first (a shell file of name=value lines), so the command line
#                     overrides it; several --config options are sourced in order;
#   --help, -h        prints "$help_message" to stderr and exits 0;
#   --                ends the options; the first argument not starting with -- also does.
# Errors (undeclared option, missing value, bad boolean, unreadable config) print a message
# naming the option and exit 1.
# shellcheck disable=SC2154  # help_message is set by the sourcing script

# 1) --config files first, in order, so that the command line can override them.
__po_args=("$@")
for ((__po_i = 0; __po_i < ${#__po_args[@]}; __po_i++)); do
  case "${__po_args[__po_i]}" in
    --) break ;;
    --config)
      __po_cfg=${__po_args[__po_i + 1]:-}
      if [ -z "$__po_cfg" ] || [ ! -r "$__po_cfg" ]; then
        echo "$0: cannot read config file '${__po_cfg}' given to --config" >&2
        exit 1
      fi
      # shellcheck disable=SC1090
      . "$__po_cfg"
      __po_i=$((__po_i + 1))
      ;;
    --config=*)
      __po_cfg=${__po_args[__po_i]#--config=}
      if [ ! -r "$__po_cfg" ]; then
        echo "$0: cannot read config file '${__po_cfg}' given to --config" >&2
        exit 1
      fi
      # shellcheck disable=SC1090
      . "$__po_cfg"
      ;;
  esac
done
unset __po_args __po_i __po_cfg

# 2) the options themselves.
while true; do
  [ $# -eq 0 ] && break
  case "$1" in
    --help | -h)
      if [ -n "${help_message:-}" ]; then
        printf '%s\n' "$help_message" >&2
      else
        echo "$0: no help message." >&2
      fi
      exit 0
      ;;
    --)
      shift
      break
      ;;
    --*=*)
      __po_name=${1%%=*}
      __po_value=${1#*=}
      __po_shift=1
      ;;
    --?*)
      if [ $# -lt 2 ]; then
        echo "$0: option $1 needs a value" >&2
        exit 1
      fi
      __po_name=$1
      __po_value=$2
      __po_shift=2
      ;;
    *) break ;;
  esac
  __po_var=${__po_name#--}
  __po_var=${__po_var//-/_}
  if [[ ! $__po_var =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "$0: invalid option $__po_name" >&2
    exit 1
  fi
  if [ "$__po_var" != config ]; then
    if [ -z "${!__po_var+set}" ]; then
      echo "$0: invalid option $__po_name (no variable '$__po_var' declared; see --help)" >&2
      exit 1
    fi
    __po_old=${!__po_var}
    if { [ "$__po_old" = true ] || [ "$__po_old" = false ]; } &&
      [ "$__po_value" != true ] && [ "$__po_value" != false ]; then
      echo "$0: option $__po_name expects true or false, got '$__po_value'" >&2
      exit 1
    fi
    printf -v "$__po_var" '%s' "$__po_value"
  fi
  shift "$__po_shift"
done
unset __po_name __po_value __po_shift __po_var __po_old
true # so that "$?" is 0 for the sourcing script's "|| exit 1"
