"""Deduplication as resumable Ray stages: index → exact → LSH buckets → shared buckets → signatures → verified
pairs → components (in rounds) → members → groups → fuzzy decisions → containment n-grams → containment pairs →
containment verdicts → chains (components, in rounds) → chain members → chain ends → containment index → filter.
Every stage is one task per input part or per hash partition: none holds the corpus.

`run_dedup` reads the parts of the previous stage (`input_dir/part-*.parquet`), keeps intermediate results
under `work_dir` (each phase a `run_stage` folder, so a rerun resumes), and writes the kept documents to
`curated_dir/part-*.parquet` (one per input part, same task id) with `exact_hash`, `dedup_cluster` and
`containment` columns; removed ones go to `_curated/rejected/` (beside `curated_dir`) with reason `dedup:exact_duplicate`,
`dedup:fuzzy_duplicate` or `dedup:contained`. `work_dir/signatures` is this run's reusable index: pass it as
`reference_signatures` to deduplicate a later snapshot against this one without recomputing it.
`work_dir/lsh.json` records the bands × rows derived from the threshold and their false-positive and
false-negative areas. `work_dir/containment_index` holds the n-grams of this run's kept documents: pass it
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
from typing import Any

import numpy as np

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.curation.component_rounds import partitions_for, run_components
from sciloom.curation.components import connected_components, representatives
from sciloom.curation.containment import (chain_edges, chain_ends_task, chain_members_task, containment_index_task,
                                          containment_pairs_task, containment_task, final_document, judge_in_memory,
                                          ngram_task, rank_keys, read_contained, read_reference_indexes,
                                          reference_index_metas, write_index_meta)
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.document import REJECT_REASON, parquet_columns, read_documents, schema_for
from sciloom.curation.exact_dedup import (CONTAINED, DECISIONS_DIR, EXACT_DUPLICATE, FUZZY_DUPLICATE, META_FILE,
                                          IndexPart, exact_decisions_task, exact_keys_task, exact_task, index_task,
                                          read_decisions, reference_parts, signature_meta)
from sciloom.curation.executor import (StageReport, Task, bookkeeping_dir, changed_fields,
                                       recorded_settings, run_stage)
from sciloom.curation.fuzzy_dedup import (bucket_task, decisions_task, graph_edges, groups_task, members_task,
                                          pairs_task, shared_task, signatures_task)
from sciloom.curation.lsh import band_keys, shared_buckets, verified_pairs
from sciloom.curation.map_stage import part_path, rejected_path
from sciloom.curation.minhash import MinHasher, ngram_sets
from sciloom.curation.normalize import exact_hashes
from sciloom.curation.part_writer import PartWriter, provenance
from sciloom.curation.shuffle import partition_names
from sciloom.curation.stage_reader import tasks_over_stage
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.stats import StepStats

DEDUP_COLUMNS: dict[str, pa.DataType] = {"exact_hash": pa.string(), "dedup_cluster": pa.string(),
                                         "duplicate_of": pa.string(), "containment": pa.float32()}
STEP_NAME = "dedup"


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
    upstream = recorded_settings(input_dir)
    # A part's signatures depend on its bytes alone (each task's settings): a part extracted again the same (an
    # input added beside it, extraction settings that changed nothing in it) keeps them.
    stage("dedup_index", index_dir, tasks, partial(index_task, config), settings={"signatures": signature_meta(config)})
    parts = [IndexPart(t.task_id, index_dir / f"part-{t.task_id}.parquet", False) for t in tasks]
    parts += reference_parts(config)
    inputs = _redo_if_inputs_changed(config, parts, upstream, work_dir, curated_dir)
    part_tasks = [Task(p.name, (str(p.path),)) for p in parts]  # one per index part, earlier runs' included

    decisions: Path | None = None
    # The stage folder where the exact and near duplicates' moves were written, and the tasks that wrote them.
    moves: tuple[Path, list[str]] | None = None
    partitions = _partitions(config.num_partitions)
    if config.exact:
        keys_dir, removals_dir, decisions = work_dir / "exact_keys", work_dir / "exact", work_dir / "exact_decisions"
        stage("dedup_exact_keys", keys_dir, part_tasks,
              partial(exact_keys_task, config.num_partitions, parts))
        stage("dedup_exact", removals_dir, partitions, partial(exact_task, parts, keys_dir, config.num_partitions))
        stage("dedup_exact_decisions", decisions, tasks,
              partial(exact_decisions_task, config.num_partitions, parts, removals_dir))
        moves = (removals_dir, partition_names(config.num_partitions))
    if config.fuzzy:
        bucket_dir, pairs_dir = work_dir / "lsh_buckets", work_dir / "lsh_pairs"
        write_json_atomic(work_dir / "lsh.json", {"threshold": config.threshold, "num_perm": config.num_perm,
                                                  **dataclasses.asdict(config.lsh)})
        stage("dedup_lsh_buckets", bucket_dir, part_tasks,
              partial(bucket_task, config, parts, decisions))
        shared_dir, signature_dir = work_dir / "lsh_shared", work_dir / "lsh_signatures"
        stage("dedup_lsh_shared", shared_dir, partitions, partial(shared_task, bucket_dir, parts))
        stage("dedup_lsh_signatures", signature_dir, part_tasks,
              partial(signatures_task, config, shared_dir, parts))
        stage("dedup_lsh_pairs", pairs_dir, partitions, partial(pairs_task, config, shared_dir, signature_dir, parts))
        # The graph's components, and the steps keyed by component, use as many partitions as its edges need. The
        # rounds' reports, one per stage, are given as one: how many rounds there are depends on the graph.
        edges = (_counted(reports, "dedup_lsh_pairs", "pair_checks_passed")
                 + _counted(reports, "dedup_exact", EXACT_DUPLICATE))
        graph = _partitions(partitions_for(edges, config.edges_per_partition, config.num_partitions))
        labels, report = run_components(partial(_stage, [], show_progress), "dedup_components", work_dir / "components",
                                        partitions, partial(graph_edges, pairs_dir, moves, config.num_partitions),
                                        len(graph), len(parts))
        reports.append(report)
        members_dir, groups_dir = work_dir / "fuzzy_members", work_dir / "fuzzy_groups"
        stage("dedup_fuzzy_members", members_dir, part_tasks,
              partial(members_task, parts, labels, decisions, len(graph)))
        stage("dedup_fuzzy_groups", groups_dir, graph, partial(groups_task, parts, members_dir, config.num_partitions))
        stage("dedup_fuzzy", work_dir / "fuzzy", tasks, partial(decisions_task, parts, groups_dir, len(graph)))
        decisions, moves = work_dir / "fuzzy" / DECISIONS_DIR, (groups_dir, partition_names(len(graph)))
    containment: Path | None = None
    contained: Path | None = None
    chain: list[Task] = []  # the partitions of the containment chains' rounds
    if config.containment.enabled:
        ngram_dir, pairs_dir = work_dir / "containment_ngrams", work_dir / "containment_pairs"
        containment, index_out = work_dir / "containment", work_dir / "containment_index"
        names = [t.task_id for t in tasks]
        stage("dedup_containment_ngrams", ngram_dir, tasks,
              partial(ngram_task, config.containment, config.num_partitions, parts, decisions))
        stage("dedup_containment_pairs", pairs_dir, partitions,
              partial(containment_pairs_task, config.containment, ngram_dir, names, len(parts)))
        stage("dedup_containment", containment, tasks,
              partial(containment_task, config.containment, config.num_partitions, parts, ngram_dir, pairs_dir))
        # Where each removed document's text ends: chains of contained documents, and duplicates of them.
        moved = sum(_counted(reports, stage, reason) for stage, reason in (
            ("dedup_exact", EXACT_DUPLICATE), ("dedup_fuzzy", FUZZY_DUPLICATE), ("dedup_containment", CONTAINED)))
        chain = _partitions(partitions_for(moved, config.edges_per_partition, config.num_partitions))
        ends, report = run_components(partial(_stage, [], show_progress), "dedup_containment_chains",
                                      work_dir / "containment_chains", partitions,
                                      partial(chain_edges, containment, names, moves), len(chain), len(parts))
        reports.append(report)
        members, contained = work_dir / "contained_members", work_dir / "contained_by_part"
        stage("dedup_contained_members", members, part_tasks,
              partial(chain_members_task, parts, ends, containment, decisions, len(chain)))
        stage("dedup_contained", contained, chain, partial(chain_ends_task, parts, members))
        stage("dedup_containment_index", index_out, partitions,
              partial(containment_index_task, config.containment, ngram_dir, containment, names))
        write_index_meta(index_out, config.containment, config.num_partitions)
    # The curated stage records everything it derives from, for classification to include in its own settings.
    stage("dedup_filter", curated_dir, tasks, partial(filter_task, index_dir, decisions, containment, contained,
                                                      len(chain), [t.task_id for t in tasks],
                                                      provenance(recipe_hash)),
          settings=inputs)
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
                        "lsh_pairs", "components", "fuzzy_members", "fuzzy_groups", "fuzzy", "containment_ngrams",
                        "containment_chains", "contained_members", "containment_pairs", "containment",
                        "contained_by_part", "containment_index")


def _redo_if_inputs_changed(config: DedupConfig, parts: list[IndexPart], upstream: Any, work_dir: Path,
                            curated_dir: Path) -> dict[str, Any]:
    """A rerun over other parts (an input added or removed, another reference index, documents extracted under
    other settings) redoes every stage that spans parts; resuming them would keep decisions, and LSH node ids, of
    the earlier part list. Returns the record of the inputs."""
    inputs = {"parts": [[p.name, p.reference] for p in parts], "config": config.model_dump(mode="json"),
              "upstream": upstream}
    record = work_dir / _INPUTS_FILE
    earlier = json.loads(record.read_text()) if record.is_file() else inputs
    if earlier != inputs:
        changed = changed_fields({**earlier, "parts": len(earlier.get("parts", []))}, {**inputs, "parts": len(parts)})
        what = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "") or "the index parts"
        print(f"dedup: the inputs changed since the last run ({what}): redoing the dedup stages", file=sys.stderr)
        for name in _WHOLE_CORPUS_STAGES:
            shutil.rmtree(work_dir / name, ignore_errors=True)
            shutil.rmtree(bookkeeping_dir(work_dir / name), ignore_errors=True)
        shutil.rmtree(bookkeeping_dir(curated_dir), ignore_errors=True)  # every part is filtered again
        for part in curated_dir.glob("part-*.parquet"):
            part.unlink()
    write_json_atomic(record, inputs)
    return inputs


def dedup_documents(config: DedupConfig, ids: Sequence[str], texts: Sequence[str],
                    quality: Sequence[float | None] | None = None) -> list[Verdict]:
    """The same decisions as `run_dedup`, in memory for one small collection (the `sciloom dedup` filter).

    Ties between equal ids keep the earlier row.
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
    fractions: dict[int, float | None] = {}
    if config.containment.enabled:
        rows = np.array([i for i in range(n) if reason[i] is None], dtype=np.int64)
        grams = ngram_sets([texts[i] for i in rows], config.containment.ngram)
        ranks = rank_keys(np.array([g.size for g in grams], dtype=np.int64), q[rows], [str(id_array[i]) for i in rows])
        result = judge_in_memory(grams, ranks, config.containment, read_reference_indexes(config.containment))
        moved: dict[int, int] = {}
        for k, (i, fraction, hit) in enumerate(zip(rows.tolist(), result.fraction.tolist(), result.contained.tolist())):
            fractions[i] = None if np.isnan(fraction) else fraction
            if hit:
                reason[i] = CONTAINED
                if result.container[k] >= 0:
                    moved[i] = int(rows[result.container[k]])
        # A contained document joins the cluster of the kept document its text ends in, and so do its duplicates.
        cluster = np.array([final_document(moved, int(c)) for c in cluster])
    return [Verdict(str(id_array[i]), str(id_array[cluster[i]]), reason[i], fractions.get(i)) for i in range(n)]


def _partitions(count: int) -> list[Task]:
    return [Task(name, ()) for name in partition_names(count)]


def _counted(reports: list[StageReport], stage: str, key: str) -> int:
    """A stage's count of `key` (rejected documents or a note), summed over its steps; 0 when it did not run."""
    return sum(step.rejected.get(key, 0) + step.notes.get(key, 0)
               for report in reports if report.stage == stage for step in report.steps)


def _stage(reports: list[StageReport], show_progress: bool, name: str, stage_dir: Path, tasks: list[Task], fn,
           settings: dict[str, Any] | None = None) -> StageReport:
    reports.append(run_stage(name, stage_dir, tasks, fn, show_progress=show_progress, settings=settings))
    return reports[-1]


def filter_task(index_dir: Path, decisions: Path | None, containment: Path | None, contained: Path | None,
                num_partitions: int, part_names: list[str], metadata: dict[str, str], task: Task,
                stage_dir: Path) -> list[StepStats]:
    """Write one input part's kept documents and, aside, its removed ones with their reason."""
    stats = StepStats(STEP_NAME)
    with stats.timer():
        removed: dict[str, tuple[str, str]] = {}
        if decisions is not None:
            d = read_decisions(decisions, task.task_id).to_pydict()
            removed = {i: (r, c) for i, r, c in zip(d["id"], d["reason"], d["cluster"])}
        fraction: dict[str, float | None] = {}
        if containment is not None and contained is not None:  # both, or neither (containment off)
            c = pq.read_table(part_path(containment, task.task_id)).to_pydict()
            fraction = dict(zip(c["id"], c["containment"]))
            # A contained document joins the cluster of the kept document its text ends in (its own when only an
            # earlier run's index holds it), and so do its exact and near duplicates, in any part.
            found = read_contained(contained, num_partitions, part_names.index(task.task_id))
            final = dict(zip(found.column("id").to_pylist(), found.column("final").to_pylist()))
            removed = {i: (r, final.get(i, cluster)) for i, (r, cluster) in removed.items()}
            removed.update((i, (CONTAINED, final.get(i, i))) for i, hit in zip(c["id"], c["contained"]) if hit)
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
