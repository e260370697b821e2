"""Monophone HMM structure: topology, context-dependency tree and transition model.

Wraps kaldi-hmm-gmm's ``ContextDependency`` and ``TransitionModel`` for a monophone system
built from a :class:`~pase.asr.lang.Lang`, with the index maps the rest of ``pase.asr`` needs
(transition-id -> pdf / phone / HMM state) as numpy arrays, and persistence without pickle:
``hmm.npz`` holds the tree in Kaldi's binary ``ContextDependency`` serialisation and the
transition log-probabilities; the structure itself is rebuilt from the lang.

Kaldi conventions: transition ids (tids) are 1-based; every frame of an alignment is the tid of
the transition taken from that frame's HMM state (self-loop or forward); pdf ids are 0-based.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pase.asr.kaldi_wheels import khg
from pase.asr.lang import Lang
from pase.io.atomic import atomic_open


class HmmError(ValueError):
    """Inconsistent HMM input: an alignment that does not fit the model, a bad model file."""


def split_to_phones(
    phone: np.ndarray, tstate: np.ndarray, self_loop: np.ndarray, final: np.ndarray
) -> list[tuple[int, int]]:
    """Kaldi ``SplitToPhones`` on per-frame transition facts -> ``[(phone, num_frames)]``.

    Args (all (T,)): phone of each frame's transition id, its transition state, whether it is a
    self-loop, whether it enters the phone's final state.

    A phone ends with the transition into its final HMM state. In a reordered alignment (Kaldi
    graphs' default: each state visit is its exit transition followed by its self-loops) the
    self-loops after that exit still belong to the phone; otherwise the exit is its last frame.
    Reordering is detected as Kaldi ``IsReordered`` does: at a change of transition state a
    reordered alignment starts the new state with a non-self-loop.
    """
    reordered = False
    for t in range(len(phone) - 1):
        if tstate[t] != tstate[t + 1]:
            if self_loop[t + 1]:
                break
            if self_loop[t]:
                reordered = True
                break
    segs: list[tuple[int, int]] = []
    done = True  # the previous phone has taken its final transition
    for t in range(len(phone)):
        new = t == 0 or (done and not (reordered and self_loop[t]))
        if new:
            segs.append((int(phone[t]), 1))
            done = False
        else:
            segs[-1] = (segs[-1][0], segs[-1][1] + 1)
        done = done or bool(final[t])
    return segs


class HmmModel:
    """A monophone HMM (tree + transition model) for the phones of ``lang``.

    Attributes:
        lang: the phone inventory and topology shape.
        topo: ``khg.HmmTopology``; tree: ``khg.ContextDependency``; tm: ``khg.TransitionModel``.
        tid2pdf, tid2phone, tid2state: int arrays of length ``num_tids + 1`` (index 0 unused).
        tid_is_self_loop: bool array of the same length.
    """

    def __init__(self, lang: Lang, log_probs: np.ndarray | None = None) -> None:
        self.lang = lang
        self.topo = lang.topology()
        self.tree = khg.monophone_context_dependency(
            phones=self.topo.phones,
            phone2num_pdf_classes=self.topo.get_phone_to_num_pdf_classes(),
        )
        self.tm = khg.TransitionModel(ctx_dep=self.tree, hmm_topo=self.topo)
        if log_probs is not None:
            self.set_log_probs(log_probs)
        self._build_maps()

    # ---- structure ----------------------------------------------------------------------
    def _build_maps(self) -> None:
        tm = self.tm
        n = tm.num_transition_ids
        self.tid2pdf = np.asarray(tm.transition_id_to_pdf_array(), dtype=np.int64)
        if self.tid2pdf.shape[0] == n:  # some builds omit the unused index 0
            self.tid2pdf = np.concatenate([[-1], self.tid2pdf])
        state2id = np.asarray(tm.state2id, dtype=np.int64)
        self.tid2phone = np.zeros(n + 1, dtype=np.int64)
        self.tid2state = np.zeros(n + 1, dtype=np.int64)
        self.tid_is_self_loop = np.zeros(n + 1, dtype=bool)
        self.tid_is_final = np.zeros(n + 1, dtype=bool)  # forward arc into the final state
        self.tid2tstate = np.zeros(n + 1, dtype=np.int64)
        # Monophone tuples are sorted by (phone, hmm_state): enumerate them in that order.
        self._tstate: dict[tuple[int, int], int] = {}
        ts = 1
        for phone in self.topo.phones:
            entry = self.topo.topology_for_phone(phone)
            for hmm_state in range(len(entry) - 1):
                self._tstate[(phone, hmm_state)] = ts
                ts += 1
        for (phone, hmm_state), t in self._tstate.items():
            for tid in range(int(state2id[t]), int(state2id[t + 1])):
                self.tid2phone[tid] = phone
                self.tid2state[tid] = hmm_state
                self.tid_is_self_loop[tid] = bool(tm.is_self_loop(tid))
                self.tid2tstate[tid] = t
                entry = self.topo.topology_for_phone(phone)
                dest = entry[hmm_state].transitions[tid - int(state2id[t])][0]
                self.tid_is_final[tid] = dest == len(entry) - 1
        if ts != len(state2id) - 1 or not np.array_equal(
            self.tid2phone[1:], [tm.transition_id_to_phone(t) for t in range(1, n + 1)]
        ):
            raise HmmError("unexpected transition-model layout (not a monophone system?)")
        # pdf -> (phone, hmm_state)
        self.pdf2phone = np.zeros(self.num_pdfs, dtype=np.int64)
        self.pdf2state = np.zeros(self.num_pdfs, dtype=np.int64)
        for tid in range(1, n + 1):
            self.pdf2phone[self.tid2pdf[tid]] = self.tid2phone[tid]
            self.pdf2state[self.tid2pdf[tid]] = self.tid2state[tid]

    @property
    def num_pdfs(self) -> int:
        """Number of pdfs (acoustic-model output classes)."""
        return int(self.tm.num_pdfs)

    @property
    def num_tids(self) -> int:
        """Number of transition ids."""
        return int(self.tm.num_transition_ids)

    def num_emitting_states(self, phone: int) -> int:
        """HMM states of ``phone`` (id) that emit frames."""
        return len(self.topo.topology_for_phone(phone)) - 1

    def tid_for(self, phone: int, hmm_state: int, dest: int) -> int:
        """Transition id of the arc ``hmm_state -> dest`` of ``phone`` (ids as in phones.txt)."""
        t = self._tstate[(phone, hmm_state)]
        entry = self.topo.topology_for_phone(phone)
        dests = [d for d, _ in entry[hmm_state].transitions]
        if dest not in dests:
            raise HmmError(f"phone {phone}: no transition {hmm_state} -> {dest} in the topology")
        return int(self.tm.state2id[t]) + dests.index(dest)

    def pdf_of(self, phone: int, hmm_state: int) -> int:
        """pdf id of state ``hmm_state`` of ``phone``."""
        return int(self.tid2pdf[self.tid_for(phone, hmm_state, hmm_state + 1)])

    # ---- alignments ---------------------------------------------------------------------
    def tids_to_pdfs(self, tids: np.ndarray, utt: str = "") -> np.ndarray:
        """(T,) transition ids -> (T,) pdf ids (int32)."""
        tids = np.asarray(tids, dtype=np.int64)
        if tids.size and (tids.min() < 1 or tids.max() > self.num_tids):
            raise HmmError(
                f"alignment {utt!r}: transition ids outside 1..{self.num_tids} "
                f"(min {tids.min()}, max {tids.max()}): made with another model?"
            )
        return self.tid2pdf[tids].astype(np.int32)

    def tids_to_phones(self, tids: np.ndarray) -> list[tuple[int, int]]:
        """(T,) transition ids -> phone segments ``[(phone_id, num_frames), ...]``."""
        tids = np.asarray(tids, dtype=np.int64)
        return split_to_phones(
            self.tid2phone[tids],
            self.tid2tstate[tids],
            self.tid_is_self_loop[tids],
            self.tid_is_final[tids],
        )

    def states_to_tids(self, phone_ids: list[int], states: np.ndarray) -> np.ndarray:
        """Frame-level (phone instance index, hmm_state) -> a reordered tid alignment.

        Args:
            phone_ids: phone id of each phone instance in the utterance.
            states: (T, 2) int array: instance index and HMM state of every frame, in order.

        Returns:
            (T,) int32 tids in Kaldi's reordered convention (what alignment with its graphs
            gives): each run of frames in one state starts with the state's exit transition
            (to the next run's state, or to the final state at the end of the phone) followed
            by self-loops. Raises HmmError for a transition the topology lacks.
        """
        states = np.asarray(states, dtype=np.int64)
        T = states.shape[0]
        out = np.empty(T, dtype=np.int32)
        t = 0
        while t < T:
            inst, s = int(states[t, 0]), int(states[t, 1])
            e = t + 1
            while e < T and states[e, 0] == inst and states[e, 1] == s:
                e += 1
            phone = phone_ids[inst]
            if e == T or int(states[e, 0]) != inst:
                dest = self.num_emitting_states(phone)
            else:
                dest = int(states[e, 1])
            out[t] = self.tid_for(phone, s, dest)
            if e - t > 1:
                out[t + 1 : e] = self.tid_for(phone, s, s)
            t = e
        return out

    # ---- transition probabilities --------------------------------------------------------
    def transition_stats(self, alignments: dict[str, np.ndarray]) -> np.ndarray:
        """Counts of every transition id over ``alignments`` (Kaldi's transition accumulator)."""
        stats = np.zeros(self.num_tids + 1, dtype=np.float64)
        for utt, tids in alignments.items():
            tids = np.asarray(tids, dtype=np.int64)
            if tids.size and (tids.min() < 1 or tids.max() > self.num_tids):
                raise HmmError(f"alignment {utt!r}: transition ids out of range")
            stats += np.bincount(tids, minlength=self.num_tids + 1)
        return stats

    def update_transitions(self, stats: np.ndarray) -> tuple[float, float]:
        """ML re-estimation of the transition probabilities (Kaldi ``MleUpdate``).

        Returns ``(objf_impr, count)``.
        """
        cfg = khg.MleTransitionUpdateConfig()
        col = np.ascontiguousarray(np.asarray(stats, dtype=np.float64).reshape(-1, 1))
        out = self.tm.mle_update(col, cfg)
        return float(out[0]), float(out[1])

    @property
    def log_probs(self) -> np.ndarray:
        """Transition log-probabilities indexed by tid (index 0 unused)."""
        return np.asarray(self.tm.log_probs, dtype=np.float64)

    def set_log_probs(self, log_probs: np.ndarray) -> None:
        """Replace the transition log-probabilities (e.g. from a saved model)."""
        state = list(self.tm.__getstate__())
        old = np.asarray(state[6], dtype=np.float64)
        log_probs = np.asarray(log_probs, dtype=np.float64)
        if log_probs.shape != old.shape:
            raise HmmError(
                f"transition log-probs have shape {log_probs.shape}, the model needs {old.shape}"
            )
        state[6] = log_probs.tolist()
        # non-self-loop log-probs per transition state: log(1 - p(self-loop)), 0 if none
        nsl = [0.0]
        state2id = state[2]
        for ts in range(1, len(state2id) - 1):
            p_loop = 0.0
            for tid in range(state2id[ts], state2id[ts + 1]):
                if self.tm.is_self_loop(tid):
                    p_loop = float(np.exp(log_probs[tid]))
            nsl.append(float(np.log(max(1.0 - p_loop, 1e-30))) if p_loop > 0 else 0.0)
        state[7] = nsl
        tm = khg.TransitionModel.__new__(khg.TransitionModel)
        tm.__setstate__(tuple(state))
        self.tm = tm

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write ``hmm.npz`` (tree in Kaldi binary form, transition log-probs) atomically."""
        tree_bytes = np.asarray(self.tree.__getstate__()[0], dtype=np.int64).astype(np.uint8)
        with atomic_open(path, "wb") as f:
            np.savez(f, tree=tree_bytes, log_probs=self.log_probs)

    @classmethod
    def load(cls, lang: Lang, path: str | os.PathLike) -> HmmModel:
        """Rebuild from ``lang`` and a file written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                log_probs = z["log_probs"]
                tree = z["tree"]
        except (OSError, KeyError, ValueError) as e:
            raise HmmError(f"{path}: not an HMM file written by pase ({e})") from e
        model = cls(lang)
        mine = np.asarray(model.tree.__getstate__()[0], dtype=np.int64).astype(np.uint8)
        if not np.array_equal(mine, tree):
            raise HmmError(f"{path}: its tree does not match the lang (other phone set?)")
        model.set_log_probs(log_probs)
        return model
