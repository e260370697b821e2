"""Hybrid ("mapped") decoding with Kaldi's decoders, as ``latgen-faster-mapped`` does.

Semantics (Kaldi ``DecodableMatrixScaledMapped``): the acoustic log-likelihood of transition id
``tid`` at frame ``t`` is ``acwt * loglike[t, pdf(tid)]`` with ``loglike = log p(pdf | x) -
log p(pdf)`` (scaled likelihoods of a DNN); the decoder minimises ``graph cost - sum of those``
over paths of HCLG. kaldi-decoder's ``DecodableCtc`` returns ``M[t, index - 1]``, so the
(T, num_tids) matrix ``M`` carries the pdf->tid mapping and the acoustic scale.

Lattices come from kaldi-decoder's ``LatticeSimpleDecoder`` (same beam / lattice-beam pruning
as LatticeFasterDecoder, without the max-active cap, which a phone-bigram HCLG of a few hundred
states never reaches). Like latgen-faster-mapped, the acoustic scale is undone in the stored
lattice, so a language-model-weight sweep is a best path with acoustic scale ``1 / lmwt``
(Kaldi ``lattice-scale --inv-acoustic-scale=LMWT``), optionally after a word insertion penalty
(``lattice-add-penalty``).
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from pase.asr.kaldi_wheels import kaldi_decoder, kaldifst


class DecodeError(ValueError):
    """Bad decoding input (matrix shape, config value, missing file)."""


@dataclass
class DecodeConfig:
    """Decoder settings; defaults are the original ``cfg/decoder.cfg`` values."""

    acwt: float = 0.2
    beam: float = 13.0
    lattice_beam: float = 8.0
    max_active: int = 7000
    min_active: int = 200
    max_mem: int = 50000000
    min_lmwt: int = 1
    max_lmwt: int = 10
    word_ins_penalty: tuple[float, ...] = (0.0,)
    allow_partial: bool = True

    def __post_init__(self) -> None:
        if self.acwt <= 0:
            raise DecodeError(f"acwt must be > 0, got {self.acwt}")
        if self.beam <= 0 or self.lattice_beam <= 0:
            raise DecodeError("beam and lattice_beam must be > 0")
        if not 1 <= self.min_lmwt <= self.max_lmwt:
            raise DecodeError(f"bad LM-weight range {self.min_lmwt}..{self.max_lmwt}")
        self.word_ins_penalty = tuple(float(w) for w in self.word_ins_penalty)

    @property
    def lmwts(self) -> list[int]:
        """The LM weights of the scoring sweep."""
        return list(range(self.min_lmwt, self.max_lmwt + 1))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> DecodeConfig:
        """Read the original JSON ``decoder.cfg`` (string values) or a YAML/JSON of our keys.

        Original keys used: ``acwt``, ``beam``, ``latbeam``, ``max_active``, ``min_active``,
        ``max_mem`` and ``scoring_opts`` (``--min-lmwt A --max-lmwt B``
        ``[--word-ins-penalty x,y]``); paths and script names of the original are ignored.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise DecodeError(f"{path}: cannot read decoder config ({e})") from e
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            import yaml

            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise DecodeError(f"{path}: neither JSON nor YAML ({e})") from e
        if not isinstance(raw, dict):
            raise DecodeError(f"{path}: expected a mapping of options")
        try:
            return cls.from_dict(raw)
        except (TypeError, ValueError) as e:
            raise DecodeError(f"{path}: {e}") from e

    @classmethod
    def from_dict(cls, raw: dict) -> DecodeConfig:
        """Build from a mapping with our keys or the original decoder.cfg keys."""
        ours = {f.name for f in fields(cls)}
        out: dict = {}
        for key, value in raw.items():
            k = {"latbeam": "lattice_beam"}.get(key, key)
            if k == "scoring_opts":
                out.update(_parse_scoring_opts(str(value)))
            elif k in ours:
                out[k] = value
        kinds = {f.name: f.type for f in fields(cls)}
        for k, v in list(out.items()):
            t = kinds[k]
            if k == "word_ins_penalty":
                if isinstance(v, str):
                    v = [x for x in v.replace(",", " ").split()]
                out[k] = tuple(float(x) for x in (v if isinstance(v, list | tuple) else [v]))
            elif t == "bool" or isinstance(v, bool):
                out[k] = v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")
            elif t == "int":
                out[k] = int(float(v))
            else:
                out[k] = float(v)
        return cls(**out)

    def to_dict(self) -> dict:
        """Plain mapping (JSON-serialisable)."""
        d = asdict(self)
        d["word_ins_penalty"] = list(self.word_ins_penalty)
        return d


def _parse_scoring_opts(opts: str) -> dict:
    out: dict = {}
    toks = shlex.split(opts)
    i = 0
    while i < len(toks):
        tok = toks[i]
        key, _, val = tok.partition("=")
        if not val and i + 1 < len(toks):
            val = toks[i + 1]
            i += 1
        name = key.lstrip("-").replace("-", "_")
        if name in ("min_lmwt", "max_lmwt"):
            out[name] = int(val)
        elif name == "word_ins_penalty":
            out[name] = val
        i += 1
    return out


def mapped_matrix(loglikes: np.ndarray, tid2pdf: np.ndarray, acwt: float) -> np.ndarray:
    """(T, num_pdfs) log-likelihoods -> (T, num_tids) float32 ``acwt * loglike[t, pdf(tid)]``.

    ``tid2pdf`` has length ``num_tids + 1`` (index 0 unused), as ``HmmModel.tid2pdf``.
    """
    loglikes = np.asarray(loglikes)
    if loglikes.ndim != 2:
        raise DecodeError(f"log-likelihoods must be (T, num_pdfs), got shape {loglikes.shape}")
    num_pdfs = int(tid2pdf[1:].max()) + 1
    if loglikes.shape[1] != num_pdfs:
        raise DecodeError(
            f"log-likelihoods have {loglikes.shape[1]} columns but the transition model has "
            f"{num_pdfs} pdfs"
        )
    if not np.isfinite(loglikes).all():
        raise DecodeError("log-likelihoods contain NaN or Inf")
    m = acwt * loglikes[:, tid2pdf[1:]]
    return np.ascontiguousarray(m, dtype=np.float32)


def decode_lattice(hclg, loglikes: np.ndarray, tid2pdf: np.ndarray, cfg: DecodeConfig):
    """Decode one utterance into a raw lattice with unscaled acoustic costs.

    Args:
        hclg: ``kaldifst.StdVectorFst`` over transition ids.
        loglikes: (T, num_pdfs) scaled log-likelihoods (log-posterior minus log-prior).
        tid2pdf: (num_tids + 1,) pdf of each transition id.
        cfg: beams and the acoustic scale.

    Returns:
        ``kaldifst.Lattice`` (graph cost, acoustic cost) per arc, or None when no path
        survived (and ``allow_partial`` is off).
    """
    m = mapped_matrix(loglikes, tid2pdf, cfg.acwt)
    dec = kaldi_decoder.LatticeSimpleDecoder(
        hclg,
        kaldi_decoder.LatticeSimpleDecoderConfig(beam=cfg.beam, lattice_beam=cfg.lattice_beam),
    )
    dec.decode(kaldi_decoder.DecodableCtc(m))
    ok, lat = dec.get_raw_lattice(use_final_probs=True)
    if not ok or lat.num_states == 0:
        if not cfg.allow_partial:
            return None
        ok, lat = dec.get_raw_lattice(use_final_probs=False)
        if not ok or lat.num_states == 0:
            return None
    kaldifst.scale_lattice(kaldifst.lattice_scale(lmwt=1.0, acwt=1.0 / cfg.acwt), lat)
    return lat


def _lattice_arcs(lat, state: int):
    """Arcs leaving ``state`` of a ``kaldifst.Lattice`` (kaldifst exports no public iterator)."""
    import _kaldifst

    it = _kaldifst._ArcIteratorLattice(lat, state)
    while not it.done:
        yield it.value
        it.next()


def add_word_penalty(lat, penalty: float):
    """Kaldi ``lattice-add-penalty``: add ``penalty`` to the graph cost of every word arc."""
    if penalty == 0.0:
        return lat
    out = kaldifst.Lattice()
    n = lat.num_states
    for _ in range(n):
        out.add_state()
    out.start = lat.start
    for s in range(n):
        out.set_final(s, lat.final(s))
        for a in _lattice_arcs(lat, s):
            w = a.weight
            if a.olabel != 0:
                w = kaldifst.LatticeWeight(w.value1 + penalty, w.value2)
            out.add_arc(s, kaldifst.LatticeArc(a.ilabel, a.olabel, w, a.nextstate))
    return out


def lattice_best_path(lat, lmwt: float, penalty: float = 0.0) -> tuple[list[int], list[int]]:
    """Best path of a lattice at LM weight ``lmwt`` (acoustic scale ``1/lmwt``).

    Returns ``(word ids, transition ids)``.
    """
    lat = add_word_penalty(lat, penalty)
    paths = kaldifst.lattice_to_nbest(lat, n=1, acoustic_scale=1.0 / lmwt, lm_scale=1.0)
    if not paths:
        return [], []
    ok, tids, words, _w = kaldifst.get_linear_symbol_sequence(paths[0])
    if not ok:
        raise DecodeError("best path of the lattice is not linear")
    return list(words), list(tids)


def decode_best(hclg, loglikes: np.ndarray, tid2pdf: np.ndarray, cfg: DecodeConfig):
    """One-best decoding with Kaldi's ``FasterDecoder`` (beam, max/min-active as Kaldi).

    Returns ``(word ids, transition ids)``; empty lists when nothing was decoded.
    """
    m = mapped_matrix(loglikes, tid2pdf, cfg.acwt)
    dec = kaldi_decoder.FasterDecoder(
        hclg,
        kaldi_decoder.FasterDecoderOptions(
            beam=cfg.beam, max_active=cfg.max_active, min_active=cfg.min_active
        ),
    )
    dec.decode(kaldi_decoder.DecodableCtc(m))
    if not dec.reached_final() and not cfg.allow_partial:
        return [], []
    got, best = dec.get_best_path()
    if not got:
        return [], []
    ok, tids, words, _w = kaldifst.get_linear_symbol_sequence(best)
    if not ok:
        raise DecodeError("best path is not linear")
    return list(words), list(tids)


def sweep(lat, cfg: DecodeConfig) -> dict[tuple[int, float], list[int]]:
    """Best word sequence for every (LM weight, insertion penalty) of ``cfg``."""
    out: dict[tuple[int, float], list[int]] = {}
    for wip in cfg.word_ins_penalty:
        pen = add_word_penalty(lat, wip)
        for lmwt in cfg.lmwts:
            words, _ = lattice_best_path(pen, lmwt)
            out[(lmwt, wip)] = words
    return out
