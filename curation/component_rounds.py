"""Connected components of a graph too large for one task: its edges live in hash-partitioned shuffle files, each
round is one resumable stage of `num_partitions` tasks, and no task holds more than one partition's edges.

The rounds alternate large-star and small-star (Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii,
"Connected Components in MapReduce and Beyond", SoCC 2014): O(log² n) rounds in the worst case, a few on the
small, dense clusters of near-duplicates. Label propagation instead needs one round per unit of graph diameter.

An edge travels as a row (a, b), "b is a neighbour of a", in a's partition (`node_partition`).
- start: each source task's edges (the caller's) are replaced by the stars of their own connected components
  (every node to the smallest node of its local component): the same components, and a clique of c nodes leaves
  c - 1 edges.
- large-star at a: each larger neighbour of a is re-attached to m(a), the smallest of a and its neighbours. It needs
  every edge at both ends.
- small-star at a: a and its smaller neighbours are attached to the smallest of them. It needs each edge at its
  larger end only.
When a large-star round and the small-star round after it change no edge, every node with a larger neighbour has
no smaller one and every node has at most one smaller neighbour: each component is a star around its smallest
node, which is its label. The labels are then shuffled by the node's index part (`node >> 32`) for the caller.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from sciloom.curation.components import connected_components
from sciloom.curation.executor import StageReport, Task
from sciloom.curation.lsh import fmix64
from sciloom.curation.shuffle import partition_names, read_partition, write_partitions
from sciloom.curation.stats import StepStats

EDGE_SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.int64())])
# A document that goes (an exact or near duplicate, a contained document) and the one it goes to: the edges the
# dedup steps hand to the components, shuffled by the document that goes.
MOVE_SCHEMA = pa.schema([("moved", pa.int64()), ("to", pa.int64())])
MOVES_DIR = "moves"
LABEL_SCHEMA = pa.schema([("node", pa.int64()), ("label", pa.int64())])
CHANGED = "edges_changed"
# Kiveris et al. bound the rounds by O(log² n); more than this many means the rounds do not converge: a defect.
MAX_ROUNDS = 200

# (stage name, stage folder, tasks, task function) -> the stage's report
RunStage = Callable[[str, Path, list[Task], Callable[[Task, Path], list[StepStats]]], StageReport]
# (task) -> that source task's edges (u, v), in any order and with repeats
EdgeSource = Callable[[Task], tuple[np.ndarray, np.ndarray, StepStats]]


def node_partition(nodes: np.ndarray, num_partitions: int) -> np.ndarray:
    """Each node's partition: murmur3's 64-bit finaliser of the node, modulo `num_partitions` (nodes are
    `part << 32 | row`: the low bits alone would put a part's consecutive rows in consecutive partitions)."""
    mixed = fmix64(np.asarray(nodes, dtype=np.int64).astype(np.uint64))
    return (mixed % np.uint64(num_partitions)).astype(np.int64)


def partitions_for(edges: int, edges_per_partition: int, most: int) -> int:
    """How many partitions the rounds over about `edges` edges use: one per `edges_per_partition`, 1 to `most`."""
    return max(1, min(most, -(-edges // edges_per_partition)))


def run_components(run_stage: RunStage, name: str, folder: Path, sources: list[Task], edges: EdgeSource,
                   num_partitions: int, num_parts: int) -> tuple[Path, StageReport]:
    """Run the rounds under `folder` (one stage folder per round, `name_large_3` and so on: a rerun resumes them)
    over `num_partitions` partitions, the first stage reading the edges of each of the `sources` tasks, and return
    the folder of the labels, one shuffle file per partition holding a batch per index part (`node`, `label`: its
    component's smallest node; nodes that `edges` never names have none), and one report `name` of every round
    (its labels step notes the number of rounds)."""
    partitions = [Task(task_id, ()) for task_id in partition_names(num_partitions)]
    previous, writers = folder / "round-000-start", [task.task_id for task in sources]
    reports = [run_stage(f"{name}_start", previous, sources, partial(_start, edges, num_partitions))]
    for round_ in itertools.count(1):
        if round_ > MAX_ROUNDS:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds under {folder}")
        large, small = folder / f"round-{round_:03d}-large", folder / f"round-{round_:03d}-small"
        reports.append(run_stage(f"{name}_large_{round_}", large, partitions,
                                 partial(_large_star, previous, writers, num_partitions)))
        reports.append(run_stage(f"{name}_small_{round_}", small, partitions,
                                 partial(_small_star, large, partition_names(num_partitions), num_partitions)))
        previous, writers = small, partition_names(num_partitions)
        if _changed(reports[-2]) + _changed(reports[-1]) == 0:
            break
    labels = folder / "labels"
    reports.append(run_stage(f"{name}_labels", labels, partitions,
                             partial(_labels, previous, writers, num_parts)))
    reports[-1].steps[0].notes["rounds"] = round_
    return labels, StageReport.combined(name, folder, reports)


def write_moves(stage_dir: Path, task_id: str, moved: np.ndarray, to: np.ndarray, num_partitions: int) -> None:
    """One task's moves (`moved[i]` goes to `to[i]`) under `stage_dir/moves`, shuffled by the node that goes."""
    write_partitions(stage_dir / MOVES_DIR, task_id, pa.table({"moved": moved, "to": to}, schema=MOVE_SCHEMA),
                     node_partition(moved, num_partitions), num_partitions)


def read_moves(stage_dir: Path, task_ids: list[str], partition: int) -> tuple[np.ndarray, np.ndarray]:
    """One partition's moves written by the tasks `task_ids` of the stage in `stage_dir`."""
    table = read_partition(stage_dir / MOVES_DIR, task_ids, partition)
    return table.column("moved").to_numpy(), table.column("to").to_numpy()


def read_labels(labels: Path, num_partitions: int, part_position: int) -> pa.Table:
    """The (node, label) rows of one index part's nodes, sorted by node."""
    table = read_partition(labels, partition_names(num_partitions), part_position)
    return table.sort_by("node")


def _changed(report: StageReport) -> int:
    return sum(step.notes.get(CHANGED, 0) for step in report.steps)


def _send(stage_dir: Path, task: Task, a: np.ndarray, b: np.ndarray, num_partitions: int, both_ends: bool) -> None:
    if both_ends:
        a, b = np.concatenate([a, b]), np.concatenate([b, a])
    write_partitions(stage_dir, task.task_id, pa.table({"a": a, "b": b}, schema=EDGE_SCHEMA),
                     node_partition(a, num_partitions), num_partitions)


def _receive(source: Path, writers: list[str], task: Task) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This partition's edges, from the files of the tasks `writers` of the stage in `source`, each once, sorted by
    (a, b); and where each a's run of rows starts."""
    table = read_partition(source, writers, int(task.task_id))
    a, b = table.column("a").to_numpy(), table.column("b").to_numpy()
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b = a[keep], b[keep]
    first = np.ones(len(a), dtype=bool)
    first[1:] = a[1:] != a[:-1]
    return a, b, first


def _start(edges: EdgeSource, num_partitions: int, task: Task, stage_dir: Path) -> list[StepStats]:
    u, v, stats = edges(task)
    with stats.timer():
        nodes = np.unique(np.concatenate([u, v]))
        local = connected_components(len(nodes), np.searchsorted(nodes, u), np.searchsorted(nodes, v))
        attached = local != np.arange(len(nodes))
        _send(stage_dir, task, nodes[attached], nodes[local[attached]], num_partitions, both_ends=True)
        stats.notes["edges_out"] += int(attached.sum())
    return [stats]


def _large_star(source: Path, writers: list[str], num_partitions: int, task: Task, stage_dir: Path) -> list[StepStats]:
    stats = StepStats("components_large_star")
    with stats.timer():
        a, b, first = _receive(source, writers, task)
        group = np.cumsum(first) - 1
        smallest = np.minimum(a, np.minimum.reduceat(b, np.flatnonzero(first))[group]) if len(a) else a
        larger = b > a
        # each larger neighbour b of a goes to m(a) (< b): an edge at its larger end, as small-star reads it
        _send(stage_dir, task, b[larger], smallest[larger], num_partitions, both_ends=False)
        stats.notes["edges_in"] += len(a)
        stats.notes[CHANGED] += int(np.count_nonzero(larger & (smallest < a)))
    return [stats]


def _small_star(source: Path, writers: list[str], num_partitions: int, task: Task, stage_dir: Path) -> list[StepStats]:
    stats = StepStats("components_small_star")
    with stats.timer():
        a, b, first = _receive(source, writers, task)  # b < a: each edge at its larger end
        smallest = b[first][np.cumsum(first) - 1]  # rows sorted by (a, b): a run's first b is its smallest
        moved = b != smallest
        _send(stage_dir, task, np.concatenate([a[first], b[moved]]), np.concatenate([smallest[first], smallest[moved]]),
              num_partitions, both_ends=True)
        stats.notes["edges_in"] += len(a)
        stats.notes[CHANGED] += int(np.count_nonzero(moved))
    return [stats]


def _labels(source: Path, writers: list[str], num_parts: int, task: Task, stage_dir: Path) -> list[StepStats]:
    stats = StepStats("components_labels")
    with stats.timer():
        a, b, first = _receive(source, writers, task)  # stars, every edge at both ends
        starts = np.flatnonzero(first)
        nodes = a[starts]
        labels = np.minimum(nodes, b[starts])  # a leaf's one neighbour is its centre; a centre's are all larger
        write_partitions(stage_dir, task.task_id, pa.table({"node": nodes, "label": labels}, schema=LABEL_SCHEMA),
                         nodes >> 32, num_parts)
        stats.notes["nodes"] += len(nodes)
        stats.notes["components"] += int(np.count_nonzero(labels == nodes))
    return [stats]
