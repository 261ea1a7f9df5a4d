"""A uniform random sample of rows of a stream of unknown length (reservoir sampling).

Algorithm R, vectorised per batch: row ``i`` (0-based, global) enters slot ``i`` while the
reservoir is filling, afterwards it replaces slot ``j ~ U{0..i}`` when ``j < size``. Within a
batch, a later row that picks the same slot wins, exactly as one-row-at-a-time processing would.
One uniform draw is used per row past the fill, so the sample depends on the seed and the row
order only, not on how the rows were batched. Every layer copies the same rows, so the sampled
activations of different layers belong to the same examples (what CKA and probes need).
"""

from __future__ import annotations

import numpy as np


class Reservoir:
    """Decides which rows of each batch enter the sample and where.

    Examples
    --------
    >>> r = Reservoir(3, seed=0)
    >>> rows, slots = r.plan(2)          # the first rows fill the reservoir
    >>> rows.tolist(), slots.tolist(), r.filled
    ([0, 1], [0, 1], 2)
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        self.seen = 0
        self.index = np.full(self.size, -1, dtype=np.int64)      # global row id per slot

    @property
    def filled(self) -> int:
        return min(self.seen, self.size)

    def plan(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, slots)``: copy batch row ``rows[i]`` into slot ``slots[i]``."""
        first = self.seen
        gid = first + np.arange(batch, dtype=np.int64)
        filling = gid < self.size
        rows = [np.flatnonzero(filling)]
        slots = [gid[filling]]
        later = np.flatnonzero(~filling)
        if len(later):
            j = np.floor(self.rng.random(len(later)) * (gid[later] + 1)).astype(np.int64)
            take = j < self.size
            rows.append(later[take])
            slots.append(j[take])
        row = np.concatenate(rows)
        slot = np.concatenate(slots)
        if len(slot):
            # keep the last row that picked each slot
            _, first_rev = np.unique(slot[::-1], return_index=True)
            keep = np.sort(len(slot) - 1 - first_rev)
            row, slot = row[keep], slot[keep]
        self.index[slot] = gid[row]
        self.seen += batch
        return row, slot
