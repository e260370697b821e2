"""``pase-asr-decode``: decode a data set with a hybrid model (one job of ``JOB=1:nj``).

Example (four parallel jobs through Kaldi's run.pl interface)::

    utils/run.pl JOB=1:4 exp/mlp/decode_test/log/decode.JOB.log \\
        pase-asr-decode --model exp/mlp --graph exp/mono/graph --config conf/decoder.cfg \\
            --feats dump/mfcc/test/feats.scp --data-dir data/test --nj 4 --job JOB \\
            exp/mlp/decode_test

Each job takes whole speakers (as ``split_data.sh``), computes MLP log-likelihoods and decodes
them with Kaldi's decoder code from the k2-fsa wheels: lattices (beam, lattice beam, acoustic
scale of the config) and a best path per LM weight / insertion penalty. ``--kaldi auto`` uses
the real ``latgen-faster-mapped`` when ``KALDI_ROOT`` has a Kaldi build.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-decode"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="decode dir")
    p.add_argument("--model", required=True, help="model dir of pase-asr-train")
    p.add_argument("--graph", required=True, help="graph dir of pase-asr-mkgraph")
    p.add_argument("--feats", required=True, help="feats.scp of the set")
    cli.add(p, "--data-dir", required=True, help="data dir of the set (utt2spk)")
    p.add_argument("--config", help="decoder config (original decoder.cfg JSON or YAML)")
    cli.add_nj(p, default=1, help="number of jobs the set is split into (default 1)")
    p.add_argument("--job", type=int, default=1, help="this job's number, 1..nj (default 1)")
    p.add_argument(
        "--kaldi",
        choices=("auto", "always", "never"),
        default="never",
        help="use Kaldi's latgen-faster-mapped (KALDI_ROOT)",
    )
    cli.add_device(p, help="for the MLP: cpu, cuda or auto")
    cli.add_num_threads(p, default=0, help="torch CPU threads (0: default)")
    cli.add_verbose(p)
    return p


def _main(a: argparse.Namespace) -> None:
    import torch

    from pase.asr import steps

    if a.num_threads:
        torch.set_num_threads(a.num_threads)
    print(
        steps.decode(
            a.out,
            model=a.model,
            graph=a.graph,
            feats=a.feats,
            data=a.data_dir,
            config=a.config,
            nj=a.nj,
            job=a.job,
            kaldi=a.kaldi,
            device=a.device,
        )
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
