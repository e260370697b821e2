"""The ESPnet frontend follows AbsFrontend's contract (espnet itself is not needed)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch

from pase.extract import load_encoder
from pase.integrations.espnet import PaseFrontend, register


def _batch(lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n)
    return x, torch.tensor(lengths)


def test_output_size_and_shapes(tiny_cfg) -> None:
    fe = PaseFrontend(fe_cfg=tiny_cfg, seed=3)
    assert fe.output_size() == 16
    x, lens = _batch([3200, 2000])
    feats, flens = fe(x, lens)
    assert feats.shape == (2, 20, 16)
    assert flens.tolist() == [20, 12]
    assert flens.dtype == torch.long
    assert torch.all(feats[1, 12:] == 0)


def test_frozen_default_matches_encoder_alone(tiny_cfg) -> None:
    fe = PaseFrontend(fe_cfg=tiny_cfg, seed=3)
    fe.train()  # the ASR model's train() must not put a frozen encoder in train mode
    assert not fe.features.encoder.training
    assert all(not p.requires_grad for p in fe.parameters())
    x, lens = _batch([3200, 2000])
    feats, _ = fe(x, lens)
    ref = load_encoder(tiny_cfg, None, "cpu", seed=3)(x[1:, None, :2000])
    torch.testing.assert_close(feats[1, :12], ref[0].T, rtol=1e-4, atol=1e-5)


def test_trainable_gets_gradients(tiny_cfg) -> None:
    fe = PaseFrontend(fe_cfg=tiny_cfg, seed=3, finetune=True)
    fe.train()
    assert fe.features.encoder.training
    feats, _ = fe(*_batch([3200, 2000]))
    feats.pow(2).mean().backward()
    grads = [p.grad for p in fe.features.encoder.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_layer_selection(tiny_cfg) -> None:
    x, lens = _batch([2400])
    out = PaseFrontend(fe_cfg=tiny_cfg, seed=3)(x, lens)[0]
    last = PaseFrontend(fe_cfg=tiny_cfg, seed=3, layer="-1")(x, lens)[0]
    first = PaseFrontend(fe_cfg=tiny_cfg, seed=3, layer=0)(x, lens)[0]
    torch.testing.assert_close(out, last)
    assert not torch.allclose(out, first)
    weighted = PaseFrontend(fe_cfg=tiny_cfg, seed=3, layer="weighted")
    trainable = [n for n, p in weighted.named_parameters() if p.requires_grad]
    assert trainable == ["features.weighted.weights"]
    feats, _ = weighted(x, lens)
    feats.sum().backward()
    assert weighted.features.weighted.weights.grad.abs().sum() > 0


def test_bad_options(tiny_cfg) -> None:
    with pytest.raises(ValueError, match="16000 Hz"):
        PaseFrontend(fe_cfg=tiny_cfg, fs="8k")
    PaseFrontend(fe_cfg=tiny_cfg, fs="16k")
    with pytest.raises(ValueError, match="layer"):
        PaseFrontend(fe_cfg=tiny_cfg, layer="middle")
    with pytest.raises(ValueError, match="out of range"):
        PaseFrontend(fe_cfg=tiny_cfg, layer=9)
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        PaseFrontend(fe_cfg=tiny_cfg)(torch.zeros(1, 1, 3200), torch.tensor([3200]))


def test_base_class_without_espnet() -> None:
    code = "\n".join(
        [
            "import sys, torch",
            "sys.modules['espnet2'] = None  # import espnet2 -> ImportError",
            "import pase.integrations.espnet as m",
            "assert m.PaseFrontend.__bases__ == (torch.nn.Module,), m.PaseFrontend.__bases__",
            "try:",
            "    m.register()",
            "except ImportError as e:",
            "    print(e)",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip install espnet" in out.stdout


def test_register_needs_espnet_or_adds_the_choice() -> None:
    try:
        from espnet2.tasks.asr import frontend_choices
    except ImportError:
        with pytest.raises(ImportError, match="pip install espnet"):
            register()
        return
    register("pase")
    assert frontend_choices.get_class("pase") is PaseFrontend


def test_register_adds_to_the_tasks_frontend_choices(monkeypatch) -> None:
    """Against a stand-in ``espnet2.tasks.asr`` whose ``frontend_choices.classes`` is the dict
    ESPnet's ``ClassChoices`` looks names up in (lower-cased)."""
    choices = types.SimpleNamespace(classes={"default": object})
    asr = types.ModuleType("espnet2.tasks.asr")
    asr.frontend_choices = choices
    for name, module in [
        ("espnet2", types.ModuleType("espnet2")),
        ("espnet2.tasks", types.ModuleType("espnet2.tasks")),
        ("espnet2.tasks.asr", asr),
    ]:
        monkeypatch.setitem(sys.modules, name, module)
    register("PASE")
    assert choices.classes == {"default": object, "pase": PaseFrontend}
