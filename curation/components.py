"""Connected components of a graph given as edge arrays, vectorised (label propagation + pointer jumping)."""
from __future__ import annotations

import numpy as np


def connected_components(num_nodes: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """labels[i] = the smallest node index in i's component."""
    labels = np.arange(num_nodes, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if u.size == 0:
        return labels
    while True:
        low = np.minimum(labels[u], labels[v])
        before = labels.copy()
        np.minimum.at(labels, u, low)
        np.minimum.at(labels, v, low)
        # Pointer jumping: follow labels to their root until they stop changing (labels only decrease).
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def representatives(labels: np.ndarray, ids: np.ndarray, quality: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """For each row, the row index of its group's kept member.

    The kept member of a group (rows sharing a label) is a preferred row if there is one (a document of an
    earlier run, already published), then the highest quality (NaN = unscored, ranks last), then the
    smallest id: deterministic whatever the order of the rows.
    """
    q = np.where(np.isnan(quality), -np.inf, quality)
    order = np.lexsort((ids, -q, ~preferred.astype(bool), labels))
    sorted_labels = labels[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    group_first = order[np.flatnonzero(first)[np.cumsum(first) - 1]]
    rep = np.empty(len(order), dtype=np.int64)
    rep[order] = group_first
    return rep
