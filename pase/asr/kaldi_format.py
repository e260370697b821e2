"""Kaldi model and alignment files without Kaldi: ``final.mdl`` (transition model) and ``ali.*.gz``.

Reads the ``TransitionModel`` at the start of a Kaldi ``final.mdl`` (binary or text; the
acoustic model after it is not needed) to map transition ids to pdfs, phones and HMM states,
and writes one (plus the diagonal GMMs) so that Kaldi tools such as ``latgen-faster-mapped``
can use models trained here. Alignment archives (``ali.JOB.gz``: int32 vectors of transition
ids) are read and written with kaldiio.

Binary layout (Kaldi ``io-funcs``): a ``\\0B`` header; tokens followed by one space; basic
types as a size byte + little-endian value; ``WriteIntegerVector`` as a size byte, an int32
count and the raw values; float vectors as ``FV`` + count + raw float32.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class KaldiFormatError(ValueError):
    """A Kaldi file that cannot be parsed (the message names the file and what was expected)."""


class _Reader:
    """Token/number reader over a Kaldi object stream (binary or text)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self.binary = data.startswith(b"\0B")
        self.data = data
        self.pos = 2 if self.binary else 0

    def _fail(self, what: str) -> KaldiFormatError:
        return KaldiFormatError(f"{self.name}: expected {what} at byte {self.pos}")

    def _skip_ws(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos : self.pos + 1].isspace():
            self.pos += 1

    def token(self) -> str:
        self._skip_ws()
        end = self.pos
        while end < len(self.data) and not self.data[end : end + 1].isspace():
            end += 1
        if end == self.pos:
            raise self._fail("a token")
        tok = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1 if self.binary else end
        return tok

    def peek_token(self) -> str:
        save = self.pos
        try:
            return self.token()
        finally:
            self.pos = save

    def expect(self, tok: str) -> None:
        got = self.token()
        if got != tok:
            raise KaldiFormatError(f"{self.name}: expected token {tok!r}, got {got!r}")

    def _text_number(self) -> str:
        tok = self.token()
        return tok

    def int32(self) -> int:
        if not self.binary:
            try:
                return int(self._text_number())
            except ValueError:
                raise self._fail("an integer") from None
        if self.data[self.pos : self.pos + 1] != b"\x04":
            raise self._fail("an int32 (size byte 4)")
        (v,) = struct.unpack_from("<i", self.data, self.pos + 1)
        self.pos += 5
        return v

    def float32(self) -> float:
        if not self.binary:
            try:
                return float(self._text_number())
            except ValueError:
                raise self._fail("a float") from None
        size = self.data[self.pos]
        fmt = {4: "<f", 8: "<d"}.get(size)
        if fmt is None:
            raise self._fail("a float (size byte 4 or 8)")
        (v,) = struct.unpack_from(fmt, self.data, self.pos + 1)
        self.pos += 1 + size
        return v

    def int_vector(self) -> list[int]:
        if not self.binary:
            self._skip_ws()
            if self.token() != "[":
                raise self._fail("'[' of an integer vector")
            out = []
            while (tok := self.token()) != "]":
                out.append(int(tok))
            return out
        if self.data[self.pos : self.pos + 1] != b"\x04":
            raise self._fail("an int32 vector (size byte 4)")
        (n,) = struct.unpack_from("<i", self.data, self.pos + 1)
        self.pos += 5
        vals = struct.unpack_from(f"<{n}i", self.data, self.pos)
        self.pos += 4 * n
        return list(vals)

    def float_vector(self) -> np.ndarray:
        if not self.binary:
            if self.token() != "[":
                raise self._fail("'[' of a float vector")
            out = []
            while (tok := self.token()) != "]":
                out.append(float(tok))
            return np.asarray(out, dtype=np.float64)
        kind = self.token()
        if kind not in ("FV", "DV"):
            raise self._fail("'FV' or 'DV'")
        n = self.int32()
        dt = "<f4" if kind == "FV" else "<f8"
        width = 4 if kind == "FV" else 8
        arr = np.frombuffer(self.data, dtype=dt, count=n, offset=self.pos).astype(np.float64)
        self.pos += width * n
        return arr


class _Writer:
    """Kaldi binary writer (``\\0B`` header must be written by the caller once)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    def token(self, tok: str) -> None:
        self.buf.write(tok.encode("latin-1") + b" ")

    def int32(self, v: int) -> None:
        self.buf.write(b"\x04" + struct.pack("<i", int(v)))

    def float32(self, v: float) -> None:
        self.buf.write(b"\x04" + struct.pack("<f", float(v)))

    def int_vector(self, v: list[int]) -> None:
        self.buf.write(b"\x04" + struct.pack("<i", len(v)) + struct.pack(f"<{len(v)}i", *v))

    def float_vector(self, v: np.ndarray) -> None:
        v = np.asarray(v, dtype="<f4").ravel()
        self.token("FV")
        self.int32(v.shape[0])
        self.buf.write(v.tobytes())

    def float_matrix(self, m: np.ndarray) -> None:
        m = np.ascontiguousarray(m, dtype="<f4")
        self.token("FM")
        self.int32(m.shape[0])
        self.int32(m.shape[1])
        self.buf.write(m.tobytes())


@dataclass
class TopoState:
    """One HMM state of a Kaldi topology entry."""

    forward_pdf_class: int
    self_loop_pdf_class: int
    transitions: list[tuple[int, float]]


@dataclass
class KaldiTransitionModel:
    """A Kaldi ``TransitionModel``: topology, tuples and transition log-probs.

    ``tuples[i]`` = (phone, hmm_state, forward_pdf, self_loop_pdf) of transition state ``i+1``.
    """

    phones: list[int]
    phone2entry: dict[int, int]
    entries: list[list[TopoState]]
    tuples: list[tuple[int, int, int, int]]
    log_probs: np.ndarray

    def entry(self, phone: int) -> list[TopoState]:
        """Topology entry of ``phone``."""
        try:
            return self.entries[self.phone2entry[phone]]
        except KeyError:
            raise KaldiFormatError(f"phone {phone} has no topology entry") from None

    @property
    def num_pdfs(self) -> int:
        """1 + the largest pdf id."""
        return 1 + max(max(t[2], t[3]) for t in self.tuples)

    def tid_table(self) -> np.ndarray:
        """(num_tids + 1, 5) int array: phone, hmm_state, pdf, dest state, is_self_loop.

        Row 0 is unused; tids are numbered as Kaldi does (per transition state, in the order of
        the topology state's transitions).
        """
        rows = [[0, 0, -1, 0, 0]]
        for phone, hmm_state, fpdf, spdf in self.tuples:
            for dest, _p in self.entry(phone)[hmm_state].transitions:
                loop = int(dest == hmm_state)
                rows.append([phone, hmm_state, spdf if loop else fpdf, dest, loop])
        return np.asarray(rows, dtype=np.int64)


def _read_topology(r: _Reader) -> tuple[list[int], dict[int, int], list[list[TopoState]]]:
    r.expect("<Topology>")
    if not r.binary:
        return _read_topology_text(r)
    phones = r.int_vector()
    phone2idx = r.int_vector()
    n = r.int32()
    is_hmm = True
    if n == -1:  # extended format with self-loop pdf classes
        is_hmm = False
        n = r.int32()
    entries = []
    for _ in range(n):
        states = []
        for _ in range(r.int32()):
            fwd = r.int32()
            loop = fwd if is_hmm else r.int32()
            trans = [(r.int32(), r.float32()) for _ in range(r.int32())]
            states.append(TopoState(fwd, loop, trans))
        entries.append(states)
    r.expect("</Topology>")
    p2e = {p: idx for p, idx in enumerate(phone2idx) if idx >= 0}
    return phones, p2e, entries


def _read_topology_text(r: _Reader) -> tuple[list[int], dict[int, int], list[list[TopoState]]]:
    phones: list[int] = []
    p2e: dict[int, int] = {}
    entries: list[list[TopoState]] = []
    while (tok := r.token()) != "</Topology>":
        if tok != "<TopologyEntry>":
            raise KaldiFormatError(f"{r.name}: unexpected token {tok!r} in the topology")
        r.expect("<ForPhones>")
        members = []
        while (t := r.token()) != "</ForPhones>":
            members.append(int(t))
        states: list[TopoState] = []
        while (t := r.token()) != "</TopologyEntry>":
            if t != "<State>":
                raise KaldiFormatError(f"{r.name}: expected <State>, got {t!r}")
            r.int32()
            fwd = loop = -1
            trans: list[tuple[int, float]] = []
            while (t := r.token()) != "</State>":
                if t == "<PdfClass>":
                    fwd = loop = r.int32()
                elif t == "<ForwardPdfClass>":
                    fwd = r.int32()
                elif t == "<SelfLoopPdfClass>":
                    loop = r.int32()
                elif t == "<Transition>":
                    trans.append((r.int32(), r.float32()))
                else:
                    raise KaldiFormatError(f"{r.name}: unexpected token {t!r} in a state")
            states.append(TopoState(fwd, loop, trans))
        for p in members:
            p2e[p] = len(entries)
        phones += members
        entries.append(states)
    return sorted(phones), p2e, entries


def read_transition_model(path: str | os.PathLike) -> KaldiTransitionModel:
    """Read the transition model at the start of a Kaldi model file (``final.mdl``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KaldiFormatError(f"{path}: cannot read ({e})") from e
    r = _Reader(data, str(path))
    try:
        r.expect("<TransitionModel>")
        phones, p2e, entries = _read_topology(r)
        kind = r.token()
        if kind not in ("<Triples>", "<Tuples>"):
            raise KaldiFormatError(f"{path}: expected <Triples> or <Tuples>, got {kind!r}")
        n = r.int32()
        tuples = []
        for _ in range(n):
            phone, state, fpdf = r.int32(), r.int32(), r.int32()
            spdf = r.int32() if kind == "<Tuples>" else fpdf
            tuples.append((phone, state, fpdf, spdf))
        r.expect(kind.replace("<", "</"))
        r.expect("<LogProbs>")
        log_probs = r.float_vector()
        r.expect("</LogProbs>")
        r.expect("</TransitionModel>")
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, KaldiFormatError):
            raise
        raise KaldiFormatError(f"{path}: truncated or malformed transition model ({e})") from e
    tm = KaldiTransitionModel(phones, p2e, entries, tuples, log_probs)
    n_tids = tm.tid_table().shape[0] - 1
    if log_probs.shape[0] != n_tids + 1:
        raise KaldiFormatError(
            f"{path}: {log_probs.shape[0]} log-probs for {n_tids} transition ids (+1 expected)"
        )
    return tm


def gconsts(weights: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Kaldi ``DiagGmm::ComputeGconsts``: (M,) ``log w - (D log 2pi + sum log var +
    sum mean^2 / var) / 2`` of a diagonal GMM with (M, D) means and variances."""
    return (
        np.log(weights)
        - 0.5 * (means.shape[1] * np.log(2 * np.pi) + np.log(variances).sum(1))
        - 0.5 * (means * means / variances).sum(1)
    )


def transition_model_bytes(hmm, gmm=None) -> bytes:
    """Kaldi binary ``final.mdl`` bytes of a :class:`~pase.asr.hmm.HmmModel` (+ optional GMM).

    Without a GMM only the transition model is written, which is all ``latgen-faster-mapped``
    reads.
    """
    w = _Writer()
    w.buf.write(b"\0B")
    w.token("<TransitionModel>")
    topo = hmm.topo
    phones = list(topo.phones)
    w.token("<Topology>")
    w.int_vector(phones)
    entries: list[list] = []
    entry_of: dict[int, int] = {}
    for p in phones:
        states = topo.topology_for_phone(p)
        key = [(s.forward_pdf_class, s.self_loop_pdf_class, tuple(s.transitions)) for s in states]
        for i, e in enumerate(entries):
            if e == key:
                entry_of[p] = i
                break
        else:
            entry_of[p] = len(entries)
            entries.append(key)
    w.int_vector([entry_of.get(p, -1) for p in range(max(phones) + 1)])
    w.int32(len(entries))
    for e in entries:
        w.int32(len(e))
        for fwd, _loop, trans in e:
            w.int32(fwd)
            w.int32(len(trans))
            for dest, prob in trans:
                w.int32(dest)
                w.float32(prob)
    w.token("</Topology>")
    w.token("<Triples>")
    n_ts = len(hmm.tm.state2id) - 2
    w.int32(n_ts)
    by_ts = {ts: key for key, ts in hmm._tstate.items()}
    for ts in range(1, n_ts + 1):
        phone, state = by_ts[ts]
        w.int32(phone)
        w.int32(state)
        w.int32(hmm.pdf_of(phone, state))
    w.token("</Triples>")
    w.token("<LogProbs>")
    w.float_vector(hmm.log_probs)
    w.token("</LogProbs>")
    w.token("</TransitionModel>")
    if gmm is not None:
        w.token("<DIMENSION>")
        w.int32(gmm.dim)
        w.token("<NUMPDFS>")
        w.int32(gmm.num_pdfs)
        for wt, mu, var in zip(gmm.weights, gmm.means, gmm.vars):
            inv = 1.0 / var
            w.token("<DiagGMM>")
            w.token("<GCONSTS>")
            w.float_vector(gconsts(wt, mu, var))
            w.token("<WEIGHTS>")
            w.float_vector(wt)
            w.token("<MEANS_INVVARS>")
            w.float_matrix(mu * inv)
            w.token("<INV_VARS>")
            w.float_matrix(inv)
            w.token("</DiagGMM>")
    return w.buf.getvalue()


def write_model(path: str | os.PathLike, hmm, gmm=None) -> None:
    """Write :func:`transition_model_bytes` to ``path`` atomically."""
    from pase.io.atomic import atomic_open

    with atomic_open(path, "wb") as f:
        f.write(transition_model_bytes(hmm, gmm))


# ---- alignment archives ---------------------------------------------------------------------
def read_alignments(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an alignment archive (``ali.N.gz`` or plain ``.ark``): utt -> (T,) int32 tids."""
    import kaldiio

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    out: dict[str, np.ndarray] = {}
    try:
        with opener(path, "rb") as f:
            for utt, v in kaldiio.load_ark(f):
                arr = np.asarray(v)
                if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
                    raise KaldiFormatError(
                        f"{path}: entry {utt!r} is not an integer vector (shape {arr.shape})"
                    )
                if utt in out:
                    raise KaldiFormatError(f"{path}: utterance {utt!r} appears twice")
                out[utt] = arr.astype(np.int32)
    except (OSError, EOFError, ValueError) as e:
        if isinstance(e, KaldiFormatError):
            raise
        raise KaldiFormatError(f"{path}: not a Kaldi int32-vector archive ({e})") from e
    return out


def write_alignments(path: str | os.PathLike, alignments: dict[str, np.ndarray]) -> None:
    """Write utt -> int32 vectors as a Kaldi archive (gzip-compressed for ``.gz``), atomically."""
    import kaldiio

    from pase.io.atomic import atomic_open

    path = Path(path)
    buf = io.BytesIO()
    kaldiio.save_ark(
        buf, {u: np.asarray(alignments[u], dtype=np.int32) for u in sorted(alignments)}
    )
    data = buf.getvalue()
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    with atomic_open(path, "wb") as f:
        f.write(data)


def iter_ali_dir(ali_dir: str | os.PathLike) -> Iterator[Path]:
    """The ``ali.*.gz`` files of a Kaldi alignment dir, in job order."""
    d = Path(ali_dir)
    files = sorted(d.glob("ali.*.gz"), key=lambda p: (len(p.name), p.name))
    if not files:
        raise KaldiFormatError(f"{d}: no ali.*.gz files (not a Kaldi alignment dir)")
    return iter(files)
