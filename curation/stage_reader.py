"""Reading an earlier stage's Parquet parts as the input of the next stage."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from sciloom.curation.document import Document, parquet_columns, read_documents
from sciloom.curation.executor import Task
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
    """One task per part of the earlier stage, keeping its task id so outputs line up file by file."""
    parts = sorted(stage_dir.glob("part-*.parquet"))
    return [Task(task_id=p.stem.removeprefix("part-"), inputs=(str(p),)) for p in parts]
