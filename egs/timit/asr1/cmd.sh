# shellcheck shell=bash
# Job launchers (Kaldi's interface). Local parallel runs by default; for a Slurm cluster use
#   train_cmd="utils/slurm.pl --mem 8G"  decode_cmd="utils/slurm.pl --mem 4G"
export train_cmd="utils/run.pl"
export decode_cmd="utils/run.pl"
export feat_cmd="utils/run.pl"
