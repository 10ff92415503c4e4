"""LSH banding: bands × rows from a Jaccard threshold (as datasketch chooses them) and band bucket keys."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_GRID = 2001  # Simpson points per integral; agrees with datasketch's scipy.quad choice (tested)
_U64 = np.uint64


@dataclass(frozen=True)
class LshParams:
    bands: int
    rows: int
    false_positive_area: float  # ∫_0^t P(candidate | s) ds
    false_negative_area: float  # ∫_t^1 P(not candidate | s) ds


def _simpson(y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    h = (hi - lo) / (y.shape[-1] - 1)
    return h / 3 * (y[..., 0] + y[..., -1] + 4 * y[..., 1:-1:2].sum(-1) + 2 * y[..., 2:-1:2].sum(-1))


def optimal_bands_rows(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> LshParams:
    """The (bands, rows) with bands*rows <= num_perm minimising fp_weight*FP + fn_weight*FN areas."""
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=np.float64)
    b, r = pairs[:, :1], pairs[:, 1:]
    s_lo = np.linspace(0.0, threshold, _GRID)[None, :]
    s_hi = np.linspace(threshold, 1.0, _GRID)[None, :]
    fp = _simpson(1 - (1 - s_lo ** r) ** b, 0.0, threshold)
    fn = _simpson((1 - s_hi ** r) ** b, threshold, 1.0)
    best = int(np.argmin(fp * fp_weight + fn * fn_weight))  # first minimum, datasketch's loop order
    return LshParams(int(pairs[best, 0]), int(pairs[best, 1]), float(fp[best]), float(fn[best]))


def fmix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> _U64(33))


def band_keys(signatures_NP: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """[N, bands] uint64 bucket keys: equal band values give equal keys (different ones collide with
    probability ~2^-64, which only adds a candidate pair)."""
    n = signatures_NP.shape[0]
    keys_NB = np.empty((n, bands), dtype=_U64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.full(n, fmix64(np.array([band + 1], dtype=_U64))[0], dtype=_U64)
            for col in range(band * rows, (band + 1) * rows):
                key = fmix64(key ^ signatures_NP[:, col].astype(_U64)) + _U64(col)
            keys_NB[:, band] = key
    return keys_NB


def bucket_edges(band: np.ndarray, key: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate edges: each member of a (band, key) bucket linked to the bucket's smallest node (a star
    has the components of the clique with n-1 edges); duplicates removed."""
    order = np.lexsort((node, key, band))
    band, key, node = band[order], key[order], node[order]
    same = np.zeros(len(node), dtype=bool)
    same[1:] = (band[1:] == band[:-1]) & (key[1:] == key[:-1])
    head = node[np.flatnonzero(~same)[np.cumsum(~same) - 1]]
    if not same.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    edges = np.unique(np.stack([head[same], node[same]], axis=1), axis=0)
    return edges[:, 0], edges[:, 1]
