#!/usr/bin/env bash
# Source this file for launcher_word: print a word that a Kaldi launcher (utils/run.pl,
# utils/slurm.pl) turns back into exactly "$1". The launchers pass words without whitespace
# to `bash -c` as they are (so that '\|' can build a pipe) and quote words with whitespace;
# a path like 'x$(cmd)' would therefore run cmd unless it is quoted here first.
#   args=(); for a in "$@"; do args+=("$(launcher_word "$a")"); done
#   ${train_cmd} log/train.log pase-train "${args[@]}"
launcher_word() {
  if [[ -n $1 && $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]] || [[ $1 =~ [[:space:]] ]]; then
    printf '%s' "$1"  # plain, or quoted by the launcher itself
  else
    printf '%q' "$1"  # shell characters without whitespace: quoted for bash here
  fi
}
