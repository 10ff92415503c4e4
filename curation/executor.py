"""Running a stage as Ray tasks over input shards, resumably.

Each task writes its outputs atomically and then a marker `tasks/<task_id>.json` holding its statistics; a task
that raises leaves its full traceback in `tasks/<task_id>.error.txt` (the console shows its last line and the path).
A marker lists the files its task wrote with their size, crc32 and modification time; a rerun redoes a task whose
outputs no longer match (a part damaged or removed after the task finished) instead of trusting its marker. Like
rsync, a rerun reads only the outputs whose size or modification time changed (a copied run folder is read once).
Markers, the merged `stats.json` and rejected rows live in the stage's bookkeeping folder `_<stage folder name>/`
beside the stage folder, never inside it: a stage folder holds only its Parquet parts, because Polars, DuckDB and
Hugging Face `datasets` read every file under a folder whatever its name (only Arrow and pandas skip `_` names).
A rerun of the same stage skips every task that has a marker, so a killed run, restarted, ends with the
output of an uninterrupted one (tasks are deterministic, and a half-written output never becomes visible).
A worker that dies is retried by Ray; a task that raises is reported with its error after the other
tasks finish, and a rerun retries just that task.
A stage run with `settings` (its configuration, and the recorded settings of the stage it reads) records them in
`settings.json`; a rerun with other settings removes every finished task's outputs and marker and does the stage
again, so that no part computed under the old settings is resumed beside new ones. Stages downstream see the change
through the upstream settings they include in their own. A stage's outputs are its current tasks' outputs: those
of tasks an earlier run had and this one does not (an input removed from the recipe) are removed. Each marker
records the sciloom code that wrote it (`code_version`): code does not redo a task, but a rerun counts and names the
resumed tasks that other code wrote.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sciloom.curation.atomic_write import (file_fingerprint, output_fingerprints, recording_outputs,
                                           write_json_atomic, write_text_atomic)
from sciloom.curation.code_version import code_version
from sciloom.curation.stats import StepStats, merge_step_stats


@dataclass(frozen=True)
class Task:
    """One unit of work; `task_id` must be stable across runs (it names the task's outputs). `settings` (JSON): what
    this task alone is configured with (its input's options); a finished task whose settings differ is redone."""

    task_id: str
    inputs: tuple[str, ...]
    settings: Any = None
    # The inputs as the recipe names them (a relative path stays relative): records without an id of their own are
    # named after them, so a document's id does not depend on where the data is mounted. Empty: `inputs`.
    names: tuple[str, ...] = ()
    # (k, n): the task reads the k-th of n pieces of its one input, a file large enough to be read by n tasks.
    piece: tuple[int, int] | None = None


# A task function writes the task's outputs under the stage folder and returns its steps' statistics.
TaskFn = Callable[[Task, Path], list[StepStats]]


class StageFailed(RuntimeError):
    def __init__(self, stage: str, failures: dict[str, str], hint: str = "") -> None:
        self.stage, self.failures = stage, failures
        detail = "\n".join(f"  task {task_id}: {error}" for task_id, error in failures.items())
        super().__init__(f"stage {stage!r}: {len(failures)} task(s) failed (rerun to retry only these{hint}):\n"
                         f"{detail}")


OTHER_CODE_KEY = "tasks_resumed_written_by_other_code"
UNRECORDED_CODE = "an earlier sciloom (markers did not record it)"


@dataclass
class StageReport:
    stage: str
    stage_dir: Path
    tasks_total: int
    tasks_skipped: int  # already done by an earlier run
    steps: list[StepStats] = field(default_factory=list)
    tasks_redone: dict[str, str] = field(default_factory=dict)  # marker found, but outputs or own settings changed
    settings_changed: list[str] = field(default_factory=list)  # settings that differ from the last run's: all redone
    tasks_removed: list[str] = field(default_factory=list)  # tasks of an earlier run no longer listed: outputs removed
    tasks_failed: dict[str, str] = field(default_factory=dict)  # failed on every attempt, skipped (skip_failed)
    resumed_other_code: dict[str, int] = field(default_factory=dict)  # code version -> resumed tasks it wrote

    @classmethod
    def combined(cls, stage: str, stage_dir: Path, reports: Sequence[StageReport]) -> StageReport:
        """One report for stages that do one job together (the rounds of an iteration): their tasks counted, their
        steps of one name merged (as a stage merges its tasks'), what was redone named by stage; saved where
        `stats_path(stage_dir)` finds it."""
        report = cls(stage, stage_dir, sum(r.tasks_total for r in reports), sum(r.tasks_skipped for r in reports),
                     steps=merge_step_stats([s.to_dict() for s in r.steps] for r in reports))
        for r in reports:
            report.tasks_redone.update({f"{r.stage}/{k}": v for k, v in r.tasks_redone.items()})
            report.settings_changed += [f"{r.stage}/{k}" for k in r.settings_changed]
            report.tasks_removed += [f"{r.stage}/{k}" for k in r.tasks_removed]
            report.tasks_failed.update({f"{r.stage}/{k}": v for k, v in r.tasks_failed.items()})
            for code, n in r.resumed_other_code.items():
                report.resumed_other_code[code] = report.resumed_other_code.get(code, 0) + n
        write_json_atomic(stats_path(stage_dir), report.to_dict())
        return report

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "tasks_total": self.tasks_total,
            "tasks_resumed_from_earlier_run": self.tasks_skipped,
            "tasks_redone_outputs_changed": self.tasks_redone,
            "redone_settings_changed": self.settings_changed,
            "tasks_removed_no_longer_inputs": self.tasks_removed,
            "tasks_failed_skipped": self.tasks_failed,
            OTHER_CODE_KEY: self.resumed_other_code,
            "steps": [s.to_dict() for s in self.steps],
        }


def bookkeeping_dir(stage_dir: Path) -> Path:
    return stage_dir.parent / f"_{stage_dir.name}"


def tasks_dir(stage_dir: Path) -> Path:
    return bookkeeping_dir(stage_dir) / "tasks"


def stats_path(stage_dir: Path) -> Path:
    return bookkeeping_dir(stage_dir) / "stats.json"


TASK_SETTINGS_KEY = "tasks_own_settings_sha256"


def settings_path(stage_dir: Path) -> Path:
    return bookkeeping_dir(stage_dir) / "settings.json"


def recorded_settings(stage_dir: Path) -> Any:
    """The settings the stage last ran with (None: none recorded), for the stages that read it to include."""
    try:
        return json.loads(settings_path(stage_dir).read_text())
    except (OSError, ValueError):
        return None


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _forget_if_settings_changed(stage: str, stage_dir: Path, settings: dict[str, Any],
                                tasks: Sequence[Task]) -> list[str]:
    """The settings that changed since the stage last ran (after removing every finished task's outputs and
    marker), else []; records `settings`, with a digest of the tasks' own settings for the stages downstream (a
    task's own change redoes that task alone, see `_task_problem`). A stage that never recorded settings keeps its
    tasks."""
    settings = _canonical(settings)
    per_task = {task.task_id: task.settings for task in tasks if task.settings is not None}
    if per_task:
        digest = hashlib.sha256(json.dumps(_canonical(per_task), sort_keys=True).encode()).hexdigest()
        settings[TASK_SETTINGS_KEY] = digest
    earlier = recorded_settings(stage_dir)
    changed = [] if earlier is None else changed_fields(_stage_wide(earlier), _stage_wide(settings))
    if changed:
        markers = sorted(tasks_dir(stage_dir).glob("*.json"))
        print(f"stage {stage!r}: settings changed since the last run ({', '.join(changed[:5])}"
              f"{', ...' if len(changed) > 5 else ''}): redoing its {len(markers)} finished task(s)", file=sys.stderr)
        for marker in markers:
            _remove_task(stage_dir, marker)
    if earlier != settings:
        write_json_atomic(settings_path(stage_dir), settings)
    return changed


def settings_would_redo(stage_dir: Path, settings: dict[str, Any]) -> list[str]:
    """The stage-wide settings that differ from those the stage last ran with: what `run_stage` would redo every
    finished task for. All of them when none are recorded (nothing says those tasks were made with these)."""
    earlier = recorded_settings(stage_dir)
    if earlier is None:
        return sorted(settings)
    return changed_fields(_stage_wide(earlier), _stage_wide(_canonical(settings)))


def _stage_wide(settings: Any) -> Any:
    """Recorded settings without the digest of the tasks' own ones (those are compared task by task)."""
    return {k: v for k, v in settings.items() if k != TASK_SETTINGS_KEY} if isinstance(settings, dict) else settings


def _remove_task(stage_dir: Path, marker: Path) -> None:
    """A finished task's recorded outputs, then its marker (in that order: a marker never outlives its outputs); a
    failed task split into one task per input (SPLIT_MARK), those tasks' too."""
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        recorded = {}
    for child in recorded.get("split_into", []):
        if (child_marker := task_marker(stage_dir, child)).exists():
            _remove_task(stage_dir, child_marker)
    for name in recorded.get("outputs", {}):
        (stage_dir.parent / name).unlink(missing_ok=True)
    marker.unlink()


def _remove_tasks_no_longer_listed(stage: str, stage_dir: Path, tasks: Sequence[Task]) -> list[str]:
    """The stage's outputs are its current tasks' outputs: those of a task an earlier run had (an input since
    removed from the recipe, a part the stage before no longer writes) are removed, not read on by later stages."""
    current = {task.task_id for task in tasks}
    gone = [marker for marker in sorted(tasks_dir(stage_dir).glob("*.json"))
            if marker.stem.split(SPLIT_MARK)[0] not in current]
    if gone:
        print(f"stage {stage!r}: {len(gone)} task(s) of an earlier run are no longer inputs "
              f"({', '.join(m.stem for m in gone[:3])}{', ...' if len(gone) > 3 else ''}): their outputs are removed",
              file=sys.stderr)
    for marker in gone:
        if marker.exists():  # (a split group's inputs' tasks went with it)
            _remove_task(stage_dir, marker)
    return [marker.stem for marker in gone]


_ABSENT = object()  # a key one side lacks: a new option recorded as null differs from none recorded at all


def changed_fields(earlier: Any, now: Any, prefix: str = "") -> list[str]:
    """Dotted names of the values that differ between two JSON documents."""
    if isinstance(earlier, dict) and isinstance(now, dict):
        return [name for key in sorted(set(earlier) | set(now), key=str)
                for name in changed_fields(earlier.get(key, _ABSENT), now.get(key, _ABSENT), f"{prefix}{key}.")]
    return [] if earlier == now else [prefix.rstrip(".") or "(all)"]


def _output_record(path: Path) -> dict[str, Any]:
    """What a task's marker records of a file it wrote: size, crc32 and time, which verify it; for a Parquet part,
    also its data's fingerprint, which is what a task reading it depends on."""
    whole, content = output_fingerprints(path)
    return {**whole, "mtime_ns": path.stat().st_mtime_ns, **({"content": content} if content else {})}


def recorded_output(stage_dir: Path, task_id: str, output: Path) -> dict[str, int]:
    """What a downstream task that reads a file a finished task wrote depends on: a Parquet part's data (its
    footer's metadata aside: the recipe hash that wrote it), else the file's size and crc32; as the task's marker
    recorded them, or read from the file itself when no marker records them."""
    marker = task_marker(stage_dir, task_id)
    if marker.exists():
        expected = json.loads(marker.read_text()).get("outputs", {}).get(str(output.relative_to(stage_dir.parent)))
        if expected is not None:
            return expected.get("content") or {"size": expected["size"], "crc32": expected["crc32"]}
    whole, content = output_fingerprints(output)
    return content or whole


def task_marker(stage_dir: Path, task_id: str) -> Path:
    return tasks_dir(stage_dir) / f"{task_id}.json"


def task_error_path(stage_dir: Path, task_id: str) -> Path:
    return tasks_dir(stage_dir) / f"{task_id}.error.txt"


def finished_tasks(stage_dir: Path) -> list[dict[str, Any]]:
    """The markers of a stage's finished tasks: task id, inputs and each step's statistics."""
    return [json.loads(path.read_text()) for path in sorted(tasks_dir(stage_dir).glob("*.json"))]


def _run_and_mark(fn: TaskFn, task: Task, stage_dir: Path) -> str:
    error_path = task_error_path(stage_dir, task.task_id)
    try:
        with recording_outputs() as written:
            steps = fn(task, stage_dir)
    except Exception:
        # Ray passes on only the exception; the traceback would stay in its session logs, which users rarely find.
        write_text_atomic(error_path, f"task {task.task_id}, inputs {list(task.inputs)}\n{traceback.format_exc()}")
        raise
    error_path.unlink(missing_ok=True)
    root = stage_dir.parent  # the stage folder and its bookkeeping folder; relative, so a copied run still verifies
    outputs = {str(path.relative_to(root) if path.is_relative_to(root) else path): _output_record(path)
               for path in dict.fromkeys(written)}
    write_json_atomic(task_marker(stage_dir, task.task_id),
                      {"task_id": task.task_id, "inputs": list(task.inputs), "settings": _canonical(task.settings),
                       "code": code_version(), "steps": [s.to_dict() for s in steps], "outputs": outputs})
    return task.task_id


def _task_problem(stage_dir: Path, task: Task, marker: Path) -> str | None:
    """Why a finished task cannot be trusted any more (its settings changed, its recorded outputs do not verify),
    or None."""
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        return f"its marker {marker} is damaged"
    if "failed" in recorded:  # skipped after failing: every run tries it again
        return f"it failed in the last run ({recorded['failed']})"
    settings = _canonical(task.settings)
    if "settings" in recorded and recorded["settings"] != settings:
        return f"its settings changed ({', '.join(changed_fields(recorded['settings'], settings))})"
    seen_copied = False
    for name, expected in recorded.get("outputs", {}).items():
        path = stage_dir.parent / name
        if not path.is_file():
            return f"{path} is missing"
        stat = path.stat()
        if stat.st_size != expected["size"]:
            return f"{path} changed since the task wrote it (size)"
        # Unchanged size and modification time: the file is not read again (rsync's quick check). Reading every
        # output of every finished task on each rerun cost the driver about 1 s per GB: hours at crawl scale.
        if stat.st_mtime_ns == expected.get("mtime_ns"):
            continue
        if file_fingerprint(path) != {"size": expected["size"], "crc32": expected["crc32"]}:
            return f"{path} changed since the task wrote it (crc32)"
        expected["mtime_ns"], seen_copied = stat.st_mtime_ns, True  # same bytes, newer time: a copied run folder
    if seen_copied:  # verified once: the next rerun trusts the new times
        write_json_atomic(marker, recorded)
    return None


# Ray runs a task again when its worker process dies (a crash in native code, the out-of-memory killer).
WORKER_RETRIES = 3
# A failed task of several inputs is run again as one task per input, named `<task>~<k>`: one file that kills
# its worker must not cost the others of its group (64 small files to a task), whose outputs then stand.
SPLIT_MARK = "~"
_remote_run = ray.remote(max_retries=WORKER_RETRIES)(_run_and_mark)


def run_stage(stage: str, stage_dir: Path, tasks: Sequence[Task], fn: TaskFn, *, num_cpus_per_task: float = 1,
              show_progress: bool = True, max_in_flight: int | None = None,
              settings: dict[str, Any] | None = None, skip_failed: bool = False) -> StageReport:
    """Run `fn` over every task not finished by an earlier run; merge and save the stage's statistics.

    A task that fails (raises, or its worker dies on every attempt) fails the stage after the others finish; with
    `skip_failed` it is recorded as failed instead (no outputs, in the report's `tasks_failed_skipped`) and the stage
    goes on, unless every task failed. A failed task of several inputs is first run again as one task per input
    (SPLIT_MARK): a failure then names its input, and only it is left out. A rerun tries a failed task again.

    `settings` (JSON): what every task's output depends on besides its inputs; when it differs from the last run's,
    no finished task is trusted (see the module docstring). Tasks of an earlier run that are not in `tasks` any more
    have their outputs removed.

    `fn` goes into Ray's object store once and every task receives a reference to it: whatever it carries
    (an input map, a list of index parts) is not serialised again per task. At most `max_in_flight` tasks
    are submitted at a time (default: twice the cluster's CPUs), as datatrove's Ray executor does, so the
    driver's memory and Ray's task table do not grow with the number of tasks.
    """
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"stage {stage!r}: task ids must be unique")
    stage_dir.mkdir(parents=True, exist_ok=True)
    changed = _forget_if_settings_changed(stage, stage_dir, settings, tasks) if settings is not None else []
    removed = _remove_tasks_no_longer_listed(stage, stage_dir, tasks)
    redone: dict[str, str] = {}
    for task in tasks:
        marker = task_marker(stage_dir, task.task_id)
        if marker.exists() and (problem := _task_problem(stage_dir, task, marker)) is not None:
            print(f"stage {stage!r}: task {task.task_id} redone: {problem}", file=sys.stderr)
            redone[task.task_id] = problem
            _remove_task(stage_dir, marker)
    pending = [t for t in tasks if not task_marker(stage_dir, t.task_id).exists()]
    failures: dict[str, str] = {}
    split: list[Task] = []  # the one-input tasks of failed groups
    standing = len(tasks)
    if pending:
        remote = _remote_run.options(num_cpus=num_cpus_per_task, name=f"{stage}")
        fn_ref = ray.put(fn)
        limit = max_in_flight or max(1, 2 * int(ray.cluster_resources().get("CPU", 1) / num_cpus_per_task))
        with Progress(TextColumn(f"[bold]{stage}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      disable=not show_progress, transient=False) as progress:
            bar = progress.add_task(stage, total=len(tasks), completed=len(tasks) - len(pending))

            def submit(batch: list[Task]) -> dict[str, str]:
                """Run `batch`, at most `limit` tasks in flight; the failures, by task id."""
                failed: dict[str, str] = {}
                queue, in_flight = iter(batch), {}
                while True:
                    for task in itertools.islice(queue, limit - len(in_flight)):
                        task_error_path(stage_dir, task.task_id).unlink(missing_ok=True)  # an earlier run's failure
                        in_flight[remote.remote(fn_ref, task, stage_dir)] = task
                    if not in_flight:
                        return failed
                    done, _ = ray.wait(list(in_flight), num_returns=1)
                    for ref in done:
                        task = in_flight.pop(ref)
                        try:
                            ray.get(ref)
                        except Exception as error:  # report it, keep the others going
                            failed[task.task_id] = _failure(stage_dir, task, error)
                        progress.advance(bar)

            failures = submit(pending)
            by_id = {task.task_id: task for task in tasks}
            for group in [by_id[task_id] for task_id in failures if len(by_id[task_id].inputs) > 1]:
                # Left out as a whole, its inputs' tasks stand in its place.
                children = [_one_input(group, k) for k in range(len(group.inputs))]
                _mark_failed(stage_dir, group, failures.pop(group.task_id), [child.task_id for child in children])
                split += children
                standing += len(children) - 1
            if split:
                progress.update(bar, total=len(tasks) + len(split))
                failures.update(submit(split))
    skipped: dict[str, str] = {}
    if skip_failed and len(failures) < standing:  # the stage fails when every task that stands failed
        by_id = {task.task_id: task for task in [*tasks, *split]}
        for task_id, message in failures.items():
            _mark_failed(stage_dir, by_id[task_id], message)
        skipped, failures = failures, {}
    report = StageReport(stage, stage_dir, len(tasks), len(tasks) - len(pending), tasks_redone=redone,
                         settings_changed=changed, tasks_removed=removed, tasks_failed=skipped)
    markers = [json.loads(task_marker(stage_dir, t.task_id).read_text())
               for t in [*tasks, *split] if task_marker(stage_dir, t.task_id).exists()]
    report.steps = merge_step_stats(marker["steps"] for marker in markers)
    ran = {task.task_id for task in [*pending, *split]}
    report.resumed_other_code = dict(Counter(
        marker.get("code", UNRECORDED_CODE) for marker in markers
        if marker["task_id"] not in ran and "failed" not in marker and marker.get("code") != code_version()))
    write_json_atomic(stats_path(stage_dir), report.to_dict())
    if failures:
        raise StageFailed(stage, failures)
    return report


def _one_input(group: Task, k: int) -> Task:
    """The task reading the k-th input of a failed group alone."""
    return replace(group, task_id=f"{group.task_id}{SPLIT_MARK}{k}", inputs=(group.inputs[k],),
                   names=group.names[k:k + 1])


def _mark_failed(stage_dir: Path, task: Task, message: str, split_into: list[str] | None = None) -> None:
    """A task left out after failing: no outputs; every run tries it again. A group split into one task per input
    names them."""
    write_json_atomic(task_marker(stage_dir, task.task_id), {
        "task_id": task.task_id, "inputs": list(task.inputs), "settings": _canonical(task.settings),
        "failed": message, "steps": [], "outputs": {}, **({"split_into": split_into} if split_into else {})})


def _failure(stage_dir: Path, task: Task, error: BaseException) -> str:
    path = task_error_path(stage_dir, task.task_id)
    if path.exists():  # the task raised: its traceback, written where it ran
        return f"{_describe(error)} (traceback: {path})"
    # Its worker process died on every attempt, leaving no Python traceback: name the inputs it died on, and keep
    # Ray's account beside the markers, where the console points.
    write_text_atomic(path, f"task {task.task_id}, inputs {list(task.inputs)}\nits worker process died on each of "
                            f"{WORKER_RETRIES + 1} attempts; Ray's report:\n{error}\n")
    shown = ", ".join(task.inputs[:2]) + (", ..." if len(task.inputs) > 2 else "")
    return (f"{_describe(error).split(':')[0]}: its worker process died on each of {WORKER_RETRIES + 1} attempts "
            f"(a crash in native code, or killed for memory) reading {shown or 'no input'} (details: {path})")


def _describe(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error
    return "".join(traceback.format_exception_only(type(cause), cause)).strip().splitlines()[-1]
