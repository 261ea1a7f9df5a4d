"""ImageClassifier feeds its network images in the network's dtype: with dtype="float64" the
normalised images are computed and passed in float64 (before: float32 whatever the dtype, so a
float64 network saw float32-rounded values)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import ImageClassifier


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.rand(120, 64) * 3.0 + 0.1
    y = (X[:, :32].sum(1) > X[:, 32:].sum(1)).astype(int)
    return X, y


def test_a_float64_model_receives_float64_images_and_predicts() -> None:
    X, y = _data()
    clf = ImageClassifier("conv(4,3,1,same)-dense(8)", image_shape=(1, 8, 8), epochs=1,
                          batch_size=32, early_stopping=False, random_state=0, dtype="float64")
    fit_samples = clf._prepare(X, y, fitting=True)
    assert fit_samples.X.dtype == torch.float64           # what training reads
    clf.fit(X, y)
    assert next(clf.module_.parameters()).dtype == torch.float64
    seen: list[torch.Tensor] = []

    def record(module: torch.nn.Module, args: Any) -> None:
        seen.append(args[0].detach().clone())

    handle = clf.module_.register_forward_pre_hook(record)
    try:
        pred = clf.predict(X)
    finally:
        handle.remove()
    assert pred.shape == (120,) and set(pred) <= {0, 1}
    got = torch.cat(seen)
    assert got.dtype == torch.float64
    # the images normalised in float64, not float32-rounded values widened
    images = X.reshape(-1, 1, 8, 8)
    expected = (images - clf.channel_mean_.reshape(1, -1, 1, 1)) / clf.channel_std_.reshape(
        1, -1, 1, 1)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_a_float32_model_still_receives_float32_images() -> None:
    X, y = _data()
    clf = ImageClassifier("conv(4,3,1,same)-dense(8)", image_shape=(1, 8, 8), epochs=1,
                          batch_size=32, early_stopping=False, random_state=0)
    assert clf._prepare(X, y, fitting=True).X.dtype == torch.float32
    clf.fit(X, y)
    assert clf._prepare(X, None, fitting=False).X.dtype == torch.float32
    assert clf.predict(X).shape == (120,)
