"""``pase-asr-align``: frame alignments for the hybrid acoustic model (an alignment dir).

Examples::

    # monophone HMM-GMM flat start on MFCC (Kaldi train_mono.sh); alignments of data/train
    pase-asr-align --lang data/lang --data data/train --feats dump/mfcc/train/feats.scp \\
        --config conf/mono.yaml exp/mono
    # align another set with that model (Kaldi align_si.sh)
    pase-asr-align --model exp/mono --data data/dev --feats dump/mfcc/dev/feats.scp exp/mono/ali_dev
    # from the .PHN phone boundaries (data/<set>/phones.ctm), no acoustic model
    pase-asr-align --source phn --lang data/lang --data data/train exp/phn_ali
    # from a Kaldi alignment dir (final.mdl, ali.*.gz, phones.txt)
    pase-asr-align --source kaldi --lang data/lang --kaldi-ali-dir kaldi/exp/tri3_ali exp/kaldi_ali

The output is an alignment dir (:mod:`pase.asr.expdir`): Kaldi ``final.mdl`` + ``ali.1.gz``
plus ``hmm.npz``/``gmm.npz`` and the lang files.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pase.bin.asr_common import read_utt2spk, run

log = logging.getLogger("pase-asr-align")


def _gmm_feats(a: argparse.Namespace, utt2spk: dict[str, str]):
    from pase.asr.feats import load_features

    if not a.feats:
        raise ValueError("--feats is required for --source gmm")
    return load_features(a.feats, utt2spk, norm=a.norm, deltas=a.deltas)


def _main(a: argparse.Namespace) -> int:
    import numpy as np

    from pase.asr import alignments, mono
    from pase.asr.expdir import load_ali_dir, save_ali_dir
    from pase.asr.hmm import HmmModel
    from pase.asr.lang import Lang
    from pase.asr.scoring import read_text
    from pase.io.datadir import read_kv

    data = Path(a.data) if a.data else None
    utt2spk = read_utt2spk(data) if data else {}
    if a.model:
        if a.source != "gmm":
            raise ValueError("--model (align with a trained model) only goes with --source gmm")
        hmm, _ali, params = load_ali_dir(a.model)
        if params is None:
            raise ValueError(f"{a.model}: has no GMM (gmm.npz) to align with")
        feats = _gmm_feats(a, utt2spk)
        texts = read_text(data / "text")
        cfg = mono.MonoConfig.from_dict(_cfg(a.config))
        ali, failed = mono.align(hmm, params, feats, texts, cfg)
        if not ali:
            raise ValueError(f"{data}: no utterance could be aligned")
        if failed:
            log.warning("%d utterance(s) failed to align: %s", len(failed), " ".join(failed[:20]))
        save_ali_dir(
            a.out,
            hmm,
            ali,
            params,
            {"source": "gmm-align", "model": str(a.model), "failed": failed},
        )
        print(f"{a.out}: aligned {len(ali)} utterances ({len(failed)} failed)")
        return 0
    if not a.lang:
        raise ValueError("--lang is required (or --model to align with a trained model)")
    lang = Lang.load(a.lang)
    if a.source == "gmm":
        feats = _gmm_feats(a, utt2spk)
        texts = read_text(data / "text")
        cfg = mono.MonoConfig.from_dict(_cfg(a.config))
        res = mono.train_mono(feats, texts, lang, cfg)
        save_ali_dir(
            a.out, res.hmm, res.alignments, res.gmm, {"source": "gmm", "history": res.history}
        )
        h = res.history
        print(
            f"{a.out}: {len(res.alignments)} utterances, {res.gmm.num_gauss} Gaussians, "
            f"log-likelihood/frame {h[0]['like_per_frame']:.2f} -> {h[-1]['like_per_frame']:.2f}"
        )
        return 0
    hmm = HmmModel(lang)
    if a.source == "phn":
        if data is None:
            raise ValueError("--data is required for --source phn")
        ctm = alignments.read_ctm(data / "phones.ctm")
        nsamp = read_kv(data / "utt2num_samples")
        frames = {u: alignments.kaldi_num_frames(int(n)) for u, n in nsamp.items()}
        ali, skipped = alignments.phn_alignments(ctm, frames, hmm)
        info = {"source": "phn", "skipped": skipped}
    else:
        if not a.kaldi_ali_dir:
            raise ValueError("--kaldi-ali-dir is required for --source kaldi")
        ali = alignments.kaldi_alignments(a.kaldi_ali_dir, hmm, a.kaldi_phones)
        info = {"source": "kaldi", "kaldi_ali_dir": str(a.kaldi_ali_dir)}
    if not ali:
        raise ValueError("no alignments produced")
    hmm.update_transitions(hmm.transition_stats(ali))  # transition probs from the alignments
    save_ali_dir(a.out, hmm, ali, None, info)
    n = int(sum(np.asarray(x).shape[0] for x in ali.values()))
    print(f"{a.out}: {len(ali)} utterances, {n} frames ({a.source})")
    return 0


def _cfg(path: str | None) -> dict:
    if not path:
        return {}
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: cannot read the monophone config ({e})") from e
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping")
    return raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="pase-asr-align",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    p.add_argument("out", help="output alignment dir")
    p.add_argument("--source", choices=("gmm", "phn", "kaldi"), default="gmm")
    p.add_argument("--lang", help="lang dir (pase-asr-lang)")
    p.add_argument("--model", help="alignment dir with a trained GMM: align --data with it")
    p.add_argument("--data", help="Kaldi data dir (text, utt2spk, phones.ctm, utt2num_samples)")
    p.add_argument("--feats", help="feats.scp for the GMM (MFCC; cmvn.scp beside it is used)")
    p.add_argument("--norm", default="cmvn", help="speaker normalisation of --feats")
    p.add_argument("--deltas", type=int, default=2, help="delta order added to --feats")
    p.add_argument("--config", help="YAML of monophone training options (conf/mono.yaml)")
    p.add_argument("--kaldi-ali-dir", help="Kaldi alignment dir (final.mdl, ali.*.gz)")
    p.add_argument("--kaldi-phones", help="phones.txt of the Kaldi lang (default: in the dir)")
    p.add_argument("--verbose", action="store_true")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
