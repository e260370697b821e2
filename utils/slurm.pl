#!/usr/bin/env python3
# Kaldi's slurm.pl interface: one Slurm array job via sbatch, waits for every task
# (Python; see utils/kaldi_queue.py):
#   utils/slurm.pl [--config conf/slurm.conf] [--mem 4G] [--gpu 1] [--num-threads N] \
#       [--max-jobs-run K] [--time 4:00:00] JOB=1:N exp/log/task.JOB.log command args...
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kaldi_queue import main

sys.exit(main(backend="slurm"))
