"""Loading original and our checkpoints; unsafe pickles are refused."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from pase.models.checkpoint import CheckpointError
from pase.models.frontend import WaveFe, wf_builder
from tests.encoder.golden import golden_state_dict


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.fixture
def golden_ckpt(tmp_path: Path) -> Path:
    """A raw state_dict file shaped like the published FE_e199.ckpt."""
    path = tmp_path / "FE_e199.ckpt"
    torch.save(golden_state_dict("PASE+"), path)
    return path


def test_raw_state_dict_loads_with_load_last(golden_ckpt: Path, capsys) -> None:
    model = wf_builder("PASE+").eval()
    model.load_pretrained(golden_ckpt, load_last=True, verbose=True)
    ref = golden_state_dict("PASE+")
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k
    assert "78 tensors match" in capsys.readouterr().out


def test_saver_format_and_prefixes(tmp_path: Path) -> None:
    ref = golden_state_dict("PASE")
    for i, prefix in enumerate(["", "module.", "frontend.", "module.frontend."]):
        path = tmp_path / f"c{i}.ckpt"
        sd = OrderedDict((prefix + k, v) for k, v in ref.items())
        sd["minions.0.W.weight"] = torch.zeros(3)  # a worker in a full-model checkpoint
        torch.save({"step": 10, "state_dict": sd, "optimizer": {"lr": 1e-3}}, path)
        model = wf_builder("PASE").load_pretrained(path, load_last=True, verbose=False)
        assert torch.equal(model.W.weight, ref["W.weight"])


def test_load_last_false_keeps_final_layer(golden_ckpt: Path) -> None:
    model = wf_builder("PASE+")
    before = model.norm_out.num_batches_tracked.clone()
    model.load_pretrained(golden_ckpt, load_last=False, verbose=False)
    # the checkpoint's last two entries (norm_out.running_var, num_batches_tracked) are skipped
    assert torch.equal(model.norm_out.num_batches_tracked, before)
    assert torch.equal(model.norm_out.running_var, torch.ones(256))
    assert torch.equal(model.W.weight, golden_state_dict("PASE+")["W.weight"])


def test_missing_and_mismatched_keys_are_named(tmp_path: Path) -> None:
    sd = golden_state_dict("PASE+")
    del sd["W.bias"]
    sd["blocks.3.conv.weight"] = torch.zeros(1, 2, 3)
    path = tmp_path / "bad.ckpt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as err:
        wf_builder("PASE+").load_pretrained(path, load_last=True)
    msg = str(err.value)
    assert "W.bias" in msg and "blocks.3.conv.weight" in msg and "[1, 2, 3]" in msg


def test_pase_checkpoint_does_not_fit_pase_plus(tmp_path: Path) -> None:
    path = tmp_path / "pase.ckpt"
    torch.save(golden_state_dict("PASE"), path)
    with pytest.raises(CheckpointError, match=r"denseskips\.0\.weight"):
        wf_builder("PASE+").load_pretrained(path, load_last=True)


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch", "pickle"])
def test_malicious_pickle_is_refused(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    payload = {"state_dict": golden_state_dict("PASE"), "extra": _Payload(str(marker))}
    if how == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="refused to load"):
        wf_builder("PASE").load_pretrained(path, load_last=True)
    assert not marker.exists()


def test_missing_file_and_garbage(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        wf_builder("PASE").load_pretrained(tmp_path / "nope.ckpt")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(CheckpointError):
        wf_builder("PASE").load_pretrained(garbage)


def test_save_and_from_pretrained_round_trip(tmp_path: Path) -> None:
    model = wf_builder({**wf_builder("PASE").config, "emb_dim": 64})
    path = tmp_path / "ours.pt"
    model.save(path, step=5)
    back = WaveFe.from_pretrained(path)
    assert back.emb_dim == 64 and not back.training
    assert _same(model, back)
    # our format also loads through the original API
    assert _same(
        wf_builder(model.config).load_pretrained(path, load_last=True, verbose=False), model
    )
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file
