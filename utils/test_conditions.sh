#!/usr/bin/env bash
# Source this file for parse_test_conditions, the --test_condition / --snr options of the
# recipes that score contaminated test sets (egs/timit/asr1, egs/voxceleb/sid1):
#   parse_test_conditions "$test_condition" "$snr"
# sets conds (the contaminated conditions among noise, reverb, noise+reverb, in the order
# given; clean is the original set and is not in it), snr_low and snr_high (dB). An unknown
# condition or an SNR that is not two words is an error naming the option (exit 1).
# shellcheck disable=SC2034  # conds, snr_low and snr_high are for the sourcing script
parse_test_conditions() {
  local c snr_rest
  conds=()
  for c in $1; do
    case $c in
      clean) ;;
      noise|reverb|noise+reverb) conds+=("$c") ;;
      *) echo "$0: --test_condition: unknown condition '$c' (clean noise reverb noise+reverb)" >&2
         exit 1 ;;
    esac
  done
  read -r snr_low snr_high snr_rest <<< "$2"
  if [ -z "${snr_high:-}" ] || [ -n "${snr_rest:-}" ]; then
    echo "$0: --snr takes two numbers, LOW and HIGH (dB), e.g. --snr \"0 20\"" >&2
    exit 1
  fi
}
