"""``pase-asr-align``: frame alignments for the hybrid acoustic model (an alignment dir).

Examples::

    # monophone HMM-GMM flat start on MFCC (Kaldi train_mono.sh); alignments of data/train
    pase-asr-align --lang data/lang --data-dir data/train --feats dump/mfcc/train/feats.scp \\
        --config conf/mono.yaml exp/mono
    # align another set with that model (Kaldi align_si.sh)
    pase-asr-align --model exp/mono --data-dir data/dev --feats dump/mfcc/dev/feats.scp \\
        exp/mono/ali_dev
    # from the .PHN phone boundaries (data/<set>/phones.ctm), no acoustic model
    pase-asr-align --source phn --lang data/lang --data-dir data/train exp/phn_ali
    # from a Kaldi alignment dir (final.mdl, ali.*.gz, phones.txt)
    pase-asr-align --source kaldi --lang data/lang --kaldi-ali-dir kaldi/exp/tri3_ali exp/kaldi_ali

The output is an alignment dir (:mod:`pase.asr.expdir`): Kaldi ``final.mdl`` + ``ali.1.gz``
plus ``hmm.npz``/``gmm.npz`` and the lang files.
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-align"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="output alignment dir")
    p.add_argument("--source", choices=("gmm", "phn", "kaldi"), default="gmm")
    p.add_argument("--lang", help="lang dir (pase-asr-lang)")
    p.add_argument("--model", help="alignment dir with a trained GMM: align --data-dir with it")
    cli.add(p, "--data-dir", help="Kaldi data dir (text, utt2spk, phones.ctm, utt2num_samples)")
    p.add_argument("--feats", help="feats.scp for the GMM (MFCC; cmvn.scp beside it is used)")
    p.add_argument("--norm", default="cmvn", help="speaker normalisation of --feats")
    p.add_argument("--deltas", type=int, default=2, help="delta order added to --feats")
    p.add_argument("--config", help="YAML of monophone training options (conf/mono.yaml)")
    p.add_argument("--kaldi-ali-dir", help="Kaldi alignment dir (final.mdl, ali.*.gz)")
    p.add_argument("--kaldi-phones", help="phones.txt of the Kaldi lang (default: in the dir)")
    cli.add_verbose(p)
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr import steps

    print(
        steps.align(
            a.out,
            source=a.source,
            lang=a.lang,
            model=a.model,
            data=a.data_dir,
            feats=a.feats,
            norm=a.norm,
            deltas=a.deltas,
            config=a.config,
            kaldi_ali_dir=a.kaldi_ali_dir,
            kaldi_phones=a.kaldi_phones,
        )
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
