"""One probe experiment end to end (what ``pase-probe`` runs): read the three splits, build
the model (frozen features from ``feats.scp``, or the encoder on the audio, frozen or
fine-tuned), train on train, pick the epoch on dev, score test, write the results.

Outputs in ``out_dir``: ``results.json`` (accuracy with its 95 % interval on dev and test, the
settings, per-epoch history and seconds), ``confusion.tsv`` (test; rows true, columns
predicted), ``confusion.png`` (when matplotlib is installed), ``predictions.txt`` (utterance
task: ``<utt> <predicted> <true>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pase.downstream.data import (
    Labels,
    ProbeDataError,
    ProbeSet,
    read_frame_labels,
    read_utt_labels,
)
from pase.downstream.featurizer import EncoderFeatures
from pase.downstream.metrics import plot_confusion, unweighted_accuracy
from pase.downstream.train import ProbeConfig, build_probe, evaluate, feature_norm, train_probe
from pase.io.atomic import write_json_atomic, write_text_atomic
from pase.io.datadir import read_kv

INPUTS = ("feats", "wav")


@dataclass
class ProbeExperiment:
    """Where the data are and what to probe.

    ``train``, ``dev``, ``test`` are Kaldi data dirs (``inputs="wav"``) or dump dirs holding
    ``feats.scp`` (``inputs="feats"``); each holds the label file ``labels`` (utterance task:
    ``<utt> <label>``, e.g. ``utt2spk``; frame task: ``<utt> <label per frame> ...``).
    """

    train: Path
    dev: Path
    test: Path
    out_dir: Path
    labels: str = "utt2spk"
    inputs: str = "feats"
    fe_cfg: str = "PASE+"
    ckpt: str | None = None
    layer: str | int = "output"
    finetune: bool = False
    freeze_bn: bool = False
    channel: int | str | None = None
    config: ProbeConfig = field(default_factory=ProbeConfig)

    def check(self) -> None:
        self.config.check()
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {self.inputs!r}")
        if self.inputs == "feats" and self.finetune:
            raise ValueError("fine-tuning needs the audio: use wav inputs")
        for name in ("train", "dev", "test"):
            d = Path(getattr(self, name))
            if not d.is_dir():
                raise ProbeDataError(f"{name} split {d}: no such folder")
            if not (d / self.labels).is_file():
                raise ProbeDataError(f"{name} split {d}: no label file {self.labels}")
            need = "feats.scp" if self.inputs == "feats" else "wav.scp"
            if not (d / need).is_file():
                raise ProbeDataError(f"{name} split {d}: no {need} (inputs={self.inputs})")


def _labels(path: Path, task: str) -> dict:
    return read_utt_labels(path) if task == "utt" else read_frame_labels(path)


def load_splits(
    exp: ProbeExperiment, log: Callable[[str], None] = print
) -> tuple[ProbeSet, ProbeSet, ProbeSet]:
    """The three splits, labelled with the training split's classes. Utterance task: every
    utterance needs a label; frame task: utterances without frame labels (e.g. failed
    alignments) are left out and counted."""
    task = exp.config.task
    tables = {
        s: _labels(Path(getattr(exp, s)) / exp.labels, task) for s in ("train", "dev", "test")
    }
    values = tables["train"].values()
    label_set = Labels.of(list(values) if task == "utt" else [v for vs in values for v in vs])
    out = []
    for split, table in tables.items():
        d = Path(getattr(exp, split))
        key = "feats_scp" if exp.inputs == "feats" else "data_dir"
        where = d / "feats.scp" if exp.inputs == "feats" else d
        utts = list(read_kv(d / "feats.scp")) if exp.inputs == "feats" else list(table)
        if task == "frame":
            missing = [u for u in utts if u not in table]
            if missing:
                log(f"{split}: {len(missing)} utterance(s) without frame labels left out")
            utts = [u for u in utts if u in table]
        out.append(
            ProbeSet(
                utts,
                exp.inputs,
                table,
                label_set,
                channel=exp.channel,
                max_trim=exp.config.max_trim,
                **{key: where},
            )
        )
    return out[0], out[1], out[2]


def run_experiment(exp: ProbeExperiment, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, select, score and write the results (see the module docstring)."""
    exp.check()
    train, dev, test = load_splits(exp, log)
    log(f"{len(train)} / {len(dev)} / {len(test)} utterances, {len(train.label_set)} classes")
    front = None
    if exp.inputs == "wav":
        from pase.extract import load_encoder

        encoder = load_encoder(exp.fe_cfg, exp.ckpt, "cpu")
        front = EncoderFeatures(
            encoder, layer=exp.layer, finetune=exp.finetune, freeze_bn=exp.freeze_bn
        )
        in_dim = front.dim
    else:
        in_dim = train.examples[0].x.shape[1]
    model = build_probe(exp.config, in_dim, len(train.label_set), front)
    if exp.inputs == "feats":
        model.mean, model.std = feature_norm(train)
    res = train_probe(model, train, dev, exp.config, log=log)
    scores = {
        name: evaluate(model, data, exp.config) for name, data in (("dev", dev), ("test", test))
    }
    out = Path(exp.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = train.label_set.names
    cm = scores["test"]["confusion"]
    rows = ["true\\pred\t" + "\t".join(names)]
    rows += [f"{n}\t" + "\t".join(map(str, r)) for n, r in zip(names, cm.tolist())]
    write_text_atomic(out / "confusion.tsv", "\n".join(rows) + "\n")
    plotted = plot_confusion(cm, names, out / "confusion.png", title=f"{exp.config.task} probe")
    if exp.config.task == "utt":
        true = {e.utt: names[int(e.y)] for e in test.examples}
        lines = [f"{u} {p} {true[u]}\n" for u, p in sorted(scores["test"]["predictions"].items())]
        write_text_atomic(out / "predictions.txt", "".join(lines))
    epochs = res.history
    results = {
        "task": exp.config.task,
        "inputs": exp.inputs,
        "encoder": None if front is None else {
            "fe_cfg": exp.fe_cfg, "ckpt": exp.ckpt, "layer": exp.layer,
            "finetune": exp.finetune, "freeze_bn": exp.freeze_bn,
        },
        "splits": {"train": str(exp.train), "dev": str(exp.dev), "test": str(exp.test)},
        "labels": exp.labels,
        "num_classes": len(names),
        "num_utterances": {"train": len(train), "dev": len(dev), "test": len(test)},
        "config": asdict(exp.config),
        "best_epoch": res.best_epoch,
        "dev": {**scores["dev"]["accuracy"].to_dict(),
                "unweighted_accuracy": unweighted_accuracy(scores["dev"]["confusion"])},
        "test": {**scores["test"]["accuracy"].to_dict(),
                 "unweighted_accuracy": unweighted_accuracy(cm)},
        "seconds_per_epoch": sum(e["train_seconds"] for e in epochs) / max(len(epochs), 1),
        "history": epochs,
        "confusion_plot": "confusion.png" if plotted else None,
    }  # fmt: skip
    if front is not None and front.weighted is not None:
        results["layer_weights"] = front.weighted.layer_weights.tolist()
    write_json_atomic(out / "results.json", results)
    t = results["test"]
    log(f"test accuracy {t['accuracy']:.4f} (95 % CI {t['ci95'][0]:.4f}-{t['ci95'][1]:.4f}, "
        f"{t['correct']}/{t['total']}); {out}/results.json")  # fmt: skip
    return results
