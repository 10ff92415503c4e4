"""Per-step counters: documents and bytes in and out, why documents were dropped or skipped, time spent."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepStats:
    """Counters of one step in one task; tasks' counters are merged into a stage's.

    `rejected` counts documents a filter removed (they are written aside with their reason);
    `skipped` counts input that could not become a document at all (a malformed record, a page over the
    size cap); no input disappears without landing in one of the two. `notes` counts things worth knowing
    about documents that went on (e.g. decoded with a fallback charset): they are neither lost nor dropped.
    A reader's `skipped_inputs` says which of its task's input files the skips came from; it is written in the
    task's marker (input_problems reads it there) and not merged into a stage's counters.
    """

    name: str
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    rejected: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    skipped_inputs: dict[str, dict[str, int]] = field(default_factory=dict)

    @contextmanager
    def timer(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def merge(self, other: StepStats) -> None:
        if other.name != self.name:
            raise ValueError(f"cannot merge stats of step {other.name!r} into {self.name!r}")
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        self.rejected.update(other.rejected)
        self.skipped.update(other.skipped)
        self.notes.update(other.notes)

    def to_dict(self) -> dict[str, Any]:
        per_input = {"skipped_inputs": self.skipped_inputs} if self.skipped_inputs else {}
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 4),
            "rejected": dict(sorted(self.rejected.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "notes": dict(sorted(self.notes.items())),
            **per_input,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepStats:
        return cls(
            name=data["name"],
            docs_in=data["docs_in"],
            docs_out=data["docs_out"],
            bytes_in=data["bytes_in"],
            bytes_out=data["bytes_out"],
            seconds=data["seconds"],
            rejected=Counter(data["rejected"]),
            skipped=Counter(data["skipped"]),
            notes=Counter(data.get("notes", {})),
        )


def merge_step_stats(per_task: Iterable[list[dict[str, Any]]]) -> list[StepStats]:
    """Merge the step lists of many tasks, keeping the order in which steps ran."""
    merged: dict[str, StepStats] = {}
    for steps in per_task:
        for data in steps:
            stats = StepStats.from_dict(data)
            if stats.name in merged:
                merged[stats.name].merge(stats)
            else:
                merged[stats.name] = stats
    return list(merged.values())
