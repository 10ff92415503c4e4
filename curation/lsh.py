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


@dataclass(frozen=True)
class SharedBuckets:
    """Entries of the (band, key) buckets holding at least two documents, sorted by bucket, then node."""

    node: np.ndarray  # int64 node of each entry
    bucket_start: np.ndarray  # index of the first entry of each entry's bucket


def shared_buckets(band: np.ndarray, key: np.ndarray, node: np.ndarray) -> SharedBuckets:
    order = np.lexsort((node, key, band))
    band, key, node = band[order], key[order], np.asarray(node, dtype=np.int64)[order]
    new = np.ones(len(node), dtype=bool)
    new[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(node)))
    shared = np.repeat(sizes >= 2, sizes)
    position_after_filter = np.cumsum(shared) - shared
    return SharedBuckets(node[shared], position_after_filter[np.repeat(starts, sizes)[shared]])


def verified_pairs(buckets: SharedBuckets, row: np.ndarray, signatures_NP: np.ndarray, threshold: float,
                   max_centres: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Candidate pairs checked against the threshold: (u, v, verified, unverified entries), u < v, each pair once.

    A band collision alone does not make two documents similar, so a pair is verified only when the
    fraction of equal signature slots (the MinHash Jaccard estimate, datasketch's `MinHash.jaccard`)
    reaches `threshold`. Checking every pair of a bucket costs k^2 for k members; instead each bucket is
    covered by centres: its smallest unmatched member becomes a centre and is compared with every other
    non-centre member, those that pass are matched, and this repeats until every member is a centre or
    matched. A bucket of k copies costs k - 1 comparisons (one centre, the star of the unverified
    version), a bucket of dissimilar collisions one centre per member. Every united pair passed the
    check; the pairs never compared are those between two members matched to different centres (the
    components can then be finer than those of all verified pairs; benchmarks/eval_dedup_quality.py
    measures how often on real data). `row[i]` is the row of `signatures_NP` holding `buckets.node[i]`.
    At most `max_centres` rounds run: a bucket of k dissimilar members would need k rounds, each a pass
    over every entry; entries still pending after the last round are returned as a count, not compared.
    """
    n = len(buckets.node)
    start = buckets.bucket_start
    pending = np.ones(n, dtype=bool)  # neither a centre nor matched to one
    centre = np.zeros(n, dtype=bool)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(max_centres):
        if not pending.any():
            break
        candidates = np.flatnonzero(pending)
        first = np.ones(len(candidates), dtype=bool)
        first[1:] = start[candidates[1:]] != start[candidates[:-1]]
        centres = candidates[first]  # smallest pending entry of each bucket that has one
        centre[centres] = True
        pending[centres] = False
        centre_of_bucket = np.full(n, -1, dtype=np.int64)
        centre_of_bucket[start[centres]] = centres
        members = np.flatnonzero(~centre & (centre_of_bucket[start] >= 0))
        centre_entry = centre_of_bucket[start[members]]
        a, b, ra, rb = buckets.node[centre_entry], buckets.node[members], row[centre_entry], row[members]
        swap = a > b
        key_MP = np.stack([np.where(swap, b, a), np.where(swap, a, b), np.where(swap, rb, ra), np.where(swap, ra, rb)], axis=1)
        # the same pair collides in many bands: compare it once
        pair_NP, inverse = np.unique(key_MP, axis=0, return_inverse=True)
        if len(pair_NP) == 0:
            continue
        ok = signature_agreement(signatures_NP, pair_NP[:, 2], pair_NP[:, 3]) >= threshold
        found.append((pair_NP[:, 0], pair_NP[:, 1], ok))
        pending[members[ok[inverse.reshape(-1)]]] = False
    unverified = int(pending.sum())
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool), unverified
    u, v, ok = (np.concatenate(x) for x in zip(*found))
    uv, first = np.unique(np.stack([u, v], axis=1), axis=0, return_index=True)
    return uv[:, 0], uv[:, 1], ok[first], unverified


def signature_agreement(signatures_NP: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Fraction of equal slots between rows a[i] and b[i] (float64, as datasketch's `jaccard`)."""
    out = np.empty(len(a), dtype=np.float64)
    for s in range(0, len(a), chunk):
        equal = (signatures_NP[a[s:s + chunk]] == signatures_NP[b[s:s + chunk]]).sum(axis=1)
        out[s:s + chunk] = equal / signatures_NP.shape[1]
    return out
