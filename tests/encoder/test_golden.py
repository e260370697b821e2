"""Drop-in compatibility with the original PASE/PASE+: state_dict layout and outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pase.models.frontend import wf_builder
from tests.encoder.golden import golden_outputs, golden_state_dict, reference_keys

PARAMS = {"PASE": 5_818_020, "PASE+": 7_832_896}


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_state_dict_keys_shapes_and_order_match_original(name: str) -> None:
    model = wf_builder(name)
    ours = [
        (k, list(v.shape), str(v.dtype).replace("torch.", ""))
        for k, v in model.state_dict().items()
    ]
    assert ours == [(k, list(shape), dtype) for k, shape, dtype in reference_keys(name)]
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == PARAMS[name]


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_config_file_equals_builtin(name: str) -> None:
    from pase.models.frontend import BUILTIN_CONFIGS

    a = wf_builder(name)
    b = wf_builder(str(BUILTIN_CONFIGS[name]))
    assert a.config == b.config


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
@pytest.mark.parametrize("inp", ["a", "b"])
def test_eval_outputs_match_original(name: str, inp: str) -> None:
    gold = golden_outputs()
    model = wf_builder(name)
    model.load_state_dict(golden_state_dict(name))
    model.eval()
    x = torch.from_numpy(gold[f"input_{inp}"]).view(1, 1, -1)
    with torch.no_grad():
        y = model(x).numpy()
    ref = gold[f"{name}_eval_{inp}"]
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["PASE", "PASE+"])
def test_train_mode_outputs_match_original(name: str) -> None:
    gold = golden_outputs()
    model = wf_builder(name)
    model.load_state_dict(golden_state_dict(name))
    model.train()
    x = torch.from_numpy(gold["input_a"]).view(2, 1, -1)
    y = model(x).detach().numpy()
    np.testing.assert_allclose(y, gold[f"{name}_train_ab"], atol=1e-4, rtol=0)


def test_readme_example_shape() -> None:
    model = wf_builder("PASE+").eval()
    with torch.no_grad():
        y = model(torch.randn(1, 1, 100000))
    assert y.shape == (1, 256, 625)
