"""Flagged problems: parameter-free layers (pool, gap, flatten, ...) are never "redundant"."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import lamina
from lamina.inspection import Inspection, inspect

SPEC = "conv(8,3,1,same)-pool-conv(16,3,1,same)-gap-32:relu"


@pytest.fixture(scope="module")
def gap_ins():
    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    net = lamina.build(SPEC, in_shape=(1, 8, 8), out=10, seed=0)
    return inspect(net, X, y[:200])


def _redundant(ins: Inspection) -> list[str]:
    problems = ins.problems()
    return list(problems[problems["problem"] == "redundant layer"]["detail"])


def test_gap_after_conv_is_not_a_redundant_layer(gap_ins):
    # gap's units are the conv's channel means by construction: CKA 1, yet nothing to remove
    assert gap_ins.cka().loc["hidden.2", "hidden.3"] > 0.999
    assert not any("hidden.1" in d or "hidden.3" in d for d in _redundant(gap_ins))
    assert list(gap_ins.layers["kind"]) == ["conv", "pool", "conv", "gap", "dense"]
    assert [r.parameter_free for r in gap_ins.records] == [False, True, False, True, False]


def test_parameter_free_survives_save_and_older_saves(tmp_path, gap_ins):
    gap_ins.save(tmp_path / "ins")
    back = Inspection.load(tmp_path / "ins")
    assert [r.parameter_free for r in back.records] == [False, True, False, True, False]
    doc_path = tmp_path / "ins" / "inspection.json"
    doc = json.loads(doc_path.read_text())
    for layer, old_kind in zip(doc["layers"], ["conv", "pool", "conv", "GlobalAvgPool",
                                               "dense"]):
        del layer["parameter_free"]                  # saved before the field existed
        layer["kind"] = old_kind
    doc_path.write_text(json.dumps(doc))
    old = Inspection.load(tmp_path / "ins")
    assert [r.parameter_free for r in old.records] == [False, True, False, True, False]
    assert not any("hidden.3" in d for d in _redundant(old))


def test_torch_modules_by_name_pooling_is_skipped_activations_are_not():
    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(120, 1, 6, 6)).astype(np.float32)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 4), nn.ReLU())
    with torch.no_grad():                    # "5" copies "1"'s pooled units: truly redundant
        net[4].weight.copy_(torch.eye(4))
        net[4].bias.zero_()
    ins = inspect(net, X, layers=["1", "2", "3", "5"])
    assert [r.parameter_free for r in ins.records] == [False, True, True, False]
    assert ins.cka().loc["1", "2"] > 0.999 and ins.cka().loc["1", "5"] > 0.999
    details = _redundant(ins)
    assert details and all(d.startswith("CKA(1, 5)") for d in details)


def test_dead_units_have_no_partner_minus_one_and_nan():
    # the documented "none" of ins.units (the report shows a dash for both)
    net = lamina.build((6,), in_features=3, out=2, seed=0)
    with torch.no_grad():
        net.hidden[0].linear.bias[:2] = -1e3
    ins = inspect(net, np.random.default_rng(0).normal(size=(50, 3)))
    u = ins.units[ins.units["dead"]]
    assert len(u) >= 2 and (u["most_correlated"] == -1).all() and u["max_corr"].isna().all()
