"""The words of the report: what each statistic means, for a newcomer."""

from __future__ import annotations

from typing import Any

import numpy as np

GLOSSARY: list[tuple[str, str]] = [
    ("Unit", "One hidden neuron. In a dense layer a unit is one output feature; in a "
     "convolutional layer a channel (its value for an example is the average over positions); "
     "in a recurrent or attention layer one dimension of the hidden state (averaged over time)."),
    ("mean, std, min, max", "Average, spread and extremes of a unit's value over all inspected "
     "examples, computed exactly in one streaming pass."),
    ("q05 ... q95", "Quantiles: 5 % of the examples give the unit a value below q05, half below "
     "q50 (the median), and so on. They are approximate: lamina keeps a histogram per unit, "
     "not the values, and a quantile read off it can be off by up to one bin width (at least "
     "the unit's range max - min divided by the number of bins)."),
    ("fraction active", "Share of the unit's outputs that are above zero. For ReLU units this is "
     "how often the unit 'fires'. For activations that also output negative values (LeakyReLU, "
     "ELU, GELU, SiLU, ...) a unit with fraction active 0 can still vary and carry signal."),
    ("dead", "A unit whose output never changes over the inspected examples (max - min within "
     "a millionth of its size or of its layer's typical spread), so it computes nothing. For "
     "ReLU this means it never fires (output always 0; it also receives no gradient and cannot "
     "recover). Dead units waste capacity. With fewer than 2 examples nothing is called dead."),
    ("saturated", "For tanh/sigmoid units: share of outputs within 1 % of the bounds (tanh near "
     "+-1, sigmoid near 0 or 1). There the slope is nearly flat, so gradients vanish and the unit "
     "learns slowly."),
    ("max_corr / most_correlated", "The other unit of the same layer whose values follow this "
     "unit most closely (Pearson correlation on a random sample of examples). |r| near 1 means "
     "the two units are redundant; a dash when the unit never varies (e.g. dead)."),
    ("mean |activation|", "Typical size of the layer's outputs; very small or very large values "
     "hint at poor scaling."),
    ("effective rank", "How many independent directions the layer really uses (exp of the "
     "entropy of its normalised singular values, Roy & Vetterli 2007). Far below the width "
     "means many units say the same thing."),
    ("CKA", "Centered kernel alignment between two layers' representations: 1 = the same "
     "information up to rotation and scale, 0 = unrelated. Above 0.95, the second layer adds "
     "little - except across an encoder/decoder split (an autoencoder's code), where a decoder "
     "layer is meant to resemble the encoder layer it mirrors, so such pairs are not flagged. "
     "Computed on a random sample of examples with the unbiased estimator."),
    ("linear probe", "A logistic (or ridge) regression trained to read the label off a layer's "
     "units and scored on held-out examples: what each depth 'knows' about the labels. The "
     "'input' row is the same probe on the raw inputs."),
    ("ablation", "Set one unit to zero and measure how much the loss grows (and which classes "
     "suffer). Units whose removal changes nothing can be pruned."),
    ("gradient flow", "How strongly the training signal reaches each layer: the RMS of the loss "
     "gradient with respect to each unit. A layer whose gradient is 100x smaller than the last "
     "layer's is flagged 'vanishing' (it barely learns); 100x larger or NaN is 'exploding'."),
]

INTRO = ("This report is a census of every hidden unit of the network, computed in one pass over "
         "the data. Start with the flagged problems below (each comes with a suggested fix), "
         "then look at how the layers relate to each other, then at each layer in detail.")

SEVERITY_HELP = ("high: likely hurts accuracy or training now; medium: worth fixing; low: "
                 "an opportunity (e.g. the network could be smaller).")


def quantile_text(meta: dict[str, Any], bin_fraction: np.ndarray) -> str:
    """The glossary's entry on quantiles, with this inspection's facts: the bins, how wide a bin
    is relative to a unit's range (``bin_fraction``: bin width / (max - min) per unit with a
    range), and which examples went into the histograms."""
    bins = meta.get("bins", 128)
    text = ("Quantiles: 5 % of the examples give the unit a value below q05, half below q50 (the "
            "median), and so on. They are approximate. lamina does not keep the values, only a "
            f"histogram of {bins} bins per unit, and reads the quantiles off it by interpolating "
            "inside a bin: a quantile can be off by up to one bin width from the quantile of the "
            f"examples that went into the histogram. A bin is at least 1/{bins} of the unit's "
            "range (max - min); its width is a power of two, and the histogram widens by merging "
            "bins as a unit's range grows during the pass, so bins can be several times wider")
    frac = bin_fraction[np.isfinite(bin_fraction)]
    if len(frac):
        text += (f". Here a bin spans {_pct(np.median(frac))} of a unit's range for the median "
                 f"unit, at most {_pct(frac.max())}")
    return (text + ". A ReLU unit's share of exact zeros is counted exactly. "
            + _sketch_feed(meta))


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.2g} %"


def _sketch_feed(meta: dict[str, Any]) -> str:
    """Which examples the histograms saw (``meta`` of ``lamina.inspect``)."""
    exact, period = meta.get("sketch_exact_rows", 4096), meta.get("sketch_period", 4)
    n_rows, cap = int(meta.get("n_rows", 0)), meta.get("sketch_rows")
    start = meta.get("sketch_subsampled_from", "unknown")    # older saves did not record it
    if start is None or cap is None or n_rows <= exact:
        return "Every inspected example went into the histograms."
    first = (f"The first {int(start):,} examples" if start != "unknown" else
             f"At least the first {int(exact):,} examples")
    return (f"{first} all went into the histograms; after that, to keep the pass fast, only one "
            f"batch in {period} of those with more than {cap} rows did, and of it only a "
            "regular subsample of rows, each counted for the rows skipped. So beyond that point "
            "the quantiles are estimated from a systematic subsample, not from every example: "
            "they also carry sampling error, and data stored in a meaningful order (sorted by "
            "class or by time) can bias them. lamina.inspect(..., sketch_rows=None) feeds every "
            "example (slower).")
