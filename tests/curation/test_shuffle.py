"""Shuffle files: each map task's rows reach exactly their partition, in order, from one file per map task."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sciloom.curation.shuffle import read_partition, shuffle_file, write_partitions, write_shuffle


def test_every_row_reaches_its_partition_in_order_and_empty_partitions_read_empty(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tasks = {}
    for task_id, rows in (("a", 1000), ("b", 0), ("c", 37)):
        table = pa.table({"key": rng.integers(0, 2**63, rows, dtype=np.uint64), "id": [f"{task_id}{i}" for i in range(rows)]},
                         schema=pa.schema([("key", pa.uint64()), ("id", pa.string())]))
        partition = rng.choice([0, 2, 3, 6], size=rows)  # partitions 1, 4, 5 and 7 get nothing from anyone
        write_partitions(tmp_path, task_id, table, partition, 8)
        tasks[task_id] = (table, partition)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.arrow", "b.arrow", "c.arrow"]
    for k in range(8):
        got = read_partition(tmp_path, ["a", "b", "c"], k)
        expected = pa.concat_tables([table.filter(pa.array(partition == k)) for table, partition in tasks.values()])
        assert got.schema == expected.schema and got.equals(expected), k
    assert read_partition(tmp_path, ["c", "a"], 2, columns=["id"]).column("id").to_pylist() == [
        i for task_id in ("c", "a") for i, p in zip(tasks[task_id][0].column("id").to_pylist(), tasks[task_id][1]) if p == 2]


def test_a_file_of_fewer_partitions_is_refused_by_name(tmp_path: Path) -> None:
    chunked = pa.concat_tables([pa.table({"x": [2, 3]}), pa.table({"x": [4]})])  # two chunks: still one batch
    write_shuffle(tmp_path, "a", [pa.table({"x": [1]}), chunked])
    assert read_partition(tmp_path, ["a"], 1).column("x").to_pylist() == [2, 3, 4]
    with pytest.raises(ValueError, match=f"{shuffle_file(tmp_path, 'a')} holds 2 partitions"):
        read_partition(tmp_path, ["a"], 2)
