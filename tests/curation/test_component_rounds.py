"""Connected components in rounds of Ray stages (component_rounds), against scipy's connected components."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from sciloom.curation.component_rounds import node_partition, partitions_for, read_labels, run_components
from sciloom.curation.executor import Task, run_stage
from sciloom.curation.stats import StepStats

NUM_PARTS = 4
SOURCES = 3  # tasks handing edges to the rounds, whatever number of partitions the rounds use


def _edges_of_source(path: Path, task: Task) -> tuple[np.ndarray, np.ndarray, StepStats]:
    """Every SOURCES-th edge of the file: a source's edges may name any node."""
    edges = np.load(path)
    k = int(task.task_id)
    return edges["u"][k::SOURCES], edges["v"][k::SOURCES], StepStats("test_edges")


def _labels(tmp_path: Path, u: np.ndarray, v: np.ndarray, num_partitions: int) -> tuple[dict[int, int], list]:
    np.savez(tmp_path / "edges.npz", u=u, v=v)
    reports = []

    def stage(name, folder, tasks, fn):
        reports.append(run_stage(name, folder, tasks, fn, show_progress=False))
        return reports[-1]

    sources = [Task(f"{k:05d}", ()) for k in range(SOURCES)]
    folder, combined = run_components(stage, "dedup_components", tmp_path / "rounds", sources,
                                      partial(_edges_of_source, tmp_path / "edges.npz"), num_partitions, NUM_PARTS)
    labels = {}
    for position in range(NUM_PARTS):
        table = read_labels(folder, num_partitions, position)
        assert (table.column("node").to_numpy() >> 32 == position).all()
        labels.update(zip(table.column("node").to_pylist(), table.column("label").to_pylist()))
    rounds = sum(r.stage.startswith("dedup_components_large") for r in reports)
    assert combined.tasks_total == SOURCES + (len(reports) - 1) * num_partitions
    assert [s.name for s in combined.steps][-1] == "components_labels"
    assert combined.steps[-1].notes["rounds"] == rounds
    return labels, reports


def _reference(u: np.ndarray, v: np.ndarray) -> dict[int, int]:
    """Each node named by an edge -> the smallest node of its component, by scipy."""
    nodes = np.unique(np.concatenate([u, v]))
    n = len(nodes)
    graph = coo_matrix((np.ones(len(u)), (np.searchsorted(nodes, u), np.searchsorted(nodes, v))), shape=(n, n))
    _, component = scipy_components(graph, directed=False)
    smallest = np.full(component.max() + 1 if n else 0, np.iinfo(np.int64).max)
    np.minimum.at(smallest, component, nodes)
    return dict(zip(nodes.tolist(), smallest[component].tolist()))


def _nodes(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct nodes `part << 32 | row` over NUM_PARTS parts."""
    node = (rng.integers(0, NUM_PARTS, count * 2).astype(np.int64) << 32) | rng.integers(0, 5_000, count * 2)
    return rng.permutation(np.unique(node))[:count]


@pytest.mark.parametrize("seed", range(4))
def test_random_graphs_get_scipys_components(ray_session, tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = _nodes(rng, 600)
    # cliques (documents sharing LSH buckets), chains between them, and repeated edges
    u, v = [], []
    for clique in np.array_split(nodes[:400], 80):
        a, b = np.triu_indices(len(clique), 1)
        u.append(clique[a]), v.append(clique[b])
    picks = rng.integers(0, len(nodes), (250, 2))
    u.append(nodes[picks[:, 0]]), v.append(nodes[picks[:, 1]])
    u, v = np.concatenate(u), np.concatenate(v)
    u, v = np.concatenate([u, v[:50]]), np.concatenate([v, u[:50]])
    labels, _ = _labels(tmp_path, u, v, num_partitions=3)
    expected = _reference(u, v)
    assert labels == expected
    assert len(set(expected.values())) > 5


def test_a_long_chain_in_random_order_converges_to_one_label(ray_session, tmp_path: Path) -> None:
    """A path: the diameter that label propagation needs a round per step of."""
    nodes = _nodes(np.random.default_rng(7), 3_000)
    labels, reports = _labels(tmp_path, nodes[:-1], nodes[1:], num_partitions=4)
    assert labels == dict.fromkeys(nodes.tolist(), int(nodes.min()))
    rounds = sum(r.stage.startswith("dedup_components_large") for r in reports)
    assert rounds < 40  # against 3,000 for label propagation


def test_no_edges_gives_no_labels(ray_session, tmp_path: Path) -> None:
    empty = np.array([], dtype=np.int64)
    labels, reports = _labels(tmp_path, empty, empty, num_partitions=2)
    assert labels == {}


def test_a_rerun_resumes_every_round(ray_session, tmp_path: Path) -> None:
    nodes = _nodes(np.random.default_rng(3), 400)
    first, reports = _labels(tmp_path, nodes[:-1:2], nodes[1::2], num_partitions=2)
    again, rerun = _labels(tmp_path, nodes[:-1:2], nodes[1::2], num_partitions=2)
    assert again == first
    assert [r.stage for r in rerun] == [r.stage for r in reports]
    assert all(r.tasks_skipped == r.tasks_total for r in rerun)


def test_partitions_follow_the_edges_up_to_the_most_allowed() -> None:
    assert [partitions_for(edges, 1_000, 8) for edges in (0, 1, 1_000, 1_001, 7_999, 10**9)] == [1, 1, 1, 2, 8, 8]


def test_node_partitions_spread_one_parts_consecutive_rows() -> None:
    rows = (np.int64(3) << 32) | np.arange(10_000, dtype=np.int64)
    counts = np.bincount(node_partition(rows, 8), minlength=8)
    assert counts.min() > 1_100 and counts.max() < 1_400
    assert (node_partition(rows, 8) == node_partition(rows.copy(), 8)).all()
