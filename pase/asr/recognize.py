"""Recognise a set of utterances with a trained hybrid model (one decoding job).

``decode_job`` computes MLP log-likelihoods (log-posterior - log-prior) per utterance and
decodes them with the k2-fsa wheels (lattice + LM-weight sweep) or, when asked and available,
with Kaldi's ``latgen-faster-mapped``. Hypotheses are written per sweep point as
``<decode_dir>/hyp/<lmwt>_<wip>.<job>.txt`` (Kaldi ``text`` of phone symbols) with timing
statistics in ``<decode_dir>/stats.<job>.json``; :func:`collect` merges the jobs.

:func:`framewise_phones` is the no-HMM baseline: the arg-max pdf of every frame, mapped to its
phone, repeats merged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from pase.asr.decode import DecodeConfig, decode_lattice, sweep
from pase.asr.graph import read_fst
from pase.asr.lang import read_symbol_table
from pase.io.atomic import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)


class RecognizeError(ValueError):
    """Inconsistent model / graph / features (names the file)."""


def load_model_dir(model_dir: str | os.PathLike, device: str = "cpu"):
    """``(mlp, mlp_cfg, log_prior, input_info)`` of a dir written by ``pase-asr-train``."""
    from pase.asr.mlp import load_model

    d = Path(model_dir)
    try:
        info = json.loads((d / "input.json").read_text(encoding="utf-8"))
        log_prior = np.load(d / "log_prior.npy", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RecognizeError(f"{d}: not a model dir of pase-asr-train ({e})") from e
    model, cfg = load_model(d / "final.pt", device)
    if log_prior.shape[0] != model.num_pdfs:
        raise RecognizeError(
            f"{d}: log_prior.npy has {log_prior.shape[0]} pdfs, the MLP {model.num_pdfs}"
        )
    return model, cfg, log_prior, info


def _words_to_phones(words_txt: Path) -> dict[int, str]:
    return {i: s for s, i in read_symbol_table(words_txt).items()}


def write_hyps(
    decode_dir: Path, job: int, hyps: dict[tuple[int, float], dict[str, list[str]]]
) -> None:
    """``hyp/<lmwt>_<wip>.<job>.txt`` for every sweep point."""
    hdir = decode_dir / "hyp"
    hdir.mkdir(parents=True, exist_ok=True)
    for (lmwt, wip), table in hyps.items():
        text = "".join(f"{u} {' '.join(table[u])}".rstrip() + "\n" for u in sorted(table))
        write_text_atomic(hdir / f"{lmwt}_{wip:g}.{job}.txt", text)


def collect(
    decode_dir: str | os.PathLike,
) -> tuple[dict[tuple[int, float], dict[str, list[str]]], dict]:
    """Merge the jobs' hypotheses and statistics of a decode dir."""
    d = Path(decode_dir)
    hyps: dict[tuple[int, float], dict[str, list[str]]] = {}
    for f in sorted((d / "hyp").glob("*.txt")):
        key, _job, _ = f.name.rsplit(".", 2)
        lmwt, wip = key.split("_")
        table = hyps.setdefault((int(lmwt), float(wip)), {})
        for line in f.read_text(encoding="utf-8").splitlines():
            cols = line.split()
            if cols:
                if cols[0] in table:
                    raise RecognizeError(f"{f}: utterance {cols[0]!r} decoded by two jobs")
                table[cols[0]] = cols[1:]
    if not hyps:
        raise RecognizeError(f"{d}: no hypotheses (hyp/*.txt); did decoding run?")
    stats = {
        "frames": 0,
        "utterances": 0,
        "audio_seconds": 0.0,
        "am_seconds": 0.0,
        "decode_seconds": 0.0,
    }
    for f in sorted(d.glob("stats.*.json")):
        s = json.loads(f.read_text(encoding="utf-8"))
        for k in stats:
            stats[k] += s.get(k, 0)
    return hyps, stats


def decode_job(
    model_dir: str | os.PathLike,
    graph_dir: str | os.PathLike,
    feats: dict[str, np.ndarray],
    cfg: DecodeConfig,
    decode_dir: str | os.PathLike,
    job: int = 1,
    *,
    device: str = "cpu",
    kaldi_path: str | None = None,
) -> dict:
    """Decode ``feats`` (utt -> (T, D), already normalised); returns the job's statistics.

    With ``kaldi_path`` (see :func:`pase.asr.kaldi_bin.kaldi_path`) the lattices come from
    Kaldi's ``latgen-faster-mapped`` (``lat.<job>.gz``) instead of the wheels.
    """
    from pase.asr.hmm import HmmModel
    from pase.asr.lang import Lang
    from pase.asr.mlp import log_likelihoods

    md, gd, dd = Path(model_dir), Path(graph_dir), Path(decode_dir)
    dd.mkdir(parents=True, exist_ok=True)
    model, mcfg, log_prior, info = load_model_dir(md, device)
    if info.get("pdf_source") != "pase" and kaldi_path is None:
        raise RecognizeError(
            f"{md}: trained on Kaldi's own pdfs; decoding needs Kaldi's binaries (KALDI_ROOT) "
            f"and Kaldi's graph"
        )
    num_pdfs = int((gd / "num_pdfs").read_text().strip()) if (gd / "num_pdfs").is_file() else None
    if num_pdfs is not None and num_pdfs != model.num_pdfs:
        raise RecognizeError(f"{gd} has {num_pdfs} pdfs but the model {model.num_pdfs}")
    id2word = _words_to_phones(gd / "words.txt")
    stats = {
        "utterances": len(feats),
        "frames": 0,
        "audio_seconds": 0.0,
        "am_seconds": 0.0,
        "decode_seconds": 0.0,
    }
    loglikes: dict[str, np.ndarray] = {}
    t0 = time.time()
    for utt in sorted(feats):
        x = feats[utt]
        if x.shape[1] * mcfg.context != model.in_dim:
            raise RecognizeError(
                f"utterance {utt!r}: features have {x.shape[1]} dims, the model expects "
                f"{model.in_dim // mcfg.context}"
            )
        loglikes[utt] = log_likelihoods(model, x, log_prior, mcfg, device)
        stats["frames"] += x.shape[0]
    stats["audio_seconds"] = stats["frames"] / 100.0
    stats["am_seconds"] = time.time() - t0
    t0 = time.time()
    keys = [(lmwt, wip) for wip in cfg.word_ins_penalty for lmwt in cfg.lmwts]
    hyps: dict[tuple[int, float], dict[str, list[str]]] = {k: {} for k in keys}
    if kaldi_path is None:
        lang = Lang.load(md)
        hmm = HmmModel.load(lang, md / "hmm.npz")
        hclg = read_fst(gd / "HCLG.fst")
        for utt, ll in loglikes.items():
            lat = decode_lattice(hclg, ll, hmm.tid2pdf, cfg)
            if lat is None:
                log.warning("utterance %s: no surviving path, empty hypothesis", utt)
                for k in keys:
                    hyps[k][utt] = []
                continue
            for k, words in sweep(lat, cfg).items():
                hyps[k][utt] = [id2word[w] for w in words]
    else:
        _decode_kaldi(md, gd, dd, job, loglikes, cfg, kaldi_path, id2word, hyps)
    stats["decode_seconds"] = time.time() - t0
    write_hyps(dd, job, hyps)
    write_json_atomic(dd / f"stats.{job}.json", stats)
    return stats


def _decode_kaldi(md, gd, dd, job, loglikes, cfg, path, id2word, hyps) -> None:
    import kaldiio

    from pase.asr import kaldi_bin

    ark = dd / f"loglikes.{job}.ark"
    kaldiio.save_ark(str(ark), {u: loglikes[u] for u in sorted(loglikes)})
    lat = dd / f"lat.{job}.gz"
    kaldi_bin.run_kaldi(
        kaldi_bin.latgen_command(md / "final.mdl", gd, f"ark:{ark}", f"ark:|gzip -c > {lat}", cfg),
        path,
    )
    for (lmwt, wip), table in hyps.items():
        out = kaldi_bin.run_kaldi(
            kaldi_bin.best_path_command(f"ark:gunzip -c {lat}|", lmwt, wip), path
        )
        for utt, ids in kaldi_bin.parse_int_table(out).items():
            bad = [i for i in ids if i not in id2word]
            if bad:
                raise RecognizeError(f"Kaldi output for {utt!r}: word ids {bad} not in words.txt")
            table[utt] = [id2word[i] for i in ids]
        for utt in loglikes:
            table.setdefault(utt, [])
    ark.unlink()


def framewise_phones(
    loglikes: np.ndarray, pdf2phone: np.ndarray, id2phone: dict[int, str]
) -> list[str]:
    """No-HMM baseline: arg-max pdf per frame -> its phone; runs of one phone merged."""
    phones = pdf2phone[np.asarray(loglikes).argmax(1)]
    out: list[str] = []
    prev = None
    for p in phones:
        if p != prev:
            out.append(id2phone[int(p)])
            prev = p
    return out
