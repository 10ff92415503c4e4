"""The curation phase of a run: read → line cleaning (text inputs) → prefilter (cheap decisions on the raw page)
→ extract (HTML) → language id → level-1 rules, then deduplication."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from sciloom.curation.config import CurationConfig
from sciloom.curation.dedup import run_dedup
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.executor import StageFailed, StageReport, Task, bookkeeping_dir, finished_tasks, run_stage
from sciloom.curation.extract import ExtractStep
from sciloom.curation.inputs import (InputListedTwice, InputNotFound, find_inputs, local_size, reader_for,
                                     tasks_for)
from sciloom.curation.langid import LanguageIdStep
from sciloom.curation.line_cleaning import LineCleaningStep
from sciloom.curation.map_stage import map_documents
from sciloom.curation.part_writer import provenance
from sciloom.curation.prefilter import PrefilterStep
from sciloom.curation.rules import RulesStep
from sciloom.curation.stats import StepStats
from sciloom.curation.step import Reader, Step, is_url

EXTRACT_STAGE = "extract"
CURATED_DIR = "curated"


def build_extraction_chain(config: CurationConfig, input_index: int,
                           names: dict[str, str] | None = None) -> tuple[Reader, list[Step]]:
    prefilter = [PrefilterStep(config.prefilter, config.langid, config.extract.max_page_bytes)] if config.prefilter.enabled else []
    return reader_for(config.inputs[input_index], names), [LineCleaningStep(config.line_cleaning), *prefilter,
                                                    ExtractStep(config.extract), LanguageIdStep(config.langid),
                                                    RulesStep(config.rules)]


def _extraction_task(config: CurationConfig, input_of_task: dict[str, int], metadata: dict[str, str], task: Task,
                     stage_dir: Path) -> list[StepStats]:
    """Each task reads with the reader of the input entry its file came from (its source name, fields)."""
    names = dict(zip(task.inputs, task.names))
    return map_documents(partial(build_extraction_chain, config, input_of_task[task.task_id], names),
                         metadata)(task, stage_dir)


# A reader's skip reasons that mean the whole file gave nothing, and those that mean it was read only in part
# (`arc_format_unsupported`: in task markers of runs from before ARC files were read).
UNREADABLE = frozenset({"unreadable_file", "not_a_warc_file", "arc_format_unsupported", "binary_file",
                        "file_too_large", "no_usable_record", "task_failed"})
DAMAGED = frozenset({"corrupt_stream"})


def input_problems(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Input files that could not be read at all (`unreadable`) or only in part (`damaged`), with their reasons,
    and files under input folders that were not read (`passed_over`: no input format in their names, or a
    dataset's metadata)."""
    found: dict[str, list[dict[str, Any]]] = {"unreadable": [], "damaged": [], "passed_over": []}
    passed_over = _passed_over_path(out_dir)
    if passed_over.exists():
        found["passed_over"] = [{"file": name, "reasons": {reason: 1}}
                                for name, reason in json.loads(passed_over.read_text()).items()]
    per_file: dict[str, Counter[str]] = {}  # summed over the tasks that read a file (its pieces)
    errors: dict[str, str] = {}
    for marker in finished_tasks(out_dir / EXTRACT_STAGE):
        if "split_into" in marker:
            continue  # a group that failed, read again one file per task: those tasks say which file failed
        if "failed" in marker:  # its task failed on every attempt and was left out (curation.skip_failed_inputs)
            per_input = {path: {"task_failed": 1} for path in marker["inputs"]}
            errors.update(dict.fromkeys(marker["inputs"], marker["failed"]))
        else:
            reader = marker["steps"][0]
            # Which input each skip came from (a task may read many small files, or a piece of a large one);
            # markers written before it was recorded had one input per task.
            per_input = reader.get("skipped_inputs", {path: reader["skipped"] for path in marker["inputs"]})
        for path, skipped in per_input.items():
            per_file.setdefault(path, Counter()).update(skipped)
    for path, skipped in per_file.items():
        if UNREADABLE & skipped.keys():  # with every reason: `no_usable_record` alone does not say why
            found["unreadable"].append({"file": path, "reasons": dict(skipped),
                                        **({"error": errors[path]} if path in errors else {})})
        elif hits := {reason: n for reason, n in skipped.items() if reason in DAMAGED}:
            found["damaged"].append({"file": path, "reasons": hits})
    return found


def _passed_over_path(out_dir: Path) -> Path:
    return bookkeeping_dir(out_dir / EXTRACT_STAGE) / "passed_over.json"


def _file_versions(locations: tuple[str, ...], listed: dict[str, str]) -> Any:
    """The version of each input file of a task (a task of one file: its version alone): a local file's size, an
    object's size and ETag (or generation, or modification time) as its folder's listing gave them. None for a URL
    no listing gave (asking a store about every file on each rerun would cost one request per file) or a missing
    file (its reader counts it unreadable)."""
    versions = [listed.get(location) if is_url(location) else local_size(location) for location in locations]
    return versions[0] if len(versions) == 1 else versions


def run_curation(config: CurationConfig, out_dir: Path, recipe_hash: str | None = None,
                 run_dir: Path | None = None) -> list[StageReport]:
    """Writes `<out_dir>/extract/` and the dedup phases; the kept documents end in `<out_dir>/curated/`. Nothing
    under `run_dir` (default: `out_dir`) is read as an input."""
    tasks: list[Task] = []
    input_of_task: dict[str, int] = {}
    entry_of_file: dict[str, int] = {}
    passed_over: dict[str, str] = {}
    for index, inputs in enumerate(config.inputs):
        # Each file's task carries its input's own options (source name, fields, limits): a change redoes its files.
        # Its version too: a file still downloading when a run read it, complete at the rerun, is read again; so is
        # an object replaced in its store.
        # (Not where they are read from: the store's endpoint and keys.)
        options = inputs.model_dump(mode="json", exclude={"paths", "paths_file", "paths_prefix", "max_files",
                                                          "storage_options"})
        files = find_inputs(inputs, run_dir or out_dir)
        passed_over.update(files.passed_over)
        found = [dataclasses.replace(task, settings={**options, "file_version": _file_versions(task.inputs,
                                                                                               files.versions)})
                 for task in tasks_for(inputs, files.found, files.sizes)]
        if not found:
            raise InputNotFound(f"curation.inputs[{index}] matched no file: check its paths, globs or paths file")
        for task in found:
            for location in task.inputs:
                # By where the file is read: the same file under two names (relative, absolute) is listed twice too.
                earlier = entry_of_file.get(location)
                if earlier is not None and earlier != index:  # (one entry's pieces of a large file share it)
                    raise InputListedTwice(f"{location} is listed by curation.inputs[{earlier}] "
                                           f"and curation.inputs[{index}]: list each file once (its source name "
                                           "and fields come from the entry that lists it)")
                entry_of_file[location] = index
            input_of_task[task.task_id] = index
        tasks += found
    write_json_atomic(_passed_over_path(out_dir), dict(sorted(passed_over.items())))
    # Dedup settings are dedup's own (tuning a threshold must not redo extraction); which files are read is the
    # task list (an input added is a task added, not a reason to redo the others), and each input's own options are
    # its tasks' settings. Whether failed inputs are skipped changes no finished task's output.
    settings = {"curation": config.model_dump(mode="json", exclude={"dedup", "inputs", "skip_failed_inputs"})}
    try:
        extract = run_stage(EXTRACT_STAGE, out_dir / EXTRACT_STAGE, tasks,
                            partial(_extraction_task, config, input_of_task, provenance(recipe_hash)),
                            settings=settings, skip_failed=config.skip_failed_inputs)
    except StageFailed as failed:
        hint = "" if config.skip_failed_inputs else "; curation.skip_failed_inputs: true goes on without them"
        raise StageFailed(failed.stage, failed.failures, hint) from None
    return [extract, *run_dedup(config.dedup, out_dir / EXTRACT_STAGE, out_dir / "dedup", out_dir / CURATED_DIR,
                                recipe_hash=recipe_hash)]
