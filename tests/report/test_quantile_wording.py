"""The report says what the quantiles are: approximate, off by at most one bin of each unit's
histogram (with this inspection's bin widths), and, past the first rows, estimated from a
systematic subsample - and only when that subsample was taken."""

from __future__ import annotations

import html
import re

import numpy as np
import torch

import lamina
from lamina.report._report import _bin_fraction
from lamina.report._text import quantile_text


def _glossary_entry(ins, tmp_path) -> str:
    text = html.unescape(lamina.report(None, ins, tmp_path / "r.html").read_text("utf-8"))
    return re.search(r"<dt>q05 \.\.\. q95</dt><dd>(.*?)</dd>", text).group(1)


def _net() -> lamina.HiddenNet:
    return lamina.build((4,), in_features=3, out=2, seed=0, dtype="float64")


def test_the_report_states_the_bound_with_this_inspections_bins(tmp_path):
    X = np.random.default_rng(0).standard_t(3, size=(600, 3))
    net = _net()
    ins = lamina.inspect(net, X, bins=32, batch_size=50)
    entry = _glossary_entry(ins, tmp_path)
    assert "They are approximate." in entry
    assert "histogram of 32 bins per unit" in entry
    assert "off by up to one bin width" in entry and "at least 1/32 of the unit's range" in entry
    assert entry.endswith("Every inspected example went into the histograms.")
    assert "about 1/128" not in entry
    # the quoted largest bin really bounds every quantile's error, in units of the range
    worst = float(re.search(r"at most ([0-9.e+-]+) %", entry).group(1)) / 100
    assert worst == float(f"{100 * np.nanmax(_bin_fraction(ins)):.2g}") / 100
    with torch.no_grad():
        h = net.hidden[0](torch.as_tensor(X)).numpy()
    exact = np.quantile(h, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0, method="inverted_cdf").T
    u = ins.units
    span = (u["max"] - u["min"]).to_numpy()
    got = u[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    width = np.exp2(ins.records[0].stats["sketch_e"].astype(float))
    assert np.all(np.abs(got - exact) <= width[:, None] * (1 + 1e-9))
    assert np.all(width <= worst * span * 1.05)


def test_a_subsampled_pass_is_said_to_be_estimated_from_a_systematic_subsample(tmp_path):
    X = np.random.default_rng(1).normal(size=(6000, 3))
    ins = lamina.inspect(_net(), X, batch_size=1024)
    assert ins.meta["sketch_subsampled_from"] == 4096 and ins.meta["sketch_period"] == 4
    entry = _glossary_entry(ins, tmp_path)
    assert ("The first 4,096 examples all went into the histograms; after that, to keep the "
            "pass fast, only one batch in 4 of those with more than 64 rows did") in entry
    assert "estimated from a systematic subsample, not from every example" in entry
    assert "sketch_rows=None" in entry


def test_every_row_fed_is_said_so(tmp_path):
    X = np.random.default_rng(2).normal(size=(6000, 3))
    for kwargs in ({"sketch_rows": None}, {"batch_size": 64}):     # no batch is thinned
        ins = lamina.inspect(_net(), X, **kwargs)
        assert ins.meta["sketch_subsampled_from"] is None
        assert _glossary_entry(ins, tmp_path).endswith(
            "Every inspected example went into the histograms.")


def test_inspections_saved_before_the_subsample_was_recorded():
    meta = {"bins": 128, "n_rows": 10_000, "sketch_rows": 64}    # an older save's meta
    text = quantile_text(meta, np.array([0.01, 0.02, np.nan]))
    assert "a bin spans 1.5 % of a unit's range for the median unit, at most 2 %" in text
    assert "At least the first 4,096 examples all went into the histograms" in text
    small = quantile_text({"bins": 128, "n_rows": 100, "sketch_rows": 64}, np.zeros(0))
    assert small.endswith("Every inspected example went into the histograms.")
    assert "Here a bin" not in small


def test_the_docs_no_longer_promise_one_bin_of_range_over_bins():
    doc = lamina.inspect.__doc__
    assert "only one time\n        in 4" in doc or "only one time in 4" in " ".join(doc.split())
    assert "approximate" in lamina.inspection.Inspection.__doc__
