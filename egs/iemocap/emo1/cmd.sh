# shellcheck shell=bash
# Job launchers (Kaldi's interface), used as "${probe_cmd} [JOB=1:N] log command args".
# Local runs by default; on a Slurm cluster, for example:
#   export feat_cmd="utils/slurm.pl --config conf/slurm.conf --mem 4G"
#   export probe_cmd="utils/slurm.pl --config conf/slurm.conf --mem 4G"
export feat_cmd="utils/run.pl"    # stage 1 (JOB=1:nj feature dumping of each session)
export probe_cmd="utils/run.pl"   # stage 2 (JOB=1:<folds> probes, one per fold)
