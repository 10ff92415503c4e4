"""The level-3 judge inside a classifiers run (the FineWeb-Edu pattern).

1. A reproducible sample of the curated documents (`judge.sample_size`: the documents with the smallest hashes of
   `judge.sample_seed` and their id; all documents when None) is judged through the configured endpoint. Choosing
   it reads the parts' id column only, and then the text of the chosen rows. Answers are cached
   in `out_dir/judge/cache.sqlite` (unless `judge.cache_path` names another file), so a rerun asks nothing.
2. `out_dir/judge/judged.parquet` keeps the sample's ids and judge fields; `quality_train.jsonl` its judge
   labels (high when judge_score >= score_threshold, else low; unscored documents are counted, not used).
3. The quality model of the run is trained from those labels alone and REPLACES the bootstrapped (or given)
   quality model for labelling: the judge's rubric is the better definition of quality, the heuristic one only
   stands in when no judge is configured. The discipline model is the run's (bootstrapped with the judge's
   discipline labels, see classifiers.pipeline, or given). The labelling models folder is
   `out_dir/judge/models` (the discipline model copied next to the judge-trained quality model); the
   bootstrapped models stay in `out_dir/models` for comparison.

An endpoint that answers none of the requests is a JudgeEndpointDown before any labelling; a sample whose
usable verdicts do not give both labels is a JudgeLabelsUnusable: nothing is labelled with a quality model that
could not be trained.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, QUALITY_LABELS
from sciloom.classifiers.judge import JUDGE_FIELDS, JudgeConfig, JudgeEndpointDown, LLMJudge
from sciloom.classifiers.judge import write_quality_training_jsonl
from sciloom.classifiers.label_step import JUDGE_COLUMNS, Verdicts
from sciloom.classifiers.train import label_mapper, read_labelled_jsonl, train_and_evaluate
from sciloom.curation.document import BASE_COLUMNS, Document, iter_parts, read_documents, schema_for, values_at
from sciloom.curation.part_writer import PartWriter
from sciloom.curation.ray_runtime import ensure_ray, map_in_order
from sciloom.curation.atomic_write import atomic_path, write_json_atomic

JUDGE_DIR = "judge"
CACHE_FILE = "cache.sqlite"
JUDGED_FILE = "judged.parquet"
TRAINING_FILE = "quality_train.jsonl"
MODELS_DIR = "models"
# Records which judge labels and discipline model the judge models folder was built from (reuse on a rerun).
SOURCE_FILE = "judge_source.json"
# Failures of the request itself, not of the answer: when every asked document has one, nobody answered.
REQUEST_ERRORS = frozenset({"request_failed", "request_rejected", "bad_response"})
JUDGED_COLUMNS = {"id": BASE_COLUMNS["id"], **JUDGE_COLUMNS}


class JudgeLabelsUnusable(ValueError):
    """The judged sample does not give both quality labels, so no quality model can be trained from it."""


def judge_config_for_run(judge: JudgeConfig, out_dir: Path) -> JudgeConfig:
    """The run's judge settings: the cache lives in the run folder unless the recipe names one."""
    if judge.cache_path is not None:
        return judge
    return judge.model_copy(update={"cache_path": out_dir / JUDGE_DIR / CACHE_FILE})


def _curated_records(curated_dir: Path) -> Iterator[Document]:
    for part in iter_parts(curated_dir):
        yield from read_documents(part, columns=["id", "text"])


def seeded_id_hashes(seed: int, ids: list[str]) -> np.ndarray:
    """64-bit hashes of `seed` and each id (blake2b), as uint64."""
    prefix = f"{seed}\x00"
    return np.fromiter((int.from_bytes(hashlib.blake2b((prefix + doc_id).encode(), digest_size=8).digest(), "big")
                        for doc_id in ids), dtype=np.uint64, count=len(ids))


def _smallest(size: int, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows of `columns` (the first holds hashes) with the `size` smallest hashes, in no particular order."""
    if columns[0].size <= size:
        return columns
    keep = np.argpartition(columns[0], size - 1)[:size]
    return tuple(column[keep] for column in columns)


def part_smallest_hashes(part: str, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, rows) of the `size` smallest seeded id hashes of one curated part: a Ray task, so that the
    corpus's ids are read and hashed across the cluster and the driver merges `size` per part."""
    hashes, rows = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    start = 0
    for batch in pq.ParquetFile(part).iter_batches(batch_size=65_536, columns=["id"]):
        hashes = np.concatenate([hashes, seeded_id_hashes(seed, batch.column("id").to_pylist())])
        rows = np.concatenate([rows, np.arange(start, start + batch.num_rows, dtype=np.int64)])
        start += batch.num_rows
        hashes, rows = _smallest(size, hashes, rows)
    return hashes, rows


def sampled_records(curated_dir: Path, size: int, seed: int) -> Iterator[Document]:
    """A uniform sample of `size` curated documents without replacement (id and text, in part and row order):
    those with the `size` smallest seeded id hashes. One Ray task per part reads its id column; the driver merges
    their smallest hashes and reads the text of the chosen rows, so what it reads and holds grows with the sample
    and the number of parts, not with the corpus."""
    parts = list(iter_parts(curated_dir))
    ensure_ray()
    best_hash, best_part, best_row = (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64),
                                      np.empty(0, dtype=np.int64))
    found = map_in_order(part_smallest_hashes, ((str(part), size, seed) for part in parts))
    for number, (hashes, rows) in enumerate(found):
        best_hash, best_part, best_row = _smallest(
            size, np.concatenate([best_hash, hashes]), np.concatenate([best_part, np.full(rows.size, number)]),
            np.concatenate([best_row, rows]))
    chosen: dict[int, list[int]] = defaultdict(list)
    for number, row in zip(best_part.tolist(), best_row.tolist()):
        chosen[number].append(row)
    for number in sorted(chosen):
        rows = sorted(chosen[number])
        ids = values_at(parts[number], rows, "id")
        texts = values_at(parts[number], rows, "text")
        yield from ({"id": doc_id, "text": text} for doc_id, text in zip(ids, texts))


def judge_sample(config: ClassifiersConfig, curated_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Judge the sample, write judged.parquet and quality_train.jsonl under out_dir/judge; returns the judge
    section of the classifiers report. Raises JudgeEndpointDown when no request was answered, JudgeLabelsUnusable
    when the labels lack high or low."""
    if config.judge is None:
        raise ValueError("judge_sample needs config.judge")
    judge_config = judge_config_for_run(config.judge, out_dir)
    records: Iterable[Document] = (_curated_records(curated_dir) if judge_config.sample_size is None else
                                   sampled_records(curated_dir, judge_config.sample_size, judge_config.sample_seed))
    judge_dir = out_dir / JUDGE_DIR
    # Streamed: with sample_size None every curated document is judged, and only verdicts are kept in memory.
    with LLMJudge(judge_config, config.taxonomy.disciplines) as judge, \
            PartWriter(judge_dir / JUDGED_FILE, schema_for(JUDGED_COLUMNS)) as judged_file:
        def recorded(judged: Iterable[Mapping[str, object]]) -> Iterator[Mapping[str, object]]:
            for record in judged:
                judged_file.write({name: record[name] for name in JUDGED_COLUMNS})
                yield record

        labels = write_quality_training_jsonl(recorded(judge.judge(records)), judge_dir / TRAINING_FILE,
                                              judge_config.score_threshold)
        stats = judge.stats
        asked = stats.documents - stats.errors["no_text"]
        if asked and sum(stats.errors[reason] for reason in REQUEST_ERRORS) == asked:
            raise JudgeEndpointDown(
                f"none of the {asked} judge requests got an answer ({dict(stats.errors)}): check that "
                f"{judge_config.base_url or 'vLLM'} serves model {judge_config.model!r}. Nothing was labelled.")
    missing = [label for label in QUALITY_LABELS if not labels[label]]
    if missing:
        raise JudgeLabelsUnusable(
            f"the judged sample has no {' and no '.join(missing)} document ({stats.scored} scored of "
            f"{stats.documents}, errors {dict(stats.errors)}; verdicts in {judge_dir / JUDGED_FILE}): a quality model "
            f"needs both {list(QUALITY_LABELS)}; check the judge model, raise judge.sample_size or change "
            "judge.score_threshold. Nothing was labelled.")
    return {
        "model": judge_config.model,
        "base_url": judge_config.base_url,
        "sample_size": judge_config.sample_size,
        "sample_seed": judge_config.sample_seed,
        "score_threshold": judge_config.score_threshold,
        "judged_file": str(judge_dir / JUDGED_FILE),
        "cache": str(judge_config.cache_path),
        **stats.as_dict(),
        "labels": {label: labels[label] for label in QUALITY_LABELS},
    }


def read_verdicts(judged_path: Path) -> Verdicts:
    """Document id -> judge fields, from judged.parquet."""
    return {row["id"]: {name: row[name] for name in JUDGE_FIELDS}
            for row in pq.read_table(judged_path, columns=list(JUDGED_COLUMNS)).to_pylist()}


def models_with_judge_quality(config: ClassifiersConfig, out_dir: Path, base_models_dir: Path) -> tuple[Path, dict]:
    """out_dir/judge/models: the discipline model of `base_models_dir` and a quality model trained on the judge's
    labels; returns the folder and the quality model's held-out evaluation. Built again only when the labels, the
    discipline model or the training settings changed (a rerun reuses it, so resumed labelling tasks and finished
    ones agree)."""
    judge_dir = out_dir / JUDGE_DIR
    models_dir = judge_dir / MODELS_DIR
    training = (judge_dir / TRAINING_FILE).read_bytes()
    source = {
        "training_sha256": hashlib.sha256(training).hexdigest(),
        "discipline_sha256": hashlib.sha256((base_models_dir / f"{DISCIPLINE}.json").read_bytes()
                                            + (base_models_dir / f"{DISCIPLINE}.bin").read_bytes()).hexdigest(),
        # fastText settings, and the seeds and held-out split that train_and_evaluate reads from the bootstrap ones
        "fasttext": config.fasttext.model_dump(mode="json"),
        "bootstrap": config.bootstrap.model_dump(mode="json"),
    }
    source_path, eval_path = models_dir / SOURCE_FILE, models_dir / f"{QUALITY}_eval.json"
    if source_path.exists() and eval_path.exists() and json.loads(source_path.read_text()) == source:
        return models_dir, json.loads(eval_path.read_text())

    examples, _, _ = read_labelled_jsonl(training.decode("utf-8").splitlines(),
                                         label_mapper("identity", QUALITY, config.taxonomy))
    source_path.unlink(missing_ok=True)  # a crash below must not leave a folder that looks finished
    for suffix in ("bin", "json"):
        with atomic_path(models_dir / f"{DISCIPLINE}.{suffix}") as tmp:
            shutil.copyfile(base_models_dir / f"{DISCIPLINE}.{suffix}", tmp)
    report = train_and_evaluate(QUALITY, examples, config, models_dir)
    write_json_atomic(source_path, source)
    return models_dir, report
