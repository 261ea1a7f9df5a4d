"""The HTML report: self-contained, explains itself, flags planted problems, and renders in a
real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from sklearn.datasets import load_digits, make_moons

import lamina
from lamina.inspection import inspect
from lamina.report import report, write_report

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def digits_report(tmp_path_factory) -> Path:
    X, y = load_digits(return_X_y=True)
    X, y = (X[:500] / 16.0).astype(np.float32), y[:500]
    net = lamina.build((24, 12), in_features=64, out=10, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
        opt.step()
    with torch.no_grad():                       # plant two dead units
        net.hidden[0].linear.bias[:2] = -1e3
    ins = inspect(net, X, y, sample_size=400)
    path = report(net, ins, tmp_path_factory.mktemp("rep") / "sub" / "report.html")
    dead = ins.units[(ins.units["layer"] == "hidden.0") & ins.units["dead"]]["unit"].tolist()
    assert dead[:2] == [0, 1]
    path.with_suffix(".dead").write_text(str(len(dead)))
    return path


def test_report_is_one_self_contained_file(digits_report):
    text = digits_report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<iframe|@import", text, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text, re.I)
    images = re.findall(r'<img[^>]+src="([^"]{0,30})', text)
    assert len(images) >= 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert oct(digits_report.stat().st_mode & 0o777) == "0o644"


def test_report_explains_and_flags(digits_report):
    text = digits_report.read_text(encoding="utf-8")
    for heading in ("Summary", "Flagged problems", "How to read this report",
                    "Layers at a glance", "Between layers", "Layer hidden.0", "Layer hidden.1",
                    "What each depth knows (linear probes)", "Gradient flow"):
        assert f">{heading}<" in text
    n_dead = int(digits_report.with_suffix(".dead").read_text())   # 2 planted + training's
    assert f"{n_dead} of 24 units ({100 * n_dead / 24:.0f} %) never activate on these 500" in text
    assert "use He initialisation" in text                      # with a fix
    for term in ("effective rank", "saturated", "CKA", "linear probe"):
        assert f"<dt>{term}" in text


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is installed by make test")
def test_report_renders_in_headless_chromium(digits_report, tmp_path):
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    url = digits_report.resolve().as_uri()
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert re.search(r"<h2[^>]*>Summary</h2>", dom)
    assert re.search(r"<h2[^>]*>Layer hidden\.1</h2>", dom)
    assert dom.count('<table class="layers">') == 1 and '<table class="problems">' in dom
    assert dom.count("<img") >= 8
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1280,2400", url],
                   capture_output=True, timeout=120, check=True)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.1                                  # not a blank page
    header = pixels[20:60, 20:400].reshape(-1, 3).mean(0)     # the blue title bar
    assert header[2] > header[0] + 0.2
    body = pixels[400:2400]
    assert (body.mean(2) < 0.5).mean() > 0.005                # dark text and figures drawn
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_two_dimensional_report_has_unit_maps(tmp_path):
    X, y = make_moons(200, noise=0.1, random_state=0)
    net = lamina.build((5, 3), in_features=2, out=2, seed=0)
    ins = inspect(net, X, y)
    path = write_report(net, ins, tmp_path / "moons.html")
    text = path.read_text()
    assert ">Every unit over the input plane<" in text
    import lamina.report as package  # the package is callable too
    assert package(net, ins, tmp_path / "again.html").name == "again.html"


def test_report_bad_input(tmp_path):
    net = lamina.build((3,), in_features=2, out=2)
    with pytest.raises(lamina.ParameterError, match=r"Invalid ins='nope': expected the "
                                                     r"Inspection returned by lamina.inspect"):
        report(net, "nope", tmp_path / "r.html")
    ins = inspect(net, np.zeros((10, 2)))
    with pytest.raises(lamina.ParameterError, match=r"Invalid path='.*r.pdf': the report is an "
                                                     r"HTML file"):
        report(net, ins, tmp_path / "r.pdf")
    # no labels: probes are skipped with a note instead of failing
    text = report(None, ins, tmp_path / "r.html").read_text()
    assert "Linear probes skipped" in text


def test_dead_units_show_a_dash_for_their_partner(digits_report):
    text = digits_report.read_text(encoding="utf-8")
    section = text[text.index("All 24 units of hidden.0"):]
    for unit in (0, 1):                                    # the planted dead units
        row = re.search(rf'<tr><td class="num">{unit}</td>(.*?)</tr>', section).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[-2:] == ["&mdash;", "&mdash;"]          # max_corr, most_correlated
    assert '<td class="num">-1</td>' not in text


def test_pooling_layers_are_named_by_spec_have_no_activation_and_no_redundancy(tmp_path):
    X, y = load_digits(return_X_y=True)
    X = (X[:150] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    net = lamina.build("conv(8,3,1,same)-pool-conv(16,3,1,same)-gap-32:relu",
                       in_shape=(1, 8, 8), out=10, seed=0)
    ins = inspect(net, X, y[:150])
    text = report(net, ins, tmp_path / "conv.html").read_text(encoding="utf-8")
    assert ins.cka().loc["hidden.2", "hidden.3"] > 0.999
    assert "redundant layer" not in text and "Remove one of the two layers" not in text
    layers = text[text.index('<table class="layers">'):]
    layers = layers[:layers.index("</table>")]
    kinds = re.findall(r"<tr><td>hidden\.\d</td><td>(\w+)</td><td>([^<]*)</td>", layers)
    assert kinds == [("conv", "relu"), ("pool", "&mdash;"), ("conv", "relu"),
                     ("gap", "&mdash;"), ("dense", "relu")]
    assert "GlobalAvgPool" not in text and "activation unknown" not in text
    assert "gap layer, no activation, 16 units" in text


def test_never_positive_silu_units_are_not_reported_dead(tmp_path):
    # SiLU units whose input is always negative still vary (here over about [-0.27, -0.07]):
    # the demo's report called such units "never activate ... output always 0"
    X = np.random.default_rng(0).random((200, 2)).astype(np.float32)
    net = lamina.build("3:silu", in_features=2, out=2, seed=0)
    with torch.no_grad():
        net.hidden[0].linear.weight.fill_(1.0)
        net.hidden[0].linear.bias.fill_(-3.0)
    ins = inspect(net, X)
    assert (ins.units["frac_active"] == 0).all() and not ins.units["dead"].any()
    text = report(net, ins, tmp_path / "silu.html").read_text(encoding="utf-8")
    assert "never activate" not in text and "Dead: 0 %" in text
    assert '<b>0</b><span>dead units</span>' in text
    assert "a unit with fraction active 0 can still vary" in text          # the glossary
    assert "A unit whose output never changes over the inspected examples" in text


def test_another_model_than_the_inspected_one_is_refused_in_one_line(tmp_path):
    """Acceptance review: a report of an Inspection with an unrelated model crashed inside the
    figure code ("cannot reshape array of size 30 into shape (3,8,8)")."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    clf = lamina.MLPClassifier((16, 8), max_iter=3, random_state=0).fit(X, y)
    ins = inspect(clf, X, y)
    other = torch.nn.Sequential(torch.nn.Linear(10, 3), torch.nn.ReLU())
    with pytest.raises(lamina.ParameterError, match=r"Invalid model='Sequential': the model ins "
                                                    r"was computed from \(layers 'hidden.0', "
                                                    r"'hidden.1'\); this one has no layer "
                                                    r"'hidden.0'. Pass the model you inspected"):
        report(other, ins, tmp_path / "r.html")
    wider = lamina.MLPClassifier((16, 9), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(lamina.ParameterError, match=r"has 9 units in layer 'hidden.1', not 8"):
        report(wider, ins, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
