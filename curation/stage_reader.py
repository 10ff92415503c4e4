"""Reading an earlier stage's Parquet parts as the input of the next stage."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from sciloom.curation.document import Document, parquet_columns, read_documents
from sciloom.curation.executor import Task, recorded_output
from sciloom.curation.step import Reader


class StageOutputReader(Reader):
    name = "read_parquet"

    def output_columns(self, location: str) -> dict[str, pa.DataType]:
        return parquet_columns(location)

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        for doc in read_documents(location):
            self.stats.docs_in += 1
            self.keep(doc)
            yield doc


def tasks_over_stage(stage_dir: Path) -> list[Task]:
    """One task per part of the earlier stage, keeping its task id so outputs line up file by file. A task's
    settings are its part's size and crc32: what it computes depends on those bytes alone, so a part written again
    the same (an input added beside it; dedup, which spans parts, done again) keeps its finished task, and a part
    whose bytes changed is done again."""
    parts = sorted(stage_dir.glob("part-*.parquet"))
    return [Task(task_id=task_id, inputs=(str(p),), settings={"part": recorded_output(stage_dir, task_id, p)})
            for p in parts for task_id in [p.stem.removeprefix("part-")]]
