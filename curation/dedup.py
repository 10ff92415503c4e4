"""Deduplication as resumable Ray stages: index → exact → LSH buckets → shared buckets → signatures → verified
pairs → components → containment → filter.

`run_dedup` reads the parts of the previous stage (`input_dir/part-*.parquet`), keeps intermediate results
under `work_dir` (each phase a `run_stage` folder, so a rerun resumes), and writes the kept documents to
`curated_dir/part-*.parquet` (one per input part, same task id) with `exact_hash`, `dedup_cluster` and
`containment` columns; removed ones go to `_curated/rejected/` (beside `curated_dir`) with reason `dedup:exact_duplicate`,
`dedup:fuzzy_duplicate` or `dedup:contained`. `work_dir/signatures` is this run's reusable index: pass it as
`reference_signatures` to deduplicate a later snapshot against this one without recomputing it.
`work_dir/lsh.json` records the bands × rows derived from the threshold and their false-positive and
false-negative areas. `work_dir/containment/index` holds the n-grams of this run's kept documents: pass it
in `containment.reference_indexes` so a later run removes documents contained in this run's output.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.curation.components import connected_components, representatives
from sciloom.curation.containment import (CONTAINED_FILE, BloomFilter, containment_task, judge_containment,
                                          ngram_task, read_reference_indexes, reference_index_metas)
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.document import REJECT_REASON, parquet_columns, read_documents, schema_for
from sciloom.curation.exact_dedup import (CONTAINED, DECISIONS_DIR, EXACT_DUPLICATE, FUZZY_DUPLICATE, META_FILE,
                                          IndexPart, exact_decisions_task, exact_keys_task, exact_task, index_task,
                                          read_decisions, reference_parts, signature_meta)
from sciloom.curation.executor import StageReport, Task, bookkeeping_dir, run_stage
from sciloom.curation.fuzzy_dedup import bucket_task, components_task, pairs_task, shared_task, signatures_task
from sciloom.curation.lsh import band_keys, shared_buckets, verified_pairs
from sciloom.curation.map_stage import part_path, rejected_path
from sciloom.curation.minhash import MinHasher, ngram_sets
from sciloom.curation.normalize import exact_hashes
from sciloom.curation.part_writer import PartWriter, provenance
from sciloom.curation.stage_reader import tasks_over_stage
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.stats import StepStats

DEDUP_COLUMNS: dict[str, pa.DataType] = {"exact_hash": pa.string(), "dedup_cluster": pa.string(),
                                         "duplicate_of": pa.string(), "containment": pa.float32()}
STEP_NAME = "dedup"
_ALL = Task("all", ())


def run_dedup(config: DedupConfig, input_dir: Path, work_dir: Path, curated_dir: Path,
              show_progress: bool = True, recipe_hash: str | None = None) -> list[StageReport]:
    tasks = tasks_over_stage(input_dir)
    if not tasks:
        raise ValueError(f"dedup: no part-*.parquet files in {input_dir}")
    reference_index_metas(config.containment)  # refuse an incompatible earlier index before any work
    reports: list[StageReport] = []
    stage = partial(_stage, reports, show_progress)
    index_dir = work_dir / "signatures"
    index_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(index_dir / META_FILE, signature_meta(config))
    stage("dedup_index", index_dir, tasks, partial(index_task, config))
    parts = [IndexPart(t.task_id, index_dir / f"part-{t.task_id}.parquet", False) for t in tasks]
    parts += reference_parts(config)
    _redo_if_inputs_changed(config, parts, work_dir, curated_dir)

    decisions: Path | None = None
    partitions = [Task(f"{i:05d}", ()) for i in range(config.num_partitions)]
    if config.exact:
        keys_dir, removals_dir, decisions = work_dir / "exact_keys", work_dir / "exact", work_dir / "exact_decisions"
        stage("dedup_exact_keys", keys_dir, [Task(p.name, (str(p.path),)) for p in parts],
              partial(exact_keys_task, config.num_partitions, parts))
        stage("dedup_exact", removals_dir, partitions, partial(exact_task, parts, keys_dir))
        stage("dedup_exact_decisions", decisions, tasks, partial(exact_decisions_task, config.num_partitions, removals_dir))
    if config.fuzzy:
        bucket_dir, pairs_dir = work_dir / "lsh_buckets", work_dir / "lsh_pairs"
        write_json_atomic(work_dir / "lsh.json", {"threshold": config.threshold, "num_perm": config.num_perm,
                                                  **dataclasses.asdict(config.lsh)})
        stage("dedup_lsh_buckets", bucket_dir, [Task(p.name, (str(p.path),)) for p in parts],
              partial(bucket_task, config, parts, decisions))
        shared_dir, signature_dir = work_dir / "lsh_shared", work_dir / "lsh_signatures"
        stage("dedup_lsh_shared", shared_dir, partitions, partial(shared_task, bucket_dir, parts))
        stage("dedup_lsh_signatures", signature_dir, [Task(p.name, (str(p.path),)) for p in parts],
              partial(signatures_task, config, shared_dir, parts))
        stage("dedup_lsh_pairs", pairs_dir, partitions, partial(pairs_task, config, shared_dir, signature_dir, parts))
        stage("dedup_fuzzy", work_dir / "fuzzy", [_ALL], partial(components_task, parts, pairs_dir, decisions))
        decisions = work_dir / "fuzzy" / DECISIONS_DIR
    containment: Path | None = None
    if config.containment.enabled:
        ngram_dir = work_dir / "containment_ngrams"
        stage("dedup_containment_ngrams", ngram_dir, tasks, partial(ngram_task, config.containment, decisions))
        stage("dedup_containment", work_dir / "containment", [_ALL],
              partial(containment_task, config.containment, ngram_dir, [t.task_id for t in tasks]))
        containment = work_dir / "containment"
    stage("dedup_filter", curated_dir, tasks,
          partial(filter_task, index_dir, decisions, containment, provenance(recipe_hash)))
    return reports


@dataclass(frozen=True)
class Verdict:
    id: str
    cluster: str  # id of the kept document of its cluster (its own when kept; a contained one joins what it copies)
    reason: str | None  # None when kept, else exact_duplicate / fuzzy_duplicate / contained
    containment: float | None

    @property
    def duplicate_of(self) -> str | None:
        """What a removed document duplicates (None when kept, or copied from an earlier run's index)."""
        return self.cluster if self.reason is not None and self.cluster != self.id else None


_INPUTS_FILE = "inputs.json"
# Stages whose results depend on every part (node ids are part positions; decisions span parts), per-part
# signatures excepted: they depend on their own part only and stay valid.
_WHOLE_CORPUS_STAGES = ("exact_keys", "exact", "exact_decisions", "lsh_buckets", "lsh_shared", "lsh_signatures",
                        "lsh_pairs", "fuzzy", "containment_ngrams", "containment")


def _redo_if_inputs_changed(config: DedupConfig, parts: list[IndexPart], work_dir: Path, curated_dir: Path) -> None:
    """A rerun over other parts (an input added or removed, another reference index) redoes every stage that
    spans parts; resuming them would keep decisions, and LSH node ids, of the earlier part list."""
    inputs = {"parts": [[p.name, p.reference] for p in parts], "config": config.model_dump(mode="json")}
    record = work_dir / _INPUTS_FILE
    earlier = json.loads(record.read_text()) if record.is_file() else inputs
    if earlier != inputs:
        before = len(earlier.get("parts", []))
        print(f"dedup: the inputs changed since the last run ({before} -> {len(parts)} index parts, or settings): "
              f"redoing the dedup stages", file=sys.stderr)
        for name in _WHOLE_CORPUS_STAGES:
            shutil.rmtree(work_dir / name, ignore_errors=True)
            shutil.rmtree(bookkeeping_dir(work_dir / name), ignore_errors=True)
        shutil.rmtree(bookkeeping_dir(curated_dir), ignore_errors=True)  # every part is filtered again
        for part in curated_dir.glob("part-*.parquet"):
            part.unlink()
    write_json_atomic(record, inputs)


def dedup_documents(config: DedupConfig, ids: Sequence[str], texts: Sequence[str],
                    quality: Sequence[float | None] | None = None) -> list[Verdict]:
    """The same decisions as `run_dedup`, in memory for one small collection (the `sciloom dedup` filter).

    Input order is the containment order; ties between equal ids keep the earlier row.
    """
    n = len(texts)
    id_array = np.asarray(ids, dtype=str)
    q = np.array([np.nan if v is None else v for v in (quality or [None] * n)], dtype=np.float64)
    no_preference = np.zeros(n, dtype=bool)
    reason: list[str | None] = [None] * n
    cluster = np.arange(n)
    if config.exact:
        _, labels = np.unique(np.asarray(exact_hashes(texts), dtype=str), return_inverse=True)
        cluster = representatives(labels.reshape(-1), id_array, q, no_preference)
        for i in np.flatnonzero(cluster != np.arange(n)):
            reason[i] = EXACT_DUPLICATE
    alive = np.array([r is None for r in reason], dtype=bool)
    if config.fuzzy and alive.any():
        rows = np.flatnonzero(alive)
        hasher = MinHasher(config.num_perm, config.seed, config.ngram, config.shingle_hash)
        sig_NP = hasher.signature_batches([texts[i] for i in rows], config.batch_docs)
        keys_NB = band_keys(sig_NP, config.lsh.bands, config.lsh.rows)
        buckets = shared_buckets(np.tile(np.arange(config.lsh.bands), len(rows)), keys_NB.reshape(-1),
                                 np.repeat(np.arange(len(rows)), config.lsh.bands))
        u, v, verified, _ = verified_pairs(buckets, buckets.node, sig_NP, config.threshold,
                                           config.max_centres_per_bucket)
        u, v = u[verified], v[verified]
        rep = representatives(connected_components(len(rows), u, v), id_array[rows], q[rows], no_preference[rows])
        final = np.arange(n)
        final[rows] = rows[rep]
        for i in rows[rep != np.arange(len(rows))]:
            reason[i] = FUZZY_DUPLICATE
        cluster = final[cluster]  # exact duplicates follow their kept copy
    fractions: dict[int, float] = {}
    if config.containment.enabled:
        rows = [i for i in range(n) if reason[i] is None]
        grams = ngram_sets([texts[i] for i in rows], config.containment.ngram)
        bloom = BloomFilter.sized(sum(g.size for g in grams), config.containment.bloom_false_positive_rate)
        seen, contained, container = judge_containment(grams, config.containment, bloom,
                                                       read_reference_indexes(config.containment))
        for k, (i, fraction, hit) in enumerate(zip(rows, seen.tolist(), contained.tolist())):
            fractions[i] = None if np.isnan(fraction) else fraction
            if hit:
                reason[i] = CONTAINED
                if container[k] >= 0:
                    cluster[i] = rows[container[k]]  # the kept document it copies: its cluster is that one's
        cluster = cluster[cluster]  # duplicates of a document found contained follow it into its new cluster
    return [Verdict(str(id_array[i]), str(id_array[cluster[i]]), reason[i], fractions.get(i)) for i in range(n)]


def _stage(reports: list[StageReport], show_progress: bool, name: str, stage_dir: Path, tasks: list[Task], fn) -> None:
    reports.append(run_stage(name, stage_dir, tasks, fn, show_progress=show_progress))


def filter_task(index_dir: Path, decisions: Path | None, containment: Path | None, metadata: dict[str, str],
                task: Task, stage_dir: Path) -> list[StepStats]:
    """Write one input part's kept documents and, aside, its removed ones with their reason."""
    stats = StepStats(STEP_NAME)
    with stats.timer():
        removed: dict[str, tuple[str, str]] = {}
        if decisions is not None:
            d = read_decisions(decisions, task.task_id).to_pydict()
            removed = {i: (r, c) for i, r, c in zip(d["id"], d["reason"], d["cluster"])}
        fraction: dict[str, float | None] = {}
        if containment is not None:
            c = pq.read_table(part_path(containment, task.task_id)).to_pydict()
            fraction = dict(zip(c["id"], c["containment"]))
            # A contained document joins the cluster of the kept document it copies (it keeps its own when that
            # one is in an earlier run's index), and its own exact or fuzzy duplicates, in any part, follow it.
            found = pq.read_table(containment / CONTAINED_FILE)
            moved = {i: source for i, source in zip(found.column("id").to_pylist(),
                                                    found.column("duplicate_of").to_pylist()) if source}
            removed = {i: (r, moved.get(cluster) or cluster) for i, (r, cluster) in removed.items()}
            removed.update((i, (CONTAINED, source or i)) for i, hit, source in zip(c["id"], c["contained"],
                                                                                   c["duplicate_of"]) if hit)
        hashes = iter(pq.read_table(index_dir / f"part-{task.task_id}.parquet", columns=["exact_hash"])
                      .column("exact_hash").to_pylist())  # the index holds one row per input row, in order
        columns = {**parquet_columns(task.inputs[0]), **DEDUP_COLUMNS}
        with PartWriter(part_path(stage_dir, task.task_id), schema_for(columns), metadata=metadata) as kept, \
                PartWriter(rejected_path(stage_dir, task.task_id), schema_for({**columns, REJECT_REASON: pa.string()}),
                           metadata=metadata) as rejected:
            for doc in read_documents(task.inputs[0]):
                size = len((doc.get("text") or "").encode("utf-8", "surrogatepass"))
                stats.docs_in += 1
                stats.bytes_in += size
                doc["exact_hash"] = next(hashes)
                doc["containment"] = fraction.get(doc["id"])
                reason, cluster = removed.get(doc["id"], (None, doc["id"]))
                doc["dedup_cluster"] = cluster
                doc["duplicate_of"] = cluster if reason is not None and cluster != doc["id"] else None
                if reason is None:
                    stats.docs_out += 1
                    stats.bytes_out += size
                    kept.write(doc)
                else:
                    stats.rejected[reason] += 1
                    doc[REJECT_REASON] = f"{STEP_NAME}:{reason}"
                    rejected.write(doc)
    return [stats]
