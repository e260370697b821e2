# shellcheck shell=bash
# Job launchers (Kaldi's interface), used as "${train_cmd} [--gpu N] log command args".
# Local runs by default; on a Slurm cluster, for example:
#   export train_cmd="utils/slurm.pl --config conf/slurm.conf --mem 16G"
#   export feat_cmd="utils/slurm.pl --config conf/slurm.conf --mem 4G"
export train_cmd="utils/run.pl"   # stage 3 (one job; --gpu N is passed through)
export feat_cmd="utils/run.pl"    # stage 4 (JOB=1:nj feature dumping)
