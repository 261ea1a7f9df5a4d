"""lamina.inspect on the deep estimators: the network sees exactly what ``predict`` feeds it.

Every reference below is computed without lamina's inspection code: a plain forward hook on the
layer while running ``est.module_(*inputs)`` over ``est.network_batches(X)``, pooled per example
(mean over positions / time, units on the layer's unit axis) and reduced with numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from typer.testing import CliRunner

import lamina
from lamina.cli import _register, app
from lamina.inspection import cka, inspect


# ---------------------------------------------------------------- references (no inspection code)
def hooked(est: Any, X: Any, layer: str = "hidden.0", *, batch_size: int = 256,
           lengths: bool = True, zero_unit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(pooled units (N, d), network outputs (N, ...))`` over ``est.network_batches(X)``.

    A per-step output of padded sequences is averaged over each example's real steps.
    ``lengths=False`` drops the sequence lengths from the forward call; ``zero_unit`` zeroes one
    unit of ``layer``'s output (ablation by hand)."""
    module = est.module_
    sub = module.get_submodule(layer)
    axis = getattr(sub, "unit_axis", 1)
    pooled: list[torch.Tensor] = []
    padding: list[Any] = [None]

    def hook(mod: Any, args: Any, out: torch.Tensor) -> Any:
        moved = out.movedim(axis % out.dim(), -1)                    # (B, ..., d)
        pad = padding[0]
        if pad is not None and moved.dim() == 3 and moved.shape[1] == pad[1]:
            rows = [moved[b, :max(int(n), 0)].double().mean(0) if int(n) > 0
                    else torch.zeros(moved.shape[-1], dtype=torch.float64)
                    for b, n in enumerate(pad[0])]
            pooled.append(torch.stack(rows))
        else:
            pooled.append(moved.reshape(out.shape[0], -1, moved.shape[-1]).mean(1).double())
        if zero_unit is not None:
            out = out.clone()
            out.select(axis % out.dim(), zero_unit).zero_()
            return out
        return None

    outs = []
    handle = sub.register_forward_hook(hook)
    try:
        module.eval()
        with torch.no_grad():
            for inputs, _ in est.network_batches(X, batch_size=batch_size):
                padding[0] = (inputs[1], inputs[0].shape[1]) if lengths and len(inputs) > 1 \
                    else None
                outs.append(module(*(inputs if lengths else inputs[:1])).double())
    finally:
        handle.remove()
    return torch.cat(pooled).numpy(), torch.cat(outs).numpy()


def encoded_targets(est: Any, X: Any, y: Any = None) -> np.ndarray:
    return torch.cat([t for _, t in est.network_batches(X, y)]).double().numpy()


def assert_same_units(ins: Any, ref: np.ndarray, layer: str = "hidden.0") -> None:
    units = ins.units[ins.units["layer"] == layer].sort_values("unit")
    assert ins.n_rows == ref.shape[0] and len(units) == ref.shape[1]
    np.testing.assert_allclose(units["mean"], ref.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(units["std"], ref.std(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(units["max"], ref.max(0), rtol=1e-6, atol=1e-6)
    # rows are the estimator's rows in input order: the most exciting row holds the maximum
    # (a periodic series repeats windows exactly, so compare values, not the argmax row)
    unit = int(np.argmax(ref.std(0)))
    top = ins.top_examples(layer, unit, 3)
    np.testing.assert_allclose(ref[top.indices, unit], top.values, rtol=1e-6, atol=1e-6)
    assert ref[top.indices[0], unit] == pytest.approx(ref[:, unit].max(), rel=1e-6)


def cross_entropy(logits: np.ndarray, t: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    return np.log(np.exp(z).sum(1)) - z[np.arange(len(t)), t]


# ---------------------------------------------------------------- data and tiny fitted models
@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:360], y[:360]


def ragged_sequences(n: int = 48) -> tuple[list[np.ndarray], np.ndarray]:
    """Short sequences first, long ones after: batches of 24 are padded to different T."""
    rng = np.random.default_rng(0)
    lengths = np.r_[rng.integers(3, 7, n // 2), rng.integers(10, 16, n - n // 2)]
    seqs = [rng.normal(size=(int(t), 2)).astype(np.float32) for t in lengths]
    y = np.array([int(s[:, 0].mean() > 0) for s in seqs])
    return seqs, y


TEXTS = ["loved it, great taste", "awful and stale", "great value, loved it", "bland, awful",
         "tasty and fresh", "stale bland chips", "fresh great coffee", "never again, awful"] * 6
TEXT_LABELS = np.array(["good", "bad", "good", "bad", "good", "bad", "good", "bad"] * 6)


@pytest.fixture(scope="module")
def image_clf(digits):
    X, y = digits
    return lamina.ImageClassifier("conv(4,3,1,same)-pool-dense(8)", image_shape=(1, 8, 8),
                                  epochs=2, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def seq_clf():
    seqs, y = ragged_sequences()
    return lamina.SequenceClassifier("gru(6):readout=mean", epochs=3, early_stopping=False,
                                     random_state=0).fit(seqs, y)


@pytest.fixture(scope="module")
def text_clf():
    return lamina.TextClassifier("embed(8)-seqpool-dense(6)", epochs=3, early_stopping=False,
                                 random_state=0).fit(TEXTS, TEXT_LABELS)


# ---------------------------------------------------------------- one test per estimator
def test_image_classifier_sees_normalised_images(image_clf, digits):
    X, y = digits
    ins = inspect(image_clf, X, y, batch_size=100)
    ref, _ = hooked(image_clf, X)
    assert_same_units(ins, ref)
    # the network reads normalised images: raw pixels (0..16) would give other statistics
    assert ins.input_info["shape"] == [1, 8, 8] and ins.input_info["min"] < 0
    assert ins.sample_y is not None and set(np.unique(ins.sample_y)) <= set(range(10))
    table = ins.ablate(X, y, layers=["hidden.2"])
    assert table.attrs["base_score"] == pytest.approx(image_clf.score(X, y), abs=1e-12)


def test_sequence_classifier_gets_lengths(seq_clf):
    seqs, y = ragged_sequences()
    ins = inspect(seq_clf, seqs, y, batch_size=24)
    with_lengths, _ = hooked(seq_clf, seqs, batch_size=24)
    without, _ = hooked(seq_clf, seqs, batch_size=24, lengths=False)
    assert np.abs(with_lengths - without).max() > 1e-3     # padding would change the units
    assert_same_units(ins, with_lengths)
    # two batches padded to different T: the per-example input shape varies along time
    assert ins.input_info["shape"] == [-1, 2] and ins.sample_x is None


def test_hooked_ablation_replicates_lengths(seq_clf):
    seqs, y = ragged_sequences()
    table = lamina.inspect(seq_clf, seqs, y, batch_size=24).ablate(seqs, y, batch_size=24)
    t = encoded_targets(seq_clf, seqs, y).astype(np.int64)
    _, logits = hooked(seq_clf, seqs, batch_size=24)
    assert table.attrs["base_loss"] == pytest.approx(cross_entropy(logits, t).mean(), rel=1e-5)
    assert table.attrs["base_score"] == pytest.approx(seq_clf.score(seqs, y), abs=1e-12)
    for unit in (0, 4):
        _, zeroed = hooked(seq_clf, seqs, batch_size=24, zero_unit=unit)
        row = table[(table["layer"] == "hidden.0") & (table["unit"] == unit)].iloc[0]
        assert row["loss"] == pytest.approx(cross_entropy(zeroed, t).mean(), rel=1e-5)
        assert row["score"] == pytest.approx(float((zeroed.argmax(1) == t).mean()), abs=1e-12)
    flow = lamina.inspect(seq_clf, seqs[:8]).gradient_flow(seqs, y)
    assert flow.layers["grad_rms"].iloc[0] > 0


def test_text_classifier_takes_raw_strings(text_clf):
    ins = inspect(text_clf, TEXTS, TEXT_LABELS)
    ref, _ = hooked(text_clf, TEXTS)
    assert_same_units(ins, ref)
    assert ins.input_info["dtype"] == "int64"                 # token ids reach the embedding
    for layer in ("hidden.2",):
        ref2, _ = hooked(text_clf, TEXTS, layer)
        assert_same_units(ins, ref2, layer)
    assert set(np.unique(ins.sample_y)) == {"bad", "good"}   # the user's labels, unencoded
    with pytest.raises(lamina.DataError, match=r"plot_top_examples draws numeric inputs"):
        ins.plot_top_examples("hidden.2")


def test_cka_between_estimators_with_their_own_tokenizers(text_clf):
    chars = lamina.TextClassifier("embed(8)-seqpool-dense(6)", tokenizer="char", epochs=1,
                                  early_stopping=False, random_state=1).fit(TEXTS, TEXT_LABELS)
    a, _ = hooked(text_clf, TEXTS, "hidden.2")
    b, _ = hooked(chars, TEXTS, "hidden.2")
    got = cka((text_clf, "hidden.2"), (chars, "hidden.2"), X=TEXTS)
    assert got == pytest.approx(cka(a, b), abs=1e-9)
    assert cka((text_clf, "hidden.2"), (text_clf, "hidden.2"), X=TEXTS) == pytest.approx(1.0)


def test_autoencoder_reconstruction_targets(digits):
    X, y = digits
    ae = lamina.Autoencoder("16", bottleneck=4, epochs=2, random_state=0).fit(X)
    ins = inspect(ae, X, y)
    # the digit labels are classes to probe for, though the autoencoder never saw them
    assert set(ins.probe()["task"]) == {"classification"}
    assert ins.layer_names == ["encoder.hidden.0", "encoder.hidden.1", "decoder.hidden.0"]
    ref, recon = hooked(ae, X, "encoder.hidden.0")
    assert_same_units(ins, ref, "encoder.hidden.0")
    # no y: the loss target of an autoencoder is its own (scaled) input
    scaled = torch.cat([i[0] for i, _ in ae.network_batches(X)]).double().numpy()
    table = ins.ablate(X, None, layers=["encoder.hidden.1"])
    want = ((recon.reshape(len(X), -1) - scaled.reshape(len(X), -1)) ** 2).mean()
    assert table.attrs["base_loss"] == pytest.approx(want, rel=1e-5)


def test_forecaster_windows():
    t = np.arange(160)
    series = np.sin(2 * np.pi * t / 12) + 0.02 * t
    fc = lamina.Forecaster("8", n_lags=12, horizon=3, epochs=5, random_state=0).fit(series)
    before = fc.predict()
    ins = inspect(fc, series)
    ref, out = hooked(fc, series)
    assert ins.n_rows == len(series) - 12 - 3 + 1             # one row per window
    assert_same_units(ins, ref)
    np.testing.assert_array_equal(fc.predict(), before)
    table = ins.ablate(series, None)                           # targets: the next 3 values
    want = ((out - encoded_targets(fc, series)) ** 2).mean()
    assert table.attrs["base_loss"] == pytest.approx(want, rel=1e-5)
    with pytest.raises(lamina.DataError, match=r"y has 10 entries but X gives 146 rows"):
        inspect(fc, series, np.zeros(10))


def test_recommender_id_pairs_and_its_own_forward():
    users = np.array([f"u{k}" for k in range(12)])
    X = np.array([[u, f"i{i}"] for u in users for i in range(10)], dtype=object)
    y = np.array([(k % 3) + (i % 2) + 1.0 for k in range(12) for i in range(10)])
    rec = lamina.Recommender("embed(4)-dense(4)", epochs=5, random_state=0).fit(X, y)
    ins = inspect(rec, X, y)
    ref, out = hooked(rec, X)
    assert_same_units(ins, ref)
    ref1, _ = hooked(rec, X, "hidden.1")
    assert_same_units(ins, ref1, "hidden.1")
    # RecommenderNet adds biases and a dot product after the head: ablation must run its
    # own forward, not the hidden-layer shortcut
    table = ins.ablate(X, y)
    assert table.attrs["base_loss"] == pytest.approx(((out[:, 0] - y) ** 2).mean(), rel=1e-5)
    _, zeroed = hooked(rec, X, "hidden.1", zero_unit=2)
    row = table[(table["layer"] == "hidden.1") & (table["unit"] == 2)].iloc[0]
    assert row["loss"] == pytest.approx(((zeroed[:, 0] - y) ** 2).mean(), rel=1e-5)


# ---------------------------------------------------------------- bad input
def test_wrong_kind_of_input_is_a_lamina_error(image_clf, text_clf):
    with pytest.raises(lamina.DataError, match=r"ImageClassifier could not read X .*could not "
                                               r"convert string to float"):
        inspect(image_clf, ["a cat", "a dog"])
    with pytest.raises(lamina.DataError, match=r"y has 3 entries but X gives 48 rows"):
        inspect(text_clf, TEXTS, TEXT_LABELS[:3])
    with pytest.raises(lamina.DataError, match=r"labels .*'meh'.* not seen at fit time"):
        inspect(text_clf, TEXTS).ablate(TEXTS[:2], ["good", "meh"])


# ---------------------------------------------------------------- Seq2Seq and packed sequences
WORDS = ["abc", "bca", "cab", "acbb", "b", "cabba"] * 5


@pytest.fixture(scope="module")
def s2s():
    return lamina.Seq2Seq(emb_dim=4, hidden=5, epochs=2, early_stopping=False,
                          random_state=0).fit(WORDS, [w[::-1] for w in WORDS])


def test_seq2seq_encoder_statistics_over_real_steps_only(s2s):
    """The encoder GRU runs on packed sequences: its units' statistics cover each source's own
    steps, never the padding (checked against the padded output and the lengths)."""
    targets = [w[::-1] for w in WORDS]
    ins = inspect(s2s, WORDS, targets, batch_size=7)
    assert list(ins.layers["layer"]) == ["seq2seq.encoder.rnn"]
    outs, lens = [], []
    enc = s2s.module_.seq2seq.encoder
    handle = enc.rnn.register_forward_hook(lambda m, a, out: outs.append(out[0]))
    try:
        for (src, lengths, tgt), _ in s2s.network_batches(WORDS, targets, batch_size=7):
            with torch.no_grad():
                s2s.module_.eval()(src, lengths, tgt)
            lens.append(lengths)
    finally:
        handle.remove()
    per_example, steps = [], []
    for packed in outs:
        padded, n = torch.nn.utils.rnn.pad_packed_sequence(packed, batch_first=True)
        for row, k in zip(padded, n):
            per_example.append(row[:k].mean(0))
            steps.append(row[:k])
    pooled = torch.stack(per_example).double().numpy()
    every = torch.cat(steps).double().numpy()
    units = ins.units
    np.testing.assert_allclose(units["mean"], pooled.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(units["max"], pooled.max(0), rtol=1e-6)
    np.testing.assert_allclose(units["frac_active"], (every > 0).mean(0))
    assert ins.n_rows == len(WORDS)


def test_seq2seq_inspection_needs_targets_and_per_example_losses(s2s):
    with pytest.raises(lamina.DataError, match=r"decoder reads the target sequences"):
        inspect(s2s, WORDS)
    with pytest.raises(lamina.DataError, match=r"tokens \['z'\] that were not in the training"):
        inspect(s2s, WORDS, ["z" + w for w in WORDS])
    with pytest.raises(lamina.DataError, match=r"y has 2 sequences but X has 30"):
        inspect(s2s, WORDS, ["ab", "ba"])
    ins = inspect(s2s, WORDS, WORDS)
    for call in (lambda: ins.ablate(WORDS, WORDS), lambda: ins.gradient_flow(WORDS, WORDS)):
        with pytest.raises(lamina.DataError, match=r"one loss per example, but Seq2Seq's loss "
                                                   r"is one per target token"):
            call()


def test_foreign_recurrent_module_on_packed_sequences():
    class Packed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(2, 3, batch_first=True)
            self.out = torch.nn.Linear(3, 2)

        def forward(self, x):
            lengths = (x[..., 0] != 99.0).sum(1)                # padding marked by 99
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                             enforce_sorted=False)
            out, _ = self.rnn(packed)
            padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
            return self.out(padded.sum(1))

    torch.manual_seed(0)
    model = Packed()
    x = torch.randn(6, 5, 2)
    lengths = torch.tensor([5, 1, 3, 2, 5, 4])
    x[torch.arange(5)[None, :] >= lengths[:, None]] = 99.0      # padding that must not count
    ins = inspect(model, x, layers=["rnn"], batch_size=4)
    with torch.no_grad():
        full, _ = model.rnn(x)                                   # unpacked: padding included
    want = torch.stack([full[i, :k].mean(0) for i, k in enumerate(lengths)])
    np.testing.assert_allclose(ins.units["mean"], want.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ins.units["max"], want.max(0).values.numpy(), rtol=1e-5)
    # gradient flow reads the packed values: every real step, no padding
    y = np.array([0, 1, 0, 1, 1, 0])
    flow = ins.gradient_flow(x, y)
    units = flow.units[flow.units["layer"] == "rnn"]
    assert len(units) == 3 and np.isfinite(units["grad_rms"]).all()
    assert (units["grad_rms"] > 0).all()
    with pytest.raises(lamina.DataError, match=r"layer 'rnn' returns PackedSequence, not a "
                                               r"tensor with one row per example.*ablate the "
                                               r"layer that reads it instead"):
        ins.ablate(x, y)


# ---------------------------------------------------------------- saved runs through the CLI
def test_cli_inspect_and_report_of_a_saved_text_run(tmp_path: Path):
    ds = lamina.datasets.load("fine_foods")
    clf = lamina.TextClassifier("embed(8)-seqpool-dense(6)", epochs=1, max_vocab=2000,
                                random_state=0).fit(ds.X[:600], ds.y[:600])
    clf.save(tmp_path / "run")
    _register()
    runner = CliRunner()
    res = runner.invoke(app, ["inspect", str(tmp_path / "run"), "fine_foods"])
    assert res.exit_code == 0, res.output
    saved = lamina.inspection.Inspection.load(tmp_path / "run" / "inspection")
    assert saved.n_rows == len(ds.X_test) and saved.layer_names[0] == "hidden.0"
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", str(tmp_path / "run"), "--data", "fine_foods",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert ">Gradient flow<" in out.read_text()


class _Steps(torch.nn.Module):
    """Runs its cell once per step, as many steps as the batch's largest marker: later steps
    only run in some batches (like a decoder past a batch's longest target)."""

    def __init__(self):
        super().__init__()
        self.cell = torch.nn.Linear(2, 3)
        self.act = torch.nn.Tanh()

    def forward(self, x):
        h = x
        out = []
        for _ in range(int(x[:, 0].max())):
            h = self.act(self.cell(torch.cat([h[:, :1], x[:, 1:]], 1)))[:, :2]
            out.append(h)
        return torch.stack(out).sum(0)


def test_steps_that_skip_batches_use_only_the_rows_they_saw(tmp_path):
    torch.manual_seed(0)
    model = _Steps()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    x[:, 0] = 1.0
    x[30:40, 0] = 2.0              # a second step in the batches holding rows 30-39 only
    y = (x[:, 1] > 0).astype(int)
    ins = inspect(model, x, y, layers=["act"], batch_size=10, sample_size=60)
    assert list(ins.layers["layer"]) == ["act#0", "act#1"]
    second = ins.activations("act#1")
    seen = np.isfinite(second).all(1)
    assert sorted(ins.sample_index[seen].tolist()) == list(range(30, 40))
    with torch.no_grad():       # the second step's values, computed directly for rows 30-39
        h1 = model.act(model.cell(torch.as_tensor(x[30:40])))[:, :2]
        h2 = model.act(model.cell(torch.cat([h1[:, :1], torch.as_tensor(x[30:40, 1:])], 1)))
    order = np.argsort(ins.sample_index[seen])
    np.testing.assert_allclose(second[seen][order], h2.numpy(), rtol=1e-6)
    # CKA of the second step with the first: on rows 30-39 only, as cka() on those rows says
    first = ins.activations("act#0")
    want = lamina.cka(first[seen], second[seen], unbiased=True)
    assert ins.cka().loc["act#0", "act#1"] == pytest.approx(want, rel=1e-9)
    probe = ins.probe().set_index("layer")
    assert probe.loc["act#1", "n_train"] + probe.loc["act#1", "n_test"] == 10
    assert len(ins.plot_pca().axes) >= 2
    ins.save(tmp_path / "ins")
    back = lamina.Inspection.load(tmp_path / "ins")
    np.testing.assert_array_equal(np.isfinite(back.activations("act#1")).all(1), seen)
    assert back.cka().loc["act#0", "act#1"] == pytest.approx(want, rel=1e-9)


def _single(est: Any, X: Any, layer: str) -> list[torch.Tensor]:
    """The layer's output for each example run alone (no padding), as (steps, units)."""
    outs: list[torch.Tensor] = []
    module = dict(est.module_.named_modules())[layer]
    handle = module.register_forward_hook(
        lambda m, i, o: outs.append((o[0] if isinstance(o, tuple) else o).detach()))
    try:
        for x in X:
            est.predict([x])
    finally:
        handle.remove()
    return [o.reshape(-1, o.shape[-1]).double() for o in outs]


@pytest.mark.parametrize("batch_size", [256, 3])
def test_padded_steps_are_not_counted(batch_size: int) -> None:
    """A recurrent layer's sequence output and an embedding are read over each example's real
    steps: the statistics equal those of the examples run one by one (no padding), whatever the
    batch size (padding used to be averaged in, so they changed with it)."""
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(n), 3)).astype(np.float32) for n in rng.integers(2, 15, size=30)]
    y = np.array([int(x[:, 0].mean() > 0) for x in X])
    seq = lamina.SequenceClassifier("gru(6):readout=seq-seqpool(mean)", epochs=2,
                                    random_state=0).fit(X, y)
    units = inspect(seq, X, batch_size=batch_size).units
    got = units[units.layer == "hidden.0"].set_index("unit")
    alone = _single(seq, X, "hidden.0")
    per_example = torch.stack([o.mean(0) for o in alone])              # (N, units)
    steps = torch.cat(alone)                                           # (real steps, units)
    np.testing.assert_allclose(got["mean"].to_numpy(), per_example.mean(0).numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(got["max"].to_numpy(), per_example.max(0).values.numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["frac_active"].to_numpy(), (steps > 0).double().mean(0)
                               .numpy(), rtol=1e-6)

    texts = ["good food", "bad", "really very good indeed", "awful bad food", "fine"] * 6
    labels = np.array([1, 0, 1, 0, 1] * 6)
    txt = lamina.TextClassifier("embed(4)-seqpool", epochs=2, random_state=0).fit(texts, labels)
    units = inspect(txt, texts, batch_size=batch_size).units
    got = units[units.layer == "hidden.0"].set_index("unit")
    alone = _single(txt, texts, "hidden.0")
    np.testing.assert_allclose(got["mean"].to_numpy(),
                               torch.stack([o.mean(0) for o in alone]).mean(0).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_ablation_and_gradient_flow_take_y_only_when_needed(digits):
    X, y = digits
    ae = lamina.Autoencoder("16", bottleneck=4, epochs=1, random_state=0).fit(X)
    ins = inspect(ae, X)
    assert ins.ablate(X).equals(ins.ablate(X, None))       # reconstructs X: no y needed
    assert ins.gradient_flow(X).layers.equals(ins.gradient_flow(X, None).layers)
    clf = lamina.MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(lamina.DataError, match=r"ablation needs targets: pass y=\.\.\."):
        inspect(clf, X).ablate(X)
