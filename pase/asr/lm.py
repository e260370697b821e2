"""Phone bigram language model: Witten-Bell estimation, ARPA text, and the grammar FST G.

The model is interpolated Witten-Bell (the default smoothing of IRSTLM's ``build-lm.sh``, which
Kaldi's TIMIT recipe uses for its phone bigram):

    p(w)     = l0 * c(w) / N + (1 - l0) / V,          l0 = N / (N + n1+(.))
    p(w | v) = lv * c(v, w) / c(v) + (1 - lv) * p(w),  lv = c(v) / (c(v) + n1+(v .))

with ``<s>``/``</s>`` sentence boundaries, V the vocabulary size (all phones of the lang plus
``</s>``; unseen phones keep a non-zero unigram). In ARPA form the stored bigrams are the
interpolated probabilities of seen pairs and the backoff weight of ``v`` is exactly ``1 - lv``.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence

from pase.asr.lang import BOS, DISAMBIG, EOS, Lang
from pase.io.atomic import write_text_atomic

LOG10_ZERO = -99.0
log = logging.getLogger(__name__)


class LMError(ValueError):
    """Bad language-model input (the message names the sentence or symbol)."""


def witten_bell_bigram(
    sentences: Iterable[Sequence[str]], vocab: Sequence[str]
) -> tuple[dict[str, float], dict[str, float], dict[tuple[str, str], float]]:
    """Estimate an interpolated Witten-Bell bigram.

    Args:
        sentences: token sequences (without ``<s>``/``</s>``).
        vocab: all tokens the model must cover.

    Returns:
        ``(unigram, backoff, bigram)``: probabilities ``p(w)`` over ``vocab + </s>``, backoff
        weights ``1 - l_v`` for every history with counts (``<s>`` included), and interpolated
        ``p(w | v)`` for the seen pairs.
    """
    vocab_set = set(vocab)
    uni: Counter[str] = Counter()
    big: Counter[tuple[str, str]] = Counter()
    n_sent = 0
    for k, sent in enumerate(sentences):
        for tok in sent:
            if tok not in vocab_set:
                raise LMError(f"sentence {k}: token {tok!r} is not in the vocabulary")
        toks = [BOS, *sent, EOS]
        uni.update(toks[1:])
        big.update(itertools.pairwise(toks))
        n_sent += 1
    if n_sent == 0:
        raise LMError("no training sentences for the language model")
    targets = [*vocab, EOS]
    total = sum(uni.values())
    l0 = total / (total + len(uni))
    unigram = {w: l0 * uni[w] / total + (1 - l0) / len(targets) for w in targets}
    hist_count: Counter[str] = Counter()
    hist_types: Counter[str] = Counter()
    for (v, _w), c in big.items():
        hist_count[v] += c
        hist_types[v] += 1
    backoff: dict[str, float] = {}
    bigram: dict[tuple[str, str], float] = {}
    for v, cv in hist_count.items():
        lv = cv / (cv + hist_types[v])
        backoff[v] = 1.0 - lv
    for (v, w), c in big.items():
        lv = 1.0 - backoff[v]
        bigram[(v, w)] = lv * c / hist_count[v] + backoff[v] * unigram[w]
    return unigram, backoff, bigram


def bigram_arpa(sentences: Iterable[Sequence[str]], vocab: Sequence[str]) -> str:
    """ARPA text of :func:`witten_bell_bigram` (log10 probabilities, ``<s>`` at -99)."""
    unigram, backoff, bigram = witten_bell_bigram(sentences, vocab)
    lines = ["", "\\data\\", f"ngram 1={len(unigram) + 1}", f"ngram 2={len(bigram)}", ""]
    lines.append("\\1-grams:")
    lines.append(f"{LOG10_ZERO:.1f}\t{BOS}\t{math.log10(backoff[BOS]):.6f}")
    for w, p in unigram.items():
        row = f"{math.log10(p):.6f}\t{w}"
        if w in backoff and w != EOS:
            row += f"\t{math.log10(backoff[w]):.6f}"
        lines.append(row)
    lines += ["", "\\2-grams:"]
    for (v, w), p in sorted(bigram.items()):
        lines.append(f"{math.log10(p):.6f}\t{v} {w}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def write_bigram_arpa(
    path: str | os.PathLike, sentences: Iterable[Sequence[str]], vocab: Sequence[str]
) -> None:
    """Estimate the bigram and write it as ARPA text (atomically)."""
    write_text_atomic(path, bigram_arpa(sentences, vocab))


def _capture_stderr(fn):
    """Run ``fn()`` with the C-level stderr (file descriptor 2) captured: (result, text)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            result = fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return result, tmp.read().decode(errors="replace")


def arpa_to_g(arpa_path: str | os.PathLike, lang: Lang, work_dir: str | os.PathLike):
    """G.fst from an ARPA file with ``kaldilm.arpa2fst`` (``#0`` on backoff arcs).

    ``work_dir`` receives the ``words.txt`` arpa2fst reads. Returns an ilabel-sorted
    ``kaldifst.StdVectorFst``.
    """
    from pase.asr.kaldi_wheels import kaldifst, kaldilm

    words = os.path.join(os.fspath(work_dir), "words.txt")
    write_text_atomic(words, lang.words_txt())
    text, messages = _capture_stderr(
        lambda: kaldilm().arpa2fst(
            input_arpa=os.fspath(arpa_path),
            disambig_symbol=DISAMBIG,
            read_symbol_table=words,
            bos_symbol=BOS,
            eos_symbol=EOS,
        )
    )
    for line in messages.splitlines():
        if line.startswith("[W]") or line.startswith("[E]"):
            log.warning("arpa2fst %s: %s", arpa_path, line)
    if not text.strip():
        raise LMError(f"{arpa_path}: arpa2fst produced an empty grammar\n{messages}")
    g = kaldifst.compile(s=text, acceptor=False)
    kaldifst.arcsort(g, sort_type="ilabel")
    return g
