"""What the run report shows, read from the statistics the stages already wrote: never the corpus itself, except
bounded samples (a few thousand scores, a handful of example documents)."""
from __future__ import annotations

import importlib.metadata
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sciloom.curation.document import iter_parts, values_at
from sciloom.curation.executor import stats_path

RUN_REPORT = "run_report.json"
SCORE_SAMPLE = 20_000  # quality scores read for the histogram, at most
EXAMPLE_CLUSTERS = 3
PACKAGES = ("sciloom", "torch", "ray", "pyarrow", "trafilatura", "tokenizers", "transformers", "fasttext-numpy2-wheel")


class NoRunOutputs(FileNotFoundError):
    """The folder holds nothing a run writes: a report of it would be an empty page that looks like a run's."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(f"{run_dir}: no {RUN_REPORT} and no output of any phase (curation, classifiers, mixer, "
                         "trainer); give a run's output_dir")


@dataclass
class RunFacts:
    run_dir: Path
    summary: dict[str, Any]  # run_report.json, or what could be read of a run that did not finish
    curation: list[dict[str, Any]] = field(default_factory=list)  # stage statistics, in order
    classifiers: dict[str, Any] | None = None  # classifiers_report.json
    quality_scores: list[float] = field(default_factory=list)
    dedup_examples: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    training: dict[str, Any] | None = None  # trainer report.json
    loss_curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    model_cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)  # stage folder -> documents per input source
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def has_outputs(self) -> bool:
        return bool(self.summary.get("run") or self.curation or self.sources or self.classifiers or self.plan
                    or self.training or self.loss_curves)

    @property
    def name(self) -> str:
        return str(self.summary.get("run") or self.run_dir.name)


def collect(run_dir: Path) -> RunFacts:
    run_dir = Path(run_dir)
    summary = _json(run_dir / RUN_REPORT) or {"output_dir": str(run_dir)}
    facts = RunFacts(run_dir, summary, versions=_versions())
    facts.curation = summary.get("curation") or _curation_from_stats(run_dir / "curation")
    for folder in ("curation/extract", "curation/curated", "classifiers/labelled"):
        if (run_dir / folder).is_dir():
            facts.sources[folder] = _value_counts(run_dir / folder, "source")
    facts.classifiers = _json(run_dir / "classifiers" / "classifiers_report.json")
    if (run_dir / "classifiers" / "labelled").is_dir():
        facts.quality_scores = _column_sample(run_dir / "classifiers" / "labelled", "quality_score", SCORE_SAMPLE)
    facts.dedup_examples = _dedup_examples(run_dir / "curation")
    facts.plan = _json(run_dir / "mixer" / "plan.json")
    training = summary.get("training") or {}
    facts.training = _json(Path(training["report"])) if training.get("report") else _json(run_dir / "trainer" / "report.json")
    facts.loss_curves = _loss_curves(run_dir / "trainer")
    models_dir = (summary.get("classification") or {}).get("models_dir") or (facts.classifiers or {}).get("models_dir")
    if models_dir:
        facts.model_cards = {p.stem: _json(p) for p in sorted(Path(models_dir).glob("*.json"))}
    if not facts.has_outputs:
        raise NoRunOutputs(run_dir)
    return facts


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _curation_from_stats(curation_dir: Path) -> list[dict[str, Any]]:
    """A run that stopped before writing run_report.json: the stages that finished wrote their own statistics."""
    stages = []
    for stage_dir in [curation_dir / "extract", *sorted((curation_dir / "dedup").glob("[!_]*")), curation_dir / "curated"]:
        stats = _json(stats_path(stage_dir))
        if stats:
            stages.append(stats)
    return stages


def _value_counts(folder: Path, column: str) -> dict[str, int]:
    """Rows per value of one short column, counted batch by batch: the text is never read, and the column of a
    large run is never held whole (a source name per document is gigabytes at a snapshot's size)."""
    counts: Counter[str] = Counter()
    for part in iter_parts(folder):
        for batch in pq.ParquetFile(part).iter_batches(columns=[column], use_threads=False):
            for row in pc.value_counts(batch.column(column)).to_pylist():
                counts[str(row["values"])] += row["counts"]
    return dict(counts)


def _column_sample(folder: Path, column: str, limit: int) -> list[float]:
    """At most `limit` values of a column, the first rows of every part alike: the first rows of the folder would
    all be the first input's (a corpus of several sources showed one source's histogram)."""
    dataset = ds.dataset(folder, format="parquet")
    if column not in dataset.schema.names:
        return []
    fragments = list(dataset.get_fragments())
    each = max(1, limit // max(1, len(fragments)))
    values: list[float] = []
    for fragment in fragments[:limit]:
        values += [v for v in fragment.head(each, columns=[column]).column(column).to_pylist() if v is not None]
    return values[:limit]


def _dedup_examples(curation_dir: Path) -> list[dict[str, Any]]:
    """A few removed documents next to the kept one they duplicate. Reads stop once found: the removed documents'
    batches until 50 with a duplicate are seen, then the kept parts' id column until the kept ones are, and their
    text alone (both folders were read whole before: seconds per 100,000 documents, hours for a snapshot)."""
    rejected, curated = curation_dir / "_curated" / "rejected", curation_dir / "curated"
    if not rejected.is_dir() or not curated.is_dir():
        return []
    removed = ds.dataset(rejected, format="parquet")
    if "duplicate_of" not in removed.schema.names:
        return []
    rows: list[dict[str, Any]] = []
    for batch in removed.scanner(columns=["id", "text", "reject_reason", "duplicate_of"],
                                 filter=ds.field("duplicate_of").is_valid(), batch_size=256).to_batches():
        rows += batch.to_pylist()[:50 - len(rows)]
        if len(rows) >= 50:
            break
    chosen: dict[str, dict[str, Any]] = {}
    for row in rows:  # one example per reason first
        chosen.setdefault(row["reject_reason"], row)
    examples = list(chosen.values())[:EXAMPLE_CLUSTERS]
    wanted = {row["duplicate_of"] for row in examples}
    text_of: dict[str, str] = {}
    for part in iter_parts(curated):
        if not wanted - text_of.keys():
            break
        ids = pq.read_table(part, columns=["id"]).column("id")
        rows = np.flatnonzero(pc.is_in(ids, value_set=pa.array(sorted(wanted))).to_numpy(zero_copy_only=False)).tolist()
        if rows:
            text_of.update(zip(ids.take(rows).to_pylist(), values_at(part, rows, "text")))
    return [{**row, "kept_text": text_of.get(row["duplicate_of"], "")} for row in examples]


def _loss_curves(trainer_dir: Path) -> dict[str, list[tuple[float, float]]]:
    curves = {}
    for metrics in sorted(trainer_dir.glob("**/metrics.jsonl")):
        points = []
        for line in metrics.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                points.append((float(record["step"]), float(record["loss"])))
        if points:
            curves[str(metrics.parent.relative_to(trainer_dir))] = points[-400:]
    return curves


def _versions() -> dict[str, str]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
