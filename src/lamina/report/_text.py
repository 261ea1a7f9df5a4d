"""The words of the report: what each statistic means, for a newcomer."""

from __future__ import annotations

GLOSSARY: list[tuple[str, str]] = [
    ("Unit", "One hidden neuron. In a dense layer a unit is one output feature; in a "
     "convolutional layer a channel (its value for an example is the average over positions); "
     "in a recurrent or attention layer one dimension of the hidden state (averaged over time)."),
    ("mean, std, min, max", "Average, spread and extremes of a unit's value over all inspected "
     "examples, computed exactly in one streaming pass."),
    ("q05 ... q95", "Quantiles: 5 % of the examples give the unit a value below q05, half below "
     "q50 (the median), and so on. Estimated from a compact histogram per unit (accurate to "
     "about 1/128 of the unit's range)."),
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
     "little. Computed on a random sample of examples with the unbiased estimator."),
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
