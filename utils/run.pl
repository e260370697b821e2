#!/usr/bin/env python3
# Kaldi's run.pl interface, run locally in parallel (Python; see utils/kaldi_queue.py):
#   utils/run.pl [--max-jobs-run K] [--mem M] [--gpu N] [--num-threads N] \
#       JOB=1:N exp/log/task.JOB.log command args-with-JOB...
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from kaldi_queue import main

sys.exit(main(backend="run"))
