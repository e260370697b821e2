"""Phone error rate with TIMIT's phone folding (Kaldi ``local/score.sh`` for TIMIT).

Reference and hypothesis, both in the 48-phone training set, are mapped to the 39-phone scoring
set; ``PER = (S + D + I) / N`` with N the number of reference phones, from a Levenshtein
alignment (kaldialign). The LM weight (and insertion penalty) is chosen on dev; test is reported
at that weight and, for comparison with Kaldi's ``best_wer.sh`` numbers, at its own best weight.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pase.asr.kaldi_wheels import kaldialign
from pase.io.atomic import write_text_atomic


class ScoringError(ValueError):
    """Bad scoring input: unknown phone, malformed map/hypothesis file."""


def default_phone_map_path() -> Path:
    """The packaged ``timit_phones.60-48-39.map`` (Kaldi TIMIT ``conf/phones.60-48-39.map``)."""
    return Path(str(resources.files("pase.asr") / "data" / "timit_phones.60-48-39.map"))


@dataclass(frozen=True)
class PhoneMap:
    """TIMIT phone folding: ``to48`` (61 labels -> 48, ``q`` -> deleted) and ``to39``."""

    to48: dict[str, str | None]
    to39: dict[str, str]

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> PhoneMap:
        """Read a ``<60-phone> [<48-phone> <39-phone>]`` map; a 1-column line deletes the phone."""
        path = Path(path) if path is not None else default_phone_map_path()
        to48: dict[str, str | None] = {}
        to39: dict[str, str] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ScoringError(f"{path}: cannot read the phone map ({e})") from e
        for n, line in enumerate(lines, 1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) == 1:
                to48[cols[0]] = None
            elif len(cols) == 3:
                to48[cols[0]] = cols[1]
                if to39.setdefault(cols[1], cols[2]) != cols[2]:
                    raise ScoringError(f"{path}:{n}: {cols[1]!r} maps to two 39-phone labels")
            else:
                raise ScoringError(f"{path}:{n}: expected 1 or 3 columns, got {line!r}")
        return cls(to48, to39)

    @property
    def phones48(self) -> list[str]:
        """The 48 training phones, sorted."""
        return sorted(self.to39)

    @property
    def phones39(self) -> list[str]:
        """The 39 scoring phones, sorted."""
        return sorted(set(self.to39.values()))

    def fold61(self, phones: list[str], where: str = "") -> list[str]:
        """61-label transcript -> 48 phones (``q`` deleted)."""
        out = []
        for p in phones:
            if p not in self.to48:
                raise ScoringError(f"{where or 'transcript'}: unknown TIMIT phone {p!r}")
            q = self.to48[p]
            if q is not None:
                out.append(q)
        return out

    def fold48(self, phones: list[str], where: str = "") -> list[str]:
        """48-phone transcript -> 39 phones."""
        try:
            return [self.to39[p] for p in phones]
        except KeyError as e:
            raise ScoringError(f"{where or 'transcript'}: unknown phone {e.args[0]!r}") from None


@dataclass
class ErrorCounts:
    """Edit-distance totals over a set of utterances."""

    ins: int = 0
    dels: int = 0
    sub: int = 0
    ref: int = 0
    utts: int = 0
    missing: int = 0

    @property
    def errors(self) -> int:
        """S + D + I."""
        return self.ins + self.dels + self.sub

    @property
    def per(self) -> float:
        """Error rate in percent (0 for an empty reference)."""
        return 100.0 * self.errors / self.ref if self.ref else 0.0

    def kaldi_line(self, name: str = "PER") -> str:
        """``%PER 18.52 [ 1336 / 7215, 161 ins, 425 del, 750 sub ]`` (Kaldi compute-wer style)."""
        return (
            f"%{name} {self.per:.2f} [ {self.errors} / {self.ref}, {self.ins} ins, "
            f"{self.dels} del, {self.sub} sub ]"
        )


def count_errors(
    refs: dict[str, list[str]], hyps: dict[str, list[str]], phone_map: PhoneMap | None = None
) -> ErrorCounts:
    """Totals of :func:`kaldialign.edit_distance` over ``refs`` (48-phone, folded to 39 if a map).

    An utterance without a hypothesis counts as all deletions (``missing`` says how many);
    hypotheses for unknown utterances are an error.
    """
    extra = sorted(set(hyps) - set(refs))
    if extra:
        raise ScoringError(f"hypotheses for utterances not in the reference: {extra[:10]}")
    c = ErrorCounts()
    for utt, ref in refs.items():
        hyp = hyps.get(utt)
        if hyp is None:
            c.missing += 1
            hyp = []
        if phone_map is not None:
            ref = phone_map.fold48(ref, where=f"reference {utt!r}")
            hyp = phone_map.fold48(hyp, where=f"hypothesis {utt!r}")
        e = kaldialign.edit_distance(ref, hyp)
        c.ins += int(e["ins"])
        c.dels += int(e["del"])
        c.sub += int(e["sub"])
        c.ref += len(ref)
        c.utts += 1
    return c


def read_text(path: str | os.PathLike) -> dict[str, list[str]]:
    """Kaldi ``text``: ``<utt> <tok> <tok> ...`` (an utterance may have no tokens)."""
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            toks = line.split()
            if not toks:
                continue
            if toks[0] in out:
                raise ScoringError(f"{path}:{n}: duplicate utterance {toks[0]!r}")
            out[toks[0]] = toks[1:]
    return out


def write_text(path: str | os.PathLike, table: dict[str, list[str]]) -> None:
    """Write a Kaldi ``text`` file (sorted keys) atomically."""
    write_text_atomic(
        path, "".join(f"{u} {' '.join(table[u])}".rstrip() + "\n" for u in sorted(table))
    )


def sweep_key(lmwt: int, wip: float, single_wip: bool) -> str:
    """File-name suffix of one sweep point: ``<lmwt>`` or ``<lmwt>_<wip>`` (Kaldi)."""
    return f"{lmwt}" if single_wip else f"{lmwt}_{wip:g}"


def score_sweep(
    refs: dict[str, list[str]],
    hyps: dict[tuple[int, float], dict[str, list[str]]],
    scoring_dir: str | os.PathLike,
    phone_map: PhoneMap | None = None,
) -> dict[tuple[int, float], ErrorCounts]:
    """Score every (LM weight, penalty) and write ``per_<key>.txt`` + ``hyp_<key>.txt``.

    Returns the counts per sweep point. ``scoring_dir/best_per`` names the best point.
    """
    d = Path(scoring_dir)
    d.mkdir(parents=True, exist_ok=True)
    single = len({w for _, w in hyps}) <= 1
    out: dict[tuple[int, float], ErrorCounts] = {}
    for key in sorted(hyps):
        lmwt, wip = key
        c = count_errors(refs, hyps[key], phone_map)
        out[key] = c
        k = sweep_key(lmwt, wip, single)
        write_text(d / f"hyp_{k}.txt", hyps[key])
        note = f" ({c.missing} utterance(s) without hypothesis)" if c.missing else ""
        write_text_atomic(d / f"per_{k}.txt", c.kaldi_line() + note + "\n")
    if out:
        best = min(out, key=lambda k: (out[k].per, k))
        write_text_atomic(
            d / "best_per",
            f"{out[best].kaldi_line()} {d / f'per_{sweep_key(best[0], best[1], single)}.txt'}\n",
        )
    return out


def summary(counts: dict[tuple[int, float], ErrorCounts]) -> dict:
    """JSON-able per-point results: ``{"<lmwt>_<wip>": {per, ins, del, sub, ref, ...}}``."""
    return {
        f"{lmwt}_{wip:g}": {
            "lmwt": lmwt,
            "wip": wip,
            "per": round(c.per, 4),
            "errors": c.errors,
            "ins": c.ins,
            "del": c.dels,
            "sub": c.sub,
            "ref": c.ref,
            "utts": c.utts,
            "missing": c.missing,
        }
        for (lmwt, wip), c in sorted(counts.items())
    }


def choose(dev: dict, test: dict) -> dict:
    """Pick the LM weight (and penalty) on dev, report test there and at its own best.

    ``dev``/``test`` are :func:`summary` dicts. Ties go to the smaller LM weight.
    """
    if not dev or not test:
        raise ScoringError("need dev and test scores to choose the LM weight")
    key = min(dev, key=lambda k: (dev[k]["per"], dev[k]["lmwt"], dev[k]["wip"]))
    if key not in test:
        raise ScoringError(f"test was not scored at the dev-chosen point {key}")
    tbest = min(test, key=lambda k: (test[k]["per"], test[k]["lmwt"], test[k]["wip"]))
    return {
        "dev": {
            "per": dev[key]["per"],
            "lmwt": dev[key]["lmwt"],
            "wip": dev[key]["wip"],
            "counts": dev[key],
        },
        "test": {
            "per": test[key]["per"],
            "lmwt": test[key]["lmwt"],
            "wip": test[key]["wip"],
            "counts": test[key],
            "per_best_lmwt": test[tbest]["per"],
            "best_lmwt": test[tbest]["lmwt"],
            "best_wip": test[tbest]["wip"],
        },
    }
