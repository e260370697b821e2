"""The steps of the hybrid recipe (``egs/timit/asr1``), one function per ``pase-asr-*`` command:
plain arguments in, files written, a one-line summary returned for the command to print.

================  ===========================  ====================================
command           function                     writes
================  ===========================  ====================================
pase-asr-lang     :func:`make_lang`            lang dir + phone-bigram ``G.fst``
pase-asr-align    :func:`align`                alignment dir
pase-asr-mkgraph  :func:`make_graph`           ``HCLG.fst`` graph dir
pase-asr-train    :func:`train_acoustic_model` model dir (``final.pt``, ...)
pase-asr-decode   :func:`decode`               one job of a decode dir
pase-asr-score    :func:`score`                ``<decode dir>/scoring``
pase-asr-results  :func:`write_results`        ``RESULTS.md``, ``results.json``
================  ===========================  ====================================
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from pase.asr.speakers import read_utt2spk, split_by_speaker

log = logging.getLogger("pase.asr.steps")
PathLike = str | os.PathLike


# --------------------------------------------------------------------------- lang
def make_lang(
    lang_dir: PathLike,
    text: PathLike,
    *,
    phones: PathLike | None = None,
    phone_map: PathLike | None = None,
    silence: tuple[str, ...] = ("sil",),
    num_states: int = 3,
    num_sil_states: int = 3,
) -> str:
    """The lang dir of a phone recogniser (words = phones: ``phones.txt``, ``words.txt``,
    ``topo``, ``lang.json``) and its Witten-Bell phone bigram of ``text`` (``G.arpa``,
    ``G.fst`` with ``#0`` on backoff arcs)."""
    from pase.asr.graph import write_fst
    from pase.asr.lang import Lang
    from pase.asr.lm import arpa_to_g, write_bigram_arpa
    from pase.asr.scoring import PhoneMap, read_text

    if phones:
        symbols = Path(phones).read_text(encoding="utf-8").split()
    else:
        symbols = PhoneMap.load(phone_map).phones48
    lang = Lang(
        symbols, silence=list(silence), num_states=num_states, num_sil_states=num_sil_states
    )
    out = Path(lang_dir)
    lang.save(out)
    sents = list(read_text(text).values())
    for i, s in enumerate(sents):
        lang.encode(s, where=f"{text}: sentence {i + 1}")
    write_bigram_arpa(out / "G.arpa", sents, symbols)
    g = arpa_to_g(out / "G.arpa", lang, out)
    write_fst(g, out / "G.fst")
    return f"{out}: {lang.num_phones} phones, bigram of {len(sents)} sentences, G: {g.num_states}"


# --------------------------------------------------------------------------- alignments
def read_mono_config(path: PathLike | None) -> dict[str, Any]:
    """The monophone training options of a YAML file (``conf/mono.yaml``; None: defaults)."""
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


def _gmm_feats(feats: PathLike | None, utt2spk: dict[str, str], norm: str, deltas: int) -> dict:
    from pase.asr.feats import load_features

    if not feats:
        raise ValueError("--feats is required for --source gmm")
    return load_features(feats, utt2spk, norm=norm, deltas=deltas)


def align(
    out: PathLike,
    *,
    source: str = "gmm",
    lang: PathLike | None = None,
    model: PathLike | None = None,
    data: PathLike | None = None,
    feats: PathLike | None = None,
    norm: str = "cmvn",
    deltas: int = 2,
    config: PathLike | None = None,
    kaldi_ali_dir: PathLike | None = None,
    kaldi_phones: PathLike | None = None,
) -> str:
    """An alignment dir ``out`` (:mod:`pase.asr.expdir`) from one of: a monophone HMM-GMM flat
    start on ``feats`` (``source="gmm"``), aligning ``data`` with a trained ``model`` dir, the
    ``.PHN`` boundaries of ``data`` (``"phn"``), or a Kaldi alignment dir (``"kaldi"``)."""
    from pase.asr import alignments, mono
    from pase.asr.expdir import load_ali_dir, save_ali_dir
    from pase.asr.hmm import HmmModel
    from pase.asr.lang import Lang
    from pase.asr.scoring import read_text
    from pase.io.datadir import read_kv

    data_dir = Path(data) if data else None
    utt2spk = read_utt2spk(data_dir) if data_dir else {}
    if model:
        if source != "gmm":
            raise ValueError("--model (align with a trained model) only goes with --source gmm")
        hmm, _ali, params = load_ali_dir(model)
        if params is None:
            raise ValueError(f"{model}: has no GMM (gmm.npz) to align with")
        x = _gmm_feats(feats, utt2spk, norm, deltas)
        texts = read_text(data_dir / "text")  # type: ignore[operator]
        cfg = mono.MonoConfig.from_dict(read_mono_config(config))
        ali, failed = mono.align(hmm, params, x, texts, cfg)
        if not ali:
            raise ValueError(f"{data_dir}: no utterance could be aligned")
        if failed:
            log.warning("%d utterance(s) failed to align: %s", len(failed), " ".join(failed[:20]))
        save_ali_dir(
            out, hmm, ali, params, {"source": "gmm-align", "model": str(model), "failed": failed}
        )
        return f"{out}: aligned {len(ali)} utterances ({len(failed)} failed)"
    if not lang:
        raise ValueError("--lang is required (or --model to align with a trained model)")
    the_lang = Lang.load(lang)
    if source == "gmm":
        x = _gmm_feats(feats, utt2spk, norm, deltas)
        texts = read_text(data_dir / "text")  # type: ignore[operator]
        cfg = mono.MonoConfig.from_dict(read_mono_config(config))
        res = mono.train_mono(x, texts, the_lang, cfg)
        save_ali_dir(
            out, res.hmm, res.alignments, res.gmm, {"source": "gmm", "history": res.history}
        )
        h = res.history
        return (
            f"{out}: {len(res.alignments)} utterances, {res.gmm.num_gauss} Gaussians, "
            f"log-likelihood/frame {h[0]['like_per_frame']:.2f} -> {h[-1]['like_per_frame']:.2f}"
        )
    hmm = HmmModel(the_lang)
    if source == "phn":
        if data_dir is None:
            raise ValueError("--data-dir is required for --source phn")
        ctm = alignments.read_ctm(data_dir / "phones.ctm")
        nsamp = read_kv(data_dir / "utt2num_samples")
        frames = {u: alignments.kaldi_num_frames(int(n)) for u, n in nsamp.items()}
        ali, skipped = alignments.phn_alignments(ctm, frames, hmm)
        info: dict[str, Any] = {"source": "phn", "skipped": skipped}
    elif source == "kaldi":
        if not kaldi_ali_dir:
            raise ValueError("--kaldi-ali-dir is required for --source kaldi")
        ali = alignments.kaldi_alignments(kaldi_ali_dir, hmm, kaldi_phones)
        info = {"source": "kaldi", "kaldi_ali_dir": str(kaldi_ali_dir)}
    else:
        raise ValueError(f"unknown alignment source {source!r} (gmm, phn or kaldi)")
    if not ali:
        raise ValueError("no alignments produced")
    hmm.update_transitions(hmm.transition_stats(ali))  # transition probs from the alignments
    save_ali_dir(out, hmm, ali, None, info)
    n = int(sum(np.asarray(a).shape[0] for a in ali.values()))
    return f"{out}: {len(ali)} utterances, {n} frames ({source})"


# --------------------------------------------------------------------------- graph
def make_graph(
    out: PathLike,
    lang: PathLike,
    model: PathLike,
    *,
    transition_scale: float = 1.0,
    self_loop_scale: float = 0.1,
) -> str:
    """``HCLG.fst`` (OpenFst binary, readable by Kaldi) of ``lang``'s grammar and ``model``'s
    HMM, with ``words.txt``, ``phones.txt`` and ``num_pdfs`` (Kaldi's mkgraph.sh)."""
    from pase.asr.expdir import load_lang_and_hmm
    from pase.asr.graph import make_hclg, read_fst, write_fst
    from pase.asr.lang import Lang
    from pase.io.atomic import write_text_atomic

    lang_dir = Path(lang)
    the_lang = Lang.load(lang_dir)
    model_lang, hmm = load_lang_and_hmm(model)
    if model_lang != the_lang:
        raise ValueError(f"{model} was made with another lang than {lang_dir}")
    t0 = time.time()
    g = read_fst(lang_dir / "G.fst")
    hclg = make_hclg(hmm, g, transition_scale=transition_scale, self_loop_scale=self_loop_scale)
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    write_fst(hclg, d / "HCLG.fst")
    for name in ("words.txt", "phones.txt"):
        shutil.copyfile(lang_dir / name, d / name)
    write_text_atomic(d / "num_pdfs", f"{hmm.num_pdfs}\n")
    return f"{d}/HCLG.fst: {hclg.num_states} states ({time.time() - t0:.2f} s)"


# --------------------------------------------------------------------------- acoustic model
def load_targets(ali_dir: PathLike) -> tuple[dict, int, str]:
    """utt -> (T,) pdf ids, number of pdfs, and ``"pase"`` or ``"kaldi"`` (which HMM)."""
    from pase.asr.alignments import kaldi_pdf_alignments
    from pase.asr.expdir import load_ali_dir

    d = Path(ali_dir)
    if (d / "hmm.npz").is_file():
        hmm, ali, _ = load_ali_dir(d)
        return {u: hmm.tids_to_pdfs(t, u) for u, t in ali.items()}, hmm.num_pdfs, "pase"
    pdfs, num_pdfs = kaldi_pdf_alignments(d)
    return pdfs, num_pdfs, "kaldi"


def train_acoustic_model(
    out: PathLike,
    config: PathLike,
    train: tuple[PathLike, PathLike, PathLike],
    dev: tuple[PathLike, PathLike, PathLike],
    *,
    norm: str | None = None,
    deltas: int = 0,
    max_trim: int = 3,
    device: str = "auto",
    max_epochs: int | None = None,
) -> str:
    """Train the hybrid MLP of ``config`` on ``train`` = (feats.scp, data dir, alignment dir),
    early-stopped on ``dev``; writes the model dir ``out`` (``final.pt`` = best dev frame
    error, ``last.pt``, ``history.json``, ``log_prior.npy``, ``input.json``, the HMM)."""
    from pase.asr import mlp
    from pase.asr.expdir import copy_model
    from pase.asr.feats import load_features
    from pase.extract import resolve_device
    from pase.io.atomic import atomic_open, write_json_atomic

    cfg = mlp.MLPConfig.from_file(config)
    norm = norm or ("avg_spk" if cfg.avg_spk else "none")
    tr_feats, tr_data, tr_ali = train
    dv_feats, dv_data, dv_ali = dev
    tr_y, num_pdfs, source = load_targets(tr_ali)
    dv_y, dv_pdfs, _ = load_targets(dv_ali)
    if dv_pdfs != num_pdfs:
        raise ValueError(f"{dv_ali} has {dv_pdfs} pdfs, {tr_ali} has {num_pdfs}")
    if cfg.num_outputs_cfg not in (None, num_pdfs):
        log.info(
            "output layer: %d pdfs of the alignments (the config's %d is Kaldi's tree)",
            num_pdfs,
            cfg.num_outputs_cfg,
        )
    tr_x = load_features(tr_feats, read_utt2spk(tr_data), norm=norm, deltas=deltas, utts=set(tr_y))
    dv_x = load_features(dv_feats, read_utt2spk(dv_data), norm=norm, deltas=deltas, utts=set(dv_y))
    train_t = mlp.FrameTable(tr_x, tr_y, max_trim=max_trim)
    dev_t = mlp.FrameTable(dv_x, dv_y, max_trim=max_trim)
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    log_prior = mlp.log_priors(tr_y, num_pdfs)
    with atomic_open(d / "log_prior.npy", "wb") as f:
        np.save(f, log_prior, allow_pickle=False)
    write_json_atomic(
        d / "input.json",
        {
            "norm": norm,
            "deltas": deltas,
            "dim": train_t.dim,
            "num_pdfs": num_pdfs,
            "pdf_source": source,
            "ali_dir": str(tr_ali),
            "feats": str(tr_feats),
        },
    )
    if source == "pase":
        copy_model(tr_ali, d)
    else:  # Kaldi's own pdfs: decoding uses Kaldi's transition model (and graph)
        shutil.copyfile(Path(tr_ali) / "final.mdl", d / "final.mdl")
    dev_name = resolve_device(device)
    log.info(
        "training on %d frames (%d utts), dev %d frames, %d pdfs, input %d x %d, %s",
        len(train_t),
        len(train_t.utts),
        len(dev_t),
        num_pdfs,
        cfg.context,
        train_t.dim,
        dev_name,
    )
    hist = mlp.train(train_t, dev_t, num_pdfs, cfg, d, device=dev_name, max_epochs=max_epochs)
    shutil.copyfile(d / "best.pt", d / "final.pt")
    best = min(hist, key=lambda h: h["dev_frame_err"])
    return (
        f"{d}/final.pt: epoch {best['epoch']}, dev frame error {100 * best['dev_frame_err']:.2f}%"
    )


# --------------------------------------------------------------------------- decoding
def decode(
    out: PathLike,
    *,
    model: PathLike,
    graph: PathLike,
    feats: PathLike,
    data: PathLike,
    config: PathLike | None = None,
    nj: int = 1,
    job: int = 1,
    kaldi: str = "never",
    device: str = "cpu",
) -> str:
    """Job ``job`` of ``nj`` (whole speakers, as ``split_data.sh``) of decoding ``data`` into
    the decode dir ``out``: MLP log-likelihoods, lattices and a best path per LM weight /
    insertion penalty, with the k2-fsa wheels or (``kaldi`` auto/always) Kaldi's
    ``latgen-faster-mapped``."""
    from pase.asr import kaldi_bin
    from pase.asr.decode import DecodeConfig
    from pase.asr.feats import load_features
    from pase.asr.recognize import decode_job, load_model_dir
    from pase.extract import resolve_device

    cfg = DecodeConfig.from_file(config) if config else DecodeConfig()
    utt2spk = read_utt2spk(data)
    utts = split_by_speaker(utt2spk, nj, job)
    dev = str(resolve_device(device))
    _, _, _, info = load_model_dir(model, "cpu")
    path = None
    if kaldi != "never":
        path = kaldi_bin.kaldi_path()
        if path is None and kaldi == "always":
            raise ValueError("--kaldi always: Kaldi binaries not found (set KALDI_ROOT)")
    if not utts:
        log.warning("job %d of %d has no utterances", job, nj)
        x: dict = {}
    else:
        x = load_features(feats, utt2spk, norm=info["norm"], deltas=info["deltas"], utts=utts)
        missing = sorted(utts - set(x))
        if missing:
            raise ValueError(
                f"{feats}: no features for {len(missing)} utterance(s): {missing[:10]}"
            )
    stats = decode_job(model, graph, x, cfg, out, job, device=dev, kaldi_path=path)
    rtf = (stats["am_seconds"] + stats["decode_seconds"]) / max(stats["audio_seconds"], 1e-9)
    return (
        f"job {job}/{nj}: {stats['utterances']} utterances, {stats['frames']} frames, "
        f"RTF {rtf:.3f} ({'Kaldi latgen-faster-mapped' if path else 'k2-fsa wheels'})"
    )


# --------------------------------------------------------------------------- scoring
def score(
    decode_dir: PathLike,
    data: PathLike,
    *,
    phone_map: PathLike | None = None,
    fold: bool = True,
) -> str:
    """Phone error rates of a decode dir for every LM weight (48 -> 39 folding unless not
    ``fold``): ``scoring/per_<lmwt>.txt``, ``hyp_<lmwt>.txt``, ``best_per``,
    ``scores.json``; returns the best line."""
    from pase.asr.recognize import collect
    from pase.asr.scoring import PhoneMap, read_text, score_sweep, summary
    from pase.io.atomic import write_json_atomic

    d = Path(decode_dir)
    refs = read_text(Path(data) / "text")
    hyps, stats = collect(d)
    pm = PhoneMap.load(phone_map) if fold else None
    counts = score_sweep(refs, hyps, d / "scoring", pm)
    rtf = (stats["am_seconds"] + stats["decode_seconds"]) / max(stats["audio_seconds"], 1e-9)
    write_json_atomic(
        d / "scoring" / "scores.json",
        {
            "scores": summary(counts),
            "stats": stats,
            "rtf": rtf,
            "data": str(data),
            "folding": "48->39" if pm else "none",
        },
    )
    return (d / "scoring" / "best_per").read_text().strip()


def environment() -> dict[str, Any]:
    """Versions, machine and git commit for the results file."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    import pase

    env: dict[str, Any] = {
        "pase": pase.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.platform(),
        "cuda": torch.cuda.is_available(),
    }
    for dist in (
        "kaldi-hmm-gmm",
        "kaldifst",
        "kaldi-decoder",
        "kaldilm",
        "kaldialign",
        "kaldi-native-fbank",
    ):
        try:
            env[dist] = version(dist)
        except PackageNotFoundError:
            env[dist] = None
    try:
        root = Path(pase.__file__).resolve().parents[1]
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env["git"] = rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        env["git"] = None
    return env


def _scores(decode_dir: PathLike) -> dict:
    p = Path(decode_dir) / "scoring" / "scores.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{p}: run pase-asr-score first ({e})") from e


def write_results(out: PathLike, dev: PathLike, test: PathLike, feats: str) -> str:
    """LM weight chosen on the scored ``dev`` decode dir, dev/test PER into ``out``'s
    ``results.json`` (``{"dev": {"per", "lmwt", ...}, "test": {"per", "per_best_lmwt", ...},
    "feats", "environment", ...}``) and ``RESULTS.md``; returns a one-line summary."""
    from pase.asr.scoring import choose
    from pase.io.atomic import write_json_atomic, write_text_atomic

    dev_s, test_s = _scores(dev), _scores(test)
    res = choose(dev_s["scores"], test_s["scores"])
    res["feats"] = feats
    res["decode_dirs"] = {"dev": str(dev), "test": str(test)}
    res["rtf"] = {"dev": dev_s.get("rtf"), "test": test_s.get("rtf")}
    res["environment"] = environment()
    res["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    d = Path(out)
    write_json_atomic(d / "results.json", res)
    dv, t = res["dev"], res["test"]
    lines = [
        f"# TIMIT phone recognition: {feats} features, hybrid MLP + HMM",
        "",
        "| set | PER (%) | LM weight | ins. penalty | errors / ref phones | ins | del | sub |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in (("dev", dv), ("test (weight chosen on dev)", t)):
        c = r["counts"]
        lines.append(
            f"| {name} | {r['per']:.2f} | {r['lmwt']} | {r['wip']:g} | "
            f"{c['errors']} / {c['ref']} | {c['ins']} | {c['del']} | {c['sub']} |"
        )
    lines += [
        "",
        f"Best test PER over LM weights (Kaldi best_wer.sh style): {t['per_best_lmwt']:.2f}% "
        f"at LM weight {t['best_lmwt']} (ins. penalty {t['best_wip']:g}).",
        "",
        "39-phone scoring (48 -> 39 folding of reference and hypothesis), PER = (S + D + I) / N.",
        f"Decoding real-time factor (MLP + decoder, this machine): dev {res['rtf']['dev']:.3f}, "
        f"test {res['rtf']['test']:.3f}.",
        "",
        "## Environment",
        "",
        *[f"- {k}: {v}" for k, v in res["environment"].items()],
        f"- date: {res['date']}",
        "",
    ]
    write_text_atomic(d / "RESULTS.md", "\n".join(lines))
    return (
        f"dev PER {dv['per']:.2f}% (lmwt {dv['lmwt']}), test PER {t['per']:.2f}% "
        f"(best lmwt {t['best_lmwt']}: {t['per_best_lmwt']:.2f}%)"
    )
