"""The held-out documents: one set for the whole mixture, chosen per discipline label from a hash of the id.

The rule, by rank within a discipline label of N documents (sorted by id hash): a document is held out
when its hash is below `share` of the hash range or it is among the `min_documents_per_label` smallest,
and in either case among the N // 2 smallest (no label loses more than half; a label of one document
keeps it for training). Workers apply it as one hash threshold per label. Only the id decides, never the input
order or the Ray task layout, so every worker agrees with the driver's plan and reruns pick the same
documents; a repeated document (tier epochs > 1) is therefore held out as a whole, every copy.

The thresholds come from one pass over the labels (`HeldOutChooser`: one per labelled part, fed by that part's
bucket-count task, merged by the driver), which keeps only each label's smallest hashes: memory does not grow with
the corpus.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from sciloom.mixer.config import HeldOutConfig

HELD_OUT_FOLDER = "held_out"
HASH_RANGE = 1 << 64
_TRACKED_PER_LABEL = 1024  # smallest hashes kept per label: enough for the minimum and for capping small labels

BucketKey = tuple[str, str, str]  # (source, discipline, tier)


def id_hash(doc_id: str) -> int:
    """64-bit hash of a document id; a personalised blake2b so it is independent of the mixer's copy hashes."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"sciloom-heldout").digest(), "big")


@dataclass(frozen=True)
class HeldOutRule:
    """What a worker needs to decide: per label, held out iff id_hash(id) < threshold."""

    thresholds: dict[str, int]

    def is_held_out(self, doc_id: str, label: str) -> bool:
        if label not in self.thresholds:
            raise ValueError(f"label {label!r} of document {doc_id!r} was not in the corpus the held-out set was "
                             f"chosen from: the labelled parts changed while mixing")
        return id_hash(doc_id) < self.thresholds[label]


@dataclass(frozen=True)
class Moved:
    """A document whose side differs from what the share alone decides (the bucket counts must follow it)."""

    key: BucketKey
    nbytes: int
    held_out: bool


class HeldOutChooser:
    """Sees every usable document once (hash, bucket, bytes) and derives the per-label thresholds."""

    def __init__(self, config: HeldOutConfig) -> None:
        self.share_threshold = int(config.share * HASH_RANGE)
        self.minimum = config.min_documents_per_label
        self.documents: Counter = Counter()
        self.below_share: Counter = Counter()
        self._keep = max(_TRACKED_PER_LABEL, self.minimum)
        self._smallest: dict[str, list[tuple[int, BucketKey, int]]] = defaultdict(list)

    def add(self, doc_hash: int, key: BucketKey, nbytes: int) -> bool:
        """Count one document; returns whether the share alone holds it out."""
        label = key[1]
        below = doc_hash < self.share_threshold
        self.documents[label] += 1
        self.below_share[label] += below
        smallest = self._smallest[label]
        smallest.append((doc_hash, key, nbytes))
        if len(smallest) >= 2 * self._keep:
            self._trim(smallest)
        return below

    def merge(self, other: HeldOutChooser) -> None:
        """Take in another chooser's documents (one part's, counted by its own task): as if added here."""
        self.documents.update(other.documents)
        self.below_share.update(other.below_share)
        for label, entries in other._smallest.items():
            smallest = self._smallest[label]
            smallest += entries
            if len(smallest) >= 2 * self._keep:
                self._trim(smallest)

    def trim(self) -> None:
        """Drop every tracked hash that can no longer be among its label's smallest (before sending a part's)."""
        for smallest in self._smallest.values():
            self._trim(smallest)

    def _trim(self, smallest: list[tuple[int, BucketKey, int]]) -> None:
        smallest.sort()
        del smallest[self._keep:]

    def finish(self) -> tuple[HeldOutRule, list[Moved]]:
        thresholds: dict[str, int] = {}
        moved: list[Moved] = []
        for label in sorted(self.documents):
            count, below = self.documents[label], self.below_share[label]
            smallest = sorted(self._smallest[label])[:self._keep]
            hashes = [h for h, _, _ in smallest]
            threshold = self.share_threshold
            if self.minimum:
                threshold = max(threshold, hashes[min(self.minimum, len(hashes)) - 1] + 1)
            held = below + sum(self.share_threshold <= h < threshold for h in hashes)
            half = count // 2
            if held > half:
                if below > len(hashes):  # more than 1024 ids below `share` yet over half the label: ids repeat
                    raise ValueError(f"held-out choice for label {label!r}: {below} of {count} documents hash below "
                                     f"the share; document ids must be unique")
                threshold = hashes[half]  # the (half+1)-th smallest hash stays in training, and all above it
            thresholds[label] = threshold
            moved += [Moved(key, nbytes, h < threshold) for h, key, nbytes in smallest
                      if (h < self.share_threshold) != (h < threshold)]
        return HeldOutRule(thresholds), moved
