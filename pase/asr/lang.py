"""The "lang" of a phone recogniser: phone/word symbol tables, HMM topology, lexicon FST.

For phone recognition the words *are* the phones (Kaldi's TIMIT recipe does the same): the
lexicon L maps each phone to the word of the same name, with no optional silence. Symbol ids
follow Kaldi's ``prepare_lang.sh``: ``<eps>`` 0, phones 1..N in the given order, the
disambiguation symbol ``#0`` N+1; ``words.txt`` adds ``<s>`` N+2 and ``</s>`` N+3.

A lang dir written by :meth:`Lang.save` holds ``phones.txt``, ``words.txt``, ``topo``
(Kaldi topology text) and ``lang.json`` (the data this class is rebuilt from).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pase.io.atomic import write_json_atomic, write_text_atomic

EPS = "<eps>"
DISAMBIG = "#0"
BOS = "<s>"
EOS = "</s>"


class LangError(ValueError):
    """An inconsistent phone set / lang directory (the message names the file or phone)."""


def _left_to_right(num_states: int) -> list[str]:
    """State lines of a Bakis topology: self-loop 0.75, forward 0.25 (Kaldi gen_topo.pl)."""
    lines = []
    for s in range(num_states):
        lines.append(
            f"<State> {s} <PdfClass> {s} <Transition> {s} 0.75 <Transition> {s + 1} 0.25 </State>"
        )
    lines.append(f"<State> {num_states} </State>")
    return lines


def _silence(num_states: int) -> list[str]:
    """Kaldi gen_topo.pl silence model: ergodic middle states, left-to-right ends."""
    if num_states == 1:
        return _left_to_right(1)
    p = 1.0 / (num_states - 1)
    lines = []
    trans = " ".join(f"<Transition> {n} {p:g}" for n in range(num_states - 1))
    lines.append(f"<State> 0 <PdfClass> 0 {trans} </State>")
    for s in range(1, num_states - 1):
        trans = " ".join(f"<Transition> {n} {p:g}" for n in range(1, num_states))
        lines.append(f"<State> {s} <PdfClass> {s} {trans} </State>")
    last = num_states - 1
    lines.append(
        f"<State> {last} <PdfClass> {last} <Transition> {last} 0.75 "
        f"<Transition> {num_states} 0.25 </State>"
    )
    lines.append(f"<State> {num_states} </State>")
    return lines


@dataclass
class Lang:
    """Phone inventory and HMM shape of a phone recogniser.

    Attributes:
        phones: recognition units in id order (ids 1..N), e.g. TIMIT's 48 phones.
        silence: which of ``phones`` are silence-like (they get ``num_sil_states`` states).
        num_states: HMM states of a non-silence phone (left-to-right, Kaldi ``gen_topo.pl``).
        num_sil_states: HMM states of a silence phone (1 = left-to-right; more = Kaldi's
            ergodic silence model).
    """

    phones: list[str]
    silence: list[str] = field(default_factory=lambda: ["sil"])
    num_states: int = 3
    num_sil_states: int = 3

    def __post_init__(self) -> None:
        if not self.phones:
            raise LangError("empty phone list")
        seen: set[str] = set()
        for p in self.phones:
            if not p or any(c.isspace() for c in p) or p in (EPS, DISAMBIG, BOS, EOS):
                raise LangError(f"invalid phone symbol {p!r}")
            if p in seen:
                raise LangError(f"duplicate phone {p!r}")
            seen.add(p)
        for s in self.silence:
            if s not in seen:
                raise LangError(f"silence phone {s!r} is not in the phone list")
        if self.num_states < 1 or self.num_sil_states < 1:
            raise LangError("num_states and num_sil_states must be >= 1")

    # ---- symbol tables ------------------------------------------------------------------
    @property
    def num_phones(self) -> int:
        """N, the number of real phones (``#0`` excluded)."""
        return len(self.phones)

    @property
    def phone_to_id(self) -> dict[str, int]:
        """Phone symbol -> integer id (1-based; 0 is epsilon)."""
        return {p: i + 1 for i, p in enumerate(self.phones)}

    @property
    def id_to_phone(self) -> dict[int, str]:
        """Integer id -> phone symbol."""
        return {i + 1: p for i, p in enumerate(self.phones)}

    @property
    def disambig_id(self) -> int:
        """Id of ``#0`` in both phones.txt and words.txt."""
        return self.num_phones + 1

    def phones_txt(self) -> str:
        """Kaldi ``phones.txt`` text."""
        rows = [f"{EPS} 0"] + [f"{p} {i}" for p, i in self.phone_to_id.items()]
        rows.append(f"{DISAMBIG} {self.disambig_id}")
        return "\n".join(rows) + "\n"

    def words_txt(self) -> str:
        """Kaldi ``words.txt`` text (words = phones, plus ``#0``, ``<s>``, ``</s>``)."""
        n = self.disambig_id
        return self.phones_txt() + f"{BOS} {n + 1}\n{EOS} {n + 2}\n"

    def encode(self, phones: list[str], where: str = "") -> list[int]:
        """Phone symbols -> ids; an unknown symbol raises LangError naming ``where``."""
        table = self.phone_to_id
        try:
            return [table[p] for p in phones]
        except KeyError as e:
            raise LangError(f"{where or 'transcript'}: unknown phone {e.args[0]!r}") from None

    def decode(self, ids: list[int]) -> list[str]:
        """Phone ids -> symbols (epsilon and ``#0`` dropped)."""
        table = self.id_to_phone
        return [table[i] for i in ids if i in table]

    # ---- HMM topology -------------------------------------------------------------------
    def topo_text(self) -> str:
        """Kaldi topology text: one entry for non-silence phones, one for silence phones."""
        ids = self.phone_to_id
        sil = [ids[p] for p in self.silence]
        nonsil = [ids[p] for p in self.phones if p not in self.silence]
        entries = []
        for members, states in ((nonsil, _left_to_right(self.num_states)), (sil, None)):
            if not members:
                continue
            if states is None:
                states = _silence(self.num_sil_states)
            entries.append(
                "<TopologyEntry>\n<ForPhones>\n"
                + " ".join(map(str, members))
                + "\n</ForPhones>\n"
                + "\n".join(states)
                + "\n</TopologyEntry>"
            )
        return "<Topology>\n" + "\n".join(entries) + "\n</Topology>\n"

    def topology(self):  # -> khg.HmmTopology
        """The :class:`kaldi_hmm_gmm.HmmTopology` of :meth:`topo_text`."""
        from pase.asr.kaldi_wheels import khg

        topo = khg.HmmTopology()
        topo.read(self.topo_text())
        return topo

    # ---- lexicon FST --------------------------------------------------------------------
    def lexicon_fst(self, disambig: bool = False):  # -> kaldifst.StdVectorFst
        """L: one state, a ``phone:word`` loop per phone, olabel-sorted.

        With ``disambig`` (L_disambig, used for HCLG) a ``#0:#0`` self-loop is added so that the
        backoff arcs of G survive composition and determinisation.
        """
        from pase.asr.kaldi_wheels import kaldifst

        fst = kaldifst.StdVectorFst()
        s = fst.add_state()
        fst.start = s
        fst.set_final(s, 0.0)
        for i in range(1, self.num_phones + 1):
            fst.add_arc(s, kaldifst.StdArc(i, i, 0.0, s))
        if disambig:
            d = self.disambig_id
            fst.add_arc(s, kaldifst.StdArc(d, d, 0.0, s))
        kaldifst.arcsort(fst, sort_type="olabel")
        return fst

    # ---- persistence --------------------------------------------------------------------
    def save(self, lang_dir: str | os.PathLike) -> None:
        """Write ``phones.txt``, ``words.txt``, ``topo`` and ``lang.json`` (atomically)."""
        d = Path(lang_dir)
        d.mkdir(parents=True, exist_ok=True)
        write_text_atomic(d / "phones.txt", self.phones_txt())
        write_text_atomic(d / "words.txt", self.words_txt())
        write_text_atomic(d / "topo", self.topo_text())
        write_json_atomic(d / "lang.json", asdict(self))

    @classmethod
    def load(cls, lang_dir: str | os.PathLike) -> Lang:
        """Read a lang dir written by :meth:`save`."""
        path = Path(lang_dir) / "lang.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise LangError(f"{path}: missing (not a lang dir written by pase)") from None
        except (json.JSONDecodeError, TypeError) as e:
            raise LangError(f"{path}: malformed lang description ({e})") from e


def read_symbol_table(path: str | os.PathLike) -> dict[str, int]:
    """Read a Kaldi symbol table (``<sym> <id>`` per line)."""
    out: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise LangError(f"{path}:{n}: expected '<symbol> <id>', got {line.strip()!r}")
            out[parts[0]] = int(parts[1])
    return out
