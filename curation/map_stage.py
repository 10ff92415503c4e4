"""A stage that maps a chain of steps over each input: reader → steps → kept part + rejected part."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from sciloom.curation.document import REJECT_REASON, Document, schema_for
from sciloom.curation.executor import Task, bookkeeping_dir
from sciloom.curation.part_writer import PartWriter
from sciloom.curation.stats import StepStats
from sciloom.curation.step import Reader, Step

# Built inside the worker, so that models and open files are never pickled across processes.
ChainBuilder = Callable[[], tuple[Reader, list[Step]]]


def part_path(stage_dir: Path, task_id: str) -> Path:
    return stage_dir / f"part-{task_id}.parquet"


def rejected_path(stage_dir: Path, task_id: str) -> Path:
    """Rejected rows, with their reason: a dataset of their own beside the stage folder (`_<stage>/rejected/`)."""
    return bookkeeping_dir(stage_dir) / "rejected" / f"part-{task_id}.parquet"


def chain_columns(reader: Reader, steps: list[Step], location: str) -> tuple[dict[str, pa.DataType], dict[str, pa.DataType]]:
    """(columns of kept documents, columns of rejected ones): steps add columns, and may consume some."""
    every = reader.output_columns(location)
    for step in steps:
        every.update(step.columns)
    removed = {name for step in steps for name in step.removes}
    kept = {name: dtype for name, dtype in every.items() if name not in removed}
    return kept, {**every, REJECT_REASON: pa.string()}


def map_documents(build: ChainBuilder, metadata: dict[str, str] | None = None) -> Callable[[Task, Path], list[StepStats]]:
    """A task function (see executor.run_stage) running the chain over each of the task's inputs; `metadata` goes
    into every part's Parquet key-value metadata (part_writer.provenance)."""

    def run(task: Task, stage_dir: Path) -> list[StepStats]:
        reader, steps = build()
        kept_cols, rejected_cols = chain_columns(reader, steps, task.inputs[0])
        with PartWriter(part_path(stage_dir, task.task_id), schema_for(kept_cols), metadata=metadata) as kept, \
                PartWriter(rejected_path(stage_dir, task.task_id), schema_for(rejected_cols), metadata=metadata) as rejected:
            for location in task.inputs:
                skipped_before = Counter(reader.stats.skipped)
                for doc in _chain(reader, steps, location, task.piece):
                    kept.write(doc)
                    _drain(steps, rejected)
                _drain(steps, rejected)
                if skipped := reader.stats.skipped - skipped_before:
                    reader.stats.skipped_inputs[location] = dict(skipped)
        return [reader.stats, *(step.stats for step in steps)]

    return run


def _chain(reader: Reader, steps: list[Step], location: str, piece: tuple[int, int] | None) -> Iterator[Document]:
    # Only the input reader reads a piece of a file (inputs.tasks_for splits only what it reads).
    docs: Iterator[Document] = reader.read(location, piece=piece) if piece else reader.read(location)
    for step in steps:
        docs = step.run(docs)
    return docs


def _drain(steps: list[Step], writer: PartWriter) -> None:
    for step in steps:
        for doc in step.rejected:
            writer.write(doc)
        step.rejected.clear()
