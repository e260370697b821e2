"""``pase-asr-decode``: decode a data set with a hybrid model (one job of ``JOB=1:nj``).

Example (four parallel jobs through Kaldi's run.pl interface)::

    utils/run.pl JOB=1:4 exp/mlp/decode_test/log/decode.JOB.log \\
        pase-asr-decode --model exp/mlp --graph exp/mono/graph --config conf/decoder.cfg \\
            --feats dump/mfcc/test/feats.scp --data data/test --nj 4 --job JOB exp/mlp/decode_test

Each job takes whole speakers (as ``split_data.sh``), computes MLP log-likelihoods and decodes
them with Kaldi's decoder code from the k2-fsa wheels: lattices (beam, lattice beam, acoustic
scale of the config) and a best path per LM weight / insertion penalty. ``--kaldi auto`` uses
the real ``latgen-faster-mapped`` when ``KALDI_ROOT`` has a Kaldi build.
"""

from __future__ import annotations

import argparse
import logging

from pase.bin.asr_common import read_utt2spk, run, split_by_speaker

log = logging.getLogger("pase-asr-decode")


def _main(a: argparse.Namespace) -> int:
    import torch

    from pase.asr import kaldi_bin
    from pase.asr.decode import DecodeConfig
    from pase.asr.feats import load_features
    from pase.asr.recognize import decode_job, load_model_dir
    from pase.extract import resolve_device

    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = DecodeConfig.from_file(a.config) if a.config else DecodeConfig()
    utt2spk = read_utt2spk(a.data)
    utts = split_by_speaker(utt2spk, a.nj, a.job)
    device = str(resolve_device(a.device))
    _, _, _, info = load_model_dir(a.model, "cpu")
    path = None
    if a.kaldi != "never":
        path = kaldi_bin.kaldi_path()
        if path is None and a.kaldi == "always":
            raise ValueError("--kaldi always: Kaldi binaries not found (set KALDI_ROOT)")
    if not utts:
        log.warning("job %d of %d has no utterances", a.job, a.nj)
        feats = {}
    else:
        feats = load_features(a.feats, utt2spk, norm=info["norm"], deltas=info["deltas"], utts=utts)
        missing = sorted(utts - set(feats))
        if missing:
            raise ValueError(
                f"{a.feats}: no features for {len(missing)} utterance(s): {missing[:10]}"
            )
    stats = decode_job(a.model, a.graph, feats, cfg, a.out, a.job, device=device, kaldi_path=path)
    rtf = (stats["am_seconds"] + stats["decode_seconds"]) / max(stats["audio_seconds"], 1e-9)
    print(
        f"job {a.job}/{a.nj}: {stats['utterances']} utterances, {stats['frames']} frames, "
        f"RTF {rtf:.3f} ({'Kaldi latgen-faster-mapped' if path else 'k2-fsa wheels'})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="pase-asr-decode",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    p.add_argument("out", help="decode dir")
    p.add_argument("--model", required=True, help="model dir of pase-asr-train")
    p.add_argument("--graph", required=True, help="graph dir of pase-asr-mkgraph")
    p.add_argument("--feats", required=True, help="feats.scp of the set")
    p.add_argument("--data", required=True, help="data dir of the set (utt2spk)")
    p.add_argument("--config", help="decoder config (original decoder.cfg JSON or YAML)")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument(
        "--kaldi",
        choices=("auto", "always", "never"),
        default="never",
        help="use Kaldi's latgen-faster-mapped (KALDI_ROOT)",
    )
    p.add_argument("--device", default="cpu", help="for the MLP: cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--verbose", action="store_true")
    return run(p.prog, _main, p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
