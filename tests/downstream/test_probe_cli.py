"""pase-probe end to end on small dump dirs: results.json, confusion matrix, predictions;
bad inputs are one-line errors naming the split or utterance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pase.bin.probe import main
from tests.downstream.test_probe import _feats_table


def _split(d: Path, n: int, seed: int) -> Path:
    d.mkdir(parents=True)
    _, labels, frames = _feats_table(d, n, 3, seed)
    (d / "utt2spk").write_text("".join(f"{u} {v}\n" for u, v in sorted(labels.items())))
    (d / "phones.ali").write_text("".join(f"{u} {' '.join(v)}\n" for u, v in frames.items()))
    return d


@pytest.fixture
def splits(tmp_path: Path) -> list[str]:
    return [
        "--train", str(_split(tmp_path / "train", 45, 1)),
        "--dev", str(_split(tmp_path / "dev", 12, 2)),
        "--test", str(_split(tmp_path / "test", 12, 3)),
    ]  # fmt: skip


def test_utterance_probe(tmp_path: Path, splits: list[str]) -> None:
    out = tmp_path / "exp"
    argv = [*splits, "--out-dir", str(out), "--epochs", "25", "--lr", "0.03", "--batch-size", "8"]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "utt" and res["num_classes"] == 3
    assert res["num_utterances"] == {"train": 45, "dev": 12, "test": 12}
    assert res["test"]["accuracy"] >= 0.9 and res["test"]["total"] == 12
    lo, hi = res["test"]["ci95"]
    assert lo <= res["test"]["accuracy"] <= hi
    assert len(res["history"]) >= res["best_epoch"] >= 1 and res["seconds_per_epoch"] > 0
    rows = (out / "confusion.tsv").read_text().splitlines()
    assert rows[0].split("\t")[1:] == ["class0", "class1", "class2"]
    assert sum(int(v) for r in rows[1:] for v in r.split("\t")[1:]) == 12
    preds = (out / "predictions.txt").read_text().splitlines()
    assert len(preds) == 12 and all(len(p.split()) == 3 for p in preds)


def test_frame_probe(tmp_path: Path, splits: list[str]) -> None:
    out = tmp_path / "exp"
    argv = [*splits, "--task", "frame", "--labels", "phones.ali", "--out-dir", str(out),
            "--epochs", "5", "--lr", "0.03"]  # fmt: skip
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["task"] == "frame" and res["num_classes"] == 2
    assert res["test"]["accuracy"] >= 0.9 and res["test"]["total"] > 12 * 19


def test_bad_inputs_are_named(tmp_path: Path, splits: list[str], capsys) -> None:
    out = ["--out-dir", str(tmp_path / "x")]
    assert main([*splits, "--labels", "utt2emo", *out]) == 1
    assert "no label file utt2emo" in capsys.readouterr().err
    test_dir = Path(splits[5])
    (test_dir / "utt2spk").write_text(
        (test_dir / "utt2spk").read_text().replace("class1", "class9", 1)
    )
    assert main([*splits, *out, "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "label 'class9' is not one of the training labels" in err and "utterance" in err
    assert main([*splits, *out, "--finetune"]) == 1
    assert "fine-tuning needs the audio" in capsys.readouterr().err


def test_summary_table_pools_runs(tmp_path: Path, splits: list[str]) -> None:
    from pase.bin.summarize_probes import main as summarize

    for name in ("a", "b"):
        assert main([*splits, "--out-dir", str(tmp_path / name), "--epochs", "2"]) == 0
    table = tmp_path / "RESULTS.md"
    assert summarize([f"one={tmp_path / 'a'}", f"both={tmp_path / 'a'},{tmp_path / 'b'}",
                      "--out", str(table)]) == 0  # fmt: skip
    lines = table.read_text().splitlines()
    assert lines[0].startswith("| system | test acc") and len(lines) == 4
    assert lines[2].startswith("| one |") and lines[3].startswith("| both (2 runs) |")
    ra = json.loads((tmp_path / "a" / "results.json").read_text())
    rb = json.loads((tmp_path / "b" / "results.json").read_text())
    pooled = 100 * (ra["test"]["correct"] + rb["test"]["correct"]) / 24
    assert f"| {pooled:.1f} |" in lines[3]
    assert "unweighted_accuracy" in ra["test"]
    assert summarize([str(tmp_path / "nothing")]) == 1
