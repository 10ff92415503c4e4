"""The Ray stage runner: outputs, rejected rows written aside, statistics, resume, and task failures."""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sciloom.curation.atomic_write import write_text_atomic
from sciloom.curation.code_version import PACKAGES, code_version, package_folders, source_digest
from sciloom.curation.document import BASE_COLUMNS, Document
from sciloom.curation.executor import UNRECORDED_CODE, StageFailed, Task, run_stage, task_error_path, task_marker
from sciloom.curation.map_stage import map_documents, part_path, rejected_path
from sciloom.curation.step import Reader, Step


class LinesReader(Reader):
    """Each line of a text file is a document; a line 'BROKEN' is unreadable input."""

    name = "read_lines"
    columns = dict(BASE_COLUMNS)

    def read(self, location: str) -> Iterator[Document]:
        if location.endswith("explode.txt"):
            raise ValueError("this input makes the task fail")
        for i, line in enumerate(Path(location).read_text().splitlines()):
            if line == "BROKEN":
                self.skip("unreadable_line")
                continue
            doc = {"id": f"{Path(location).stem}-{i}", "text": line, "url": None, "source": "t", "lang": None}
            self.keep(doc)
            yield doc


class ShortFilter(Step):
    name = "short_filter"
    columns = {"n_words": pa.int64()}

    def apply(self, doc: Document) -> str | None:
        doc["n_words"] = len(doc["text"].split())
        return "too_few_words" if doc["n_words"] < 2 else None


def build() -> tuple[Reader, list[Step]]:
    return LinesReader(), [ShortFilter()]


def make_inputs(tmp_path: Path, n_files: int = 3) -> list[Task]:
    tasks = []
    for f in range(n_files):
        path = tmp_path / "in" / f"f{f}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(["two words", "one", "BROKEN", f"three words {f}"]))
        tasks.append(Task(task_id=f"{f:05d}", inputs=(str(path),)))
    return tasks


def test_stage_writes_kept_rejected_and_stats(ray_session, tmp_path: Path) -> None:
    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)

    kept = pq.read_table(part_path(stage_dir, "00001")).to_pylist()
    assert [d["id"] for d in kept] == ["f1-0", "f1-3"]
    assert kept[1]["n_words"] == 3
    rejected = pq.read_table(rejected_path(stage_dir, "00001")).to_pylist()
    assert [(d["id"], d["reject_reason"]) for d in rejected] == [("f1-1", "short_filter:too_few_words")]

    steps = {s.name: s for s in report.steps}
    assert steps["read_lines"].skipped == {"unreadable_line": 3}
    assert steps["short_filter"].docs_in == 9 and steps["short_filter"].docs_out == 6
    assert steps["short_filter"].rejected == {"too_few_words": 3}
    saved = json.loads((tmp_path / "_out" / "stats.json").read_text())
    assert saved["steps"][1]["rejected"] == {"too_few_words": 3}


def test_rerun_skips_finished_tasks(ray_session, tmp_path: Path) -> None:
    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    run_stage("lines", stage_dir, tasks[:2], map_documents(build), show_progress=False)
    before = part_path(stage_dir, "00000").stat().st_mtime_ns
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert report.tasks_skipped == 2
    assert part_path(stage_dir, "00000").stat().st_mtime_ns == before
    assert {s.name: s.docs_out for s in report.steps}["short_filter"] == 6


def test_failing_task_is_reported_and_retried_alone(ray_session, tmp_path: Path) -> None:
    tasks = make_inputs(tmp_path, n_files=2)
    bad = tmp_path / "in" / "explode.txt"
    bad.write_text("x y")
    tasks.append(Task(task_id="bad", inputs=(str(bad),)))
    stage_dir = tmp_path / "out"
    with pytest.raises(StageFailed, match="this input makes the task fail") as failed:
        run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert list(failed.value.failures) == ["bad"]
    assert task_marker(stage_dir, "00000").exists() and not task_marker(stage_dir, "bad").exists()
    assert not list(stage_dir.glob(".*.tmp")) and not part_path(stage_dir, "bad").exists()
    # The full traceback lies next to the task's marker, and the message names it.
    traceback_file = task_error_path(stage_dir, "bad")
    assert f"(traceback: {traceback_file})" in str(failed.value)
    written = traceback_file.read_text()
    assert "Traceback (most recent call last)" in written and 'raise ValueError("this input makes the task fail")' in written
    assert str(bad) in written.splitlines()[0]



def _raise_then_crash(task: Task, stage_dir: Path) -> list:
    import os

    if Path(task.inputs[0]).read_text() == "raise":
        raise ValueError("a Python error")
    os._exit(3)  # what a segfault in native code or the out-of-memory killer leaves: no traceback


def test_a_task_whose_worker_dies_names_its_input_not_a_missing_traceback(ray_session, tmp_path: Path) -> None:
    """The message pointed to a traceback file that a dead worker never writes (or to an earlier run's)."""
    poison = tmp_path / "poison.warc.gz"
    poison.write_text("raise")
    stage_dir, tasks = tmp_path / "out", [Task("poison", (str(poison),))]
    with pytest.raises(StageFailed, match=r"ValueError: a Python error \(traceback: "):
        run_stage("crash", stage_dir, tasks, _raise_then_crash, show_progress=False)
    poison.write_text("crash")
    with pytest.raises(StageFailed) as failed:
        run_stage("crash", stage_dir, tasks, _raise_then_crash, show_progress=False)
    message = failed.value.failures["poison"]
    assert "worker process died on each of 4 attempts" in message and str(poison) in message
    details = task_error_path(stage_dir, "poison")
    assert f"(details: {details})" in message and "a Python error" not in details.read_text()


def _crash_on_poison(task: Task, stage_dir: Path) -> list:
    import os

    if "poison" in task.task_id:
        os._exit(3)
    (stage_dir / f"part-{task.task_id}.txt").write_text(task.task_id)
    return []


def test_with_skip_failed_a_task_that_always_dies_is_left_out_and_retried_next_run(ray_session, tmp_path: Path) -> None:
    stage_dir = tmp_path / "out"
    tasks = [Task("good", ()), Task("poison", ("bad.warc.gz",))]
    report = run_stage("skip", stage_dir, tasks, _crash_on_poison, show_progress=False, skip_failed=True)
    assert list(report.tasks_failed) == ["poison"] and "worker process died" in report.tasks_failed["poison"]
    assert (stage_dir / "part-good.txt").exists() and not (stage_dir / "part-poison.txt").exists()
    assert json.loads(task_marker(stage_dir, "poison").read_text())["failed"] == report.tasks_failed["poison"]
    again = run_stage("skip", stage_dir, tasks, _crash_on_poison, show_progress=False, skip_failed=True)
    assert again.tasks_skipped == 1 and list(again.tasks_failed) == ["poison"]  # tried again, not trusted
    assert again.tasks_redone["poison"].startswith("it failed in the last run")
    with pytest.raises(StageFailed):  # a stage where every task fails still fails: nothing would go on
        run_stage("skip", tmp_path / "all", tasks[1:], _crash_on_poison, show_progress=False, skip_failed=True)

def _crash_on_poison_input(task: Task, stage_dir: Path) -> list:
    import os

    from sciloom.curation.atomic_write import write_text_atomic

    if any("poison" in location for location in task.inputs):
        os._exit(3)
    write_text_atomic(stage_dir / f"part-{task.task_id}.txt", "\n".join(task.inputs))  # (recorded in its marker)
    return []


def test_a_failed_group_of_files_is_read_again_one_file_per_task(ray_session, tmp_path: Path) -> None:
    """Small files are read about 64 to a task: one that killed its worker on every attempt (a crash in native
    code on one page) left all 64 out. With skip_failed the group is run again one file per task: only the file
    that fails alone is left out, and the next run tries the group again from scratch."""
    stage_dir = tmp_path / "out"
    tasks = [Task("group", ("a.html", "poison.html", "c.html"), names=("a", "p", "c")), Task("alone", ("d.html",))]
    for attempt in range(2):
        report = run_stage("split", stage_dir, tasks, _crash_on_poison_input, show_progress=False, skip_failed=True)
        assert list(report.tasks_failed) == ["group~1"] and "worker process died" in report.tasks_failed["group~1"]
        written = sorted(p.name for p in stage_dir.glob("part-*.txt"))
        assert written == ["part-alone.txt", "part-group~0.txt", "part-group~2.txt"], attempt
        assert (stage_dir / "part-group~2.txt").read_text() == "c.html"
        group = json.loads(task_marker(stage_dir, "group").read_text())
        assert group["split_into"] == ["group~0", "group~1", "group~2"] and "failed" in group
        assert json.loads(task_marker(stage_dir, "group~0").read_text())["inputs"] == ["a.html"]
        if attempt == 1:
            assert report.tasks_redone["group"].startswith("it failed in the last run") and report.tasks_skipped == 1
    # Without the group among the stage's tasks, its inputs' tasks go too.
    run_stage("split", stage_dir, tasks[1:], _crash_on_poison_input, show_progress=False, skip_failed=True)
    assert sorted(p.name for p in stage_dir.glob("part-*.txt")) == ["part-alone.txt"]
    # A stage whose every file fails still fails, split or not: nothing would go on.
    with pytest.raises(StageFailed):
        run_stage("split", tmp_path / "all", [Task("g", ("poison-1", "poison-2"))], _crash_on_poison_input,
                  show_progress=False, skip_failed=True)
    # Without skip_failed the stage fails too, naming the file that fails alone rather than its group of 64.
    with pytest.raises(StageFailed) as failed:
        run_stage("split", tmp_path / "strict", tasks, _crash_on_poison_input, show_progress=False)
    assert list(failed.value.failures) == ["group~1"] and "poison.html" in failed.value.failures["group~1"]


def test_a_finished_task_whose_output_was_damaged_is_redone(ray_session, tmp_path: Path) -> None:
    """Markers record each output's size and crc32: a part damaged (or a rejected part removed) after its task
    finished is written again on the next run, instead of the marker being trusted."""
    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    good = {t.task_id: part_path(stage_dir, t.task_id).read_bytes() for t in tasks}
    marker = json.loads(task_marker(stage_dir, "00000").read_text())
    assert set(marker["outputs"]) == {"out/part-00000.parquet", "_out/rejected/part-00000.parquet"}
    damaged = part_path(stage_dir, "00000")
    damaged.write_bytes(damaged.read_bytes()[:-40])  # a truncated part: its footer is gone
    rejected_path(stage_dir, "00001").unlink()
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert sorted(report.tasks_redone) == ["00000", "00001"] and report.tasks_skipped == len(tasks) - 2
    assert "changed since the task wrote it" in report.tasks_redone["00000"]
    assert "missing" in report.tasks_redone["00001"]
    assert {t.task_id: part_path(stage_dir, t.task_id).read_bytes() for t in tasks} == good
    assert rejected_path(stage_dir, "00001").exists()
    again = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert again.tasks_redone == {} and again.tasks_skipped == len(tasks)



def test_a_rerun_reads_only_outputs_whose_size_or_time_changed(ray_session, tmp_path: Path, monkeypatch) -> None:
    """Every rerun used to read every output of every finished task to check its crc32 (about 1 s per GB on the
    driver: hours at crawl scale). Now only a changed modification time sends a file to be read: a copied run folder
    is read once, and a same-size edit is still caught."""
    import os

    from sciloom.curation import executor

    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    read: list[str] = []
    fingerprint = executor.file_fingerprint
    monkeypatch.setattr(executor, "file_fingerprint", lambda path: read.append(path.name) or fingerprint(path))
    assert run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False).tasks_skipped == len(tasks)
    assert read == []
    copied = part_path(stage_dir, "00000")  # same bytes, a newer time: what a copy without -p leaves
    os.utime(copied, ns=(copied.stat().st_atime_ns, copied.stat().st_mtime_ns + 10**9))
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert report.tasks_redone == {} and read == [copied.name]
    read.clear()
    assert run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False).tasks_redone == {}
    assert read == []  # the marker took the verified time
    good = copied.read_bytes()
    edited = bytearray(good)
    edited[len(edited) // 2] ^= 0xFF  # same size, other bytes, a new time
    copied.write_bytes(bytes(edited))
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert list(report.tasks_redone) == ["00000"] and "crc32" in report.tasks_redone["00000"]
    assert copied.read_bytes() == good

class MinWordsFilter(ShortFilter):
    def __init__(self, min_words: int) -> None:
        super().__init__()
        self.min_words = min_words

    def apply(self, doc: Document) -> str | None:
        doc["n_words"] = len(doc["text"].split())
        return "too_few_words" if doc["n_words"] < self.min_words else None


def build_with(min_words: int) -> tuple[Reader, list[Step]]:
    return LinesReader(), [MinWordsFilter(min_words)]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_a_rerun_with_other_settings_redoes_the_stage_and_keeps_no_old_output(ray_session, tmp_path: Path) -> None:
    """A finished task's marker used to be trusted whatever the settings: a rerun with another threshold resumed
    every part written under the old one (a whole curation rerun kept the old rules' verdicts)."""
    tasks = make_inputs(tmp_path)
    run = tmp_path / "run"
    run_stage("lines", run / "out", tasks, map_documents(partial(build_with, 2)), show_progress=False,
              settings={"min_words": 2})
    assert (run / "_out" / "rejected" / "part-00000.parquet").exists()
    report = run_stage("lines", run / "out", tasks, map_documents(partial(build_with, 1)), show_progress=False,
                       settings={"min_words": 1})
    assert report.settings_changed == ["min_words"] and report.tasks_skipped == 0
    fresh = tmp_path / "fresh"
    run_stage("lines", fresh / "out", tasks, map_documents(partial(build_with, 1)), show_progress=False,
              settings={"min_words": 1})
    assert _files(run) == _files(fresh)  # same files, same bytes
    assert {s.name: s.docs_out for s in report.steps}["short_filter"] == 9
    again = run_stage("lines", run / "out", tasks, map_documents(partial(build_with, 1)), show_progress=False,
                      settings={"min_words": 1})
    assert again.settings_changed == [] and again.tasks_skipped == len(tasks)


def write_copies(copies: int, task: Task, stage_dir: Path) -> list:
    """Writes `copies` files per task: fewer under other settings."""
    for i in range(copies):
        write_text_atomic(stage_dir / f"{task.task_id}-{i}.txt", f"{task.task_id} copy {i}")
    return []


def test_outputs_the_new_settings_do_not_write_are_removed(ray_session, tmp_path: Path) -> None:
    tasks = make_inputs(tmp_path, n_files=2)
    stage_dir = tmp_path / "out"
    run_stage("copies", stage_dir, tasks, partial(write_copies, 3), show_progress=False, settings={"copies": 3})
    assert len(list(stage_dir.glob("*.txt"))) == 6
    report = run_stage("copies", stage_dir, tasks, partial(write_copies, 1), show_progress=False,
                       settings={"copies": 1})
    assert report.settings_changed == ["copies"]
    assert sorted(p.name for p in stage_dir.glob("*.txt")) == ["00000-0.txt", "00001-0.txt"]


def record_overlap(task: Task, stage_dir: Path) -> list:
    """A task that notes which other tasks ran while it did: it waits up to a second for one to appear."""
    running = stage_dir / "running"
    running.mkdir(exist_ok=True)
    (running / task.task_id).touch()
    others: list[str] = []
    for _ in range(100):
        others = sorted(p.name for p in running.iterdir() if p.name != task.task_id)
        if others:
            break
        time.sleep(0.01)
    (stage_dir / f"seen-{task.task_id}.json").write_text(json.dumps(others))
    (running / task.task_id).unlink()
    return []


def test_tasks_in_flight_are_bounded(ray_session, tmp_path: Path) -> None:
    tasks = [Task(f"{i:05d}", ()) for i in range(6)]
    run_stage("bounded", tmp_path / "stage", tasks, record_overlap, show_progress=False, max_in_flight=1)
    seen = {t.task_id: json.loads((tmp_path / "stage" / f"seen-{t.task_id}.json").read_text()) for t in tasks}
    assert seen == {t.task_id: [] for t in tasks}  # one at a time: no task ever saw another running
    assert all(task_marker(tmp_path / "stage", t.task_id).exists() for t in tasks)


def slow_square(index: int, folder: str) -> int:
    """Later items finish first (so results arrive out of order); records how many ran at once."""
    running = Path(folder) / f"running-{index}"
    running.touch()
    overlap = len(list(Path(folder).glob("running-*")))
    time.sleep(0.02 * (8 - index % 8))
    running.unlink()
    (Path(folder) / f"overlap-{index}").write_text(str(overlap))
    if index == 99:
        raise ValueError("item 99 fails")
    return index * index


def test_map_in_order_yields_in_input_order_with_bounded_tasks(ray_session, tmp_path: Path) -> None:
    from sciloom.curation.ray_runtime import map_in_order

    (tmp_path / "free").mkdir()
    (tmp_path / "one").mkdir()
    # Two CPUs: later items overtake earlier ones, and come out in input order all the same.
    assert list(map_in_order(slow_square, ((i, str(tmp_path / "free")) for i in range(16)))) == [i * i for i in range(16)]
    assert max(int((tmp_path / "free" / f"overlap-{i}").read_text()) for i in range(16)) == 2
    results = list(map_in_order(slow_square, ((i, str(tmp_path / "one")) for i in range(6)), max_in_flight=1))
    assert results == [i * i for i in range(6)]
    assert {int((tmp_path / "one" / f"overlap-{i}").read_text()) for i in range(6)} == {1}
    with pytest.raises(ValueError, match="item 99 fails"):
        list(map_in_order(slow_square, [(98, str(tmp_path / "one")), (99, str(tmp_path / "one"))]))


def test_outputs_of_tasks_no_longer_listed_are_removed(ray_session, tmp_path: Path) -> None:
    """An input dropped from the recipe: its part used to stay in the stage folder, and the next stage read it."""
    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    report = run_stage("lines", stage_dir, tasks[:2], map_documents(build), show_progress=False)
    assert report.tasks_removed == ["00002"] and report.tasks_skipped == 2
    assert sorted(p.name for p in stage_dir.glob("part-*")) == ["part-00000.parquet", "part-00001.parquet"]
    assert not rejected_path(stage_dir, "00002").exists() and not task_marker(stage_dir, "00002").exists()


def test_a_task_whose_own_settings_changed_is_redone_alone(ray_session, tmp_path: Path) -> None:
    tasks = [dataclasses.replace(task, settings={"copies": 3}) for task in make_inputs(tmp_path, n_files=2)]
    stage_dir = tmp_path / "out"

    def copies_from_settings(task: Task, stage_dir: Path) -> list:
        return write_copies(task.settings["copies"], task, stage_dir)

    run_stage("copies", stage_dir, tasks, copies_from_settings, show_progress=False, settings={})
    digest = json.loads((tmp_path / "_out" / "settings.json").read_text())
    tasks[1] = dataclasses.replace(tasks[1], settings={"copies": 1})
    report = run_stage("copies", stage_dir, tasks, copies_from_settings, show_progress=False, settings={})
    assert report.settings_changed == [] and report.tasks_skipped == 1
    assert report.tasks_redone == {"00001": "its settings changed (copies)"}
    assert sorted(p.name for p in stage_dir.glob("*.txt")) == ["00000-0.txt", "00000-1.txt", "00000-2.txt",
                                                               "00001-0.txt"]
    # The stages downstream see that one of its tasks changed.
    assert json.loads((tmp_path / "_out" / "settings.json").read_text()) != digest


@pytest.mark.parametrize("rows", [10, 300_000])  # the footer within the first 1 MiB read, and past it
def test_a_parts_data_fingerprint_ignores_its_footer_metadata(tmp_path: Path, rows: int) -> None:
    """What a task reading a part depends on: its bytes before the footer, read in the same pass as the whole
    file's crc32, against zlib over the bytes themselves."""
    import zlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciloom.curation.atomic_write import output_fingerprints

    table = pa.table({"id": [f"d{i}" for i in range(rows)]})
    fingerprints = []
    for recipe in ("a" * 64, "b" * 64):
        path = tmp_path / f"part-{recipe[0]}.parquet"
        pq.write_table(table.replace_schema_metadata({"sciloom.recipe_hash": recipe}), path)
        data = path.read_bytes()
        footer = int.from_bytes(data[-8:-4], "little")
        whole, content = output_fingerprints(path)
        assert whole == {"size": len(data), "crc32": zlib.crc32(data)}
        assert content == {"bytes": len(data) - 8 - footer, "crc32": zlib.crc32(data[:len(data) - 8 - footer])}
        fingerprints.append((whole, content))
    assert fingerprints[0][0] != fingerprints[1][0] and fingerprints[0][1] == fingerprints[1][1]
    (tmp_path / "notes.txt").write_text("not Parquet")
    assert output_fingerprints(tmp_path / "notes.txt")[1] is None


def test_a_rerun_counts_the_resumed_tasks_other_code_wrote_and_resumes_them(ray_session, tmp_path: Path) -> None:
    """An upgrade does not redo finished tasks (settings decide that), but a rerun says which ones other code wrote."""
    tasks = make_inputs(tmp_path)
    stage_dir = tmp_path / "out"
    run_stage("lines", stage_dir, tasks[:2], map_documents(build), show_progress=False)
    marker = task_marker(stage_dir, "00000")
    assert json.loads(marker.read_text())["code"] == code_version()
    older = {**json.loads(marker.read_text()), "code": "0.0.9+0123456789ab"}
    marker.write_text(json.dumps(older))
    before = part_path(stage_dir, "00000").read_bytes()
    report = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert report.tasks_skipped == 2 and part_path(stage_dir, "00000").read_bytes() == before  # resumed, not redone
    assert report.resumed_other_code == {"0.0.9+0123456789ab": 1}
    assert report.to_dict()["tasks_resumed_written_by_other_code"] == {"0.0.9+0123456789ab": 1}
    again = run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False)
    assert again.resumed_other_code == {"0.0.9+0123456789ab": 1}  # still there until the folder is removed
    del older["code"]  # a marker from before markers named their code
    marker.write_text(json.dumps(older))
    assert run_stage("lines", stage_dir, tasks, map_documents(build), show_progress=False).resumed_other_code == {
        UNRECORDED_CODE: 1}


def test_the_code_version_changes_with_any_source_file(tmp_path: Path) -> None:
    folders = package_folders()
    assert {package for package, _ in folders} == set(PACKAGES)
    copies = []
    for package, folder in folders:
        shutil.copytree(folder, tmp_path / package, ignore=lambda where, names: [  # Python sources only
            name for name in names
            if name == "__pycache__" or not (name.endswith(".py") or (Path(where) / name).is_dir())])
        copies.append((package, tmp_path / package))
    digest = source_digest(folders)
    assert code_version().endswith(f"+{digest}") and len(digest) == 12
    assert source_digest(copies) == digest  # the same sources wherever they are
    rules = tmp_path / "sciloom.curation" / "rules.py"
    rules.write_text(rules.read_text() + "\n# a fix\n")
    changed = source_digest(copies)
    assert changed != digest
    rules.rename(rules.with_name("rules_renamed.py"))
    assert source_digest(copies) not in (digest, changed)
    # Installed from a wheel, the packages' folders are nested in sciloom/'s: each file counts once, and a change
    # in a nested package's file still shows.
    wheel = tmp_path / "site-packages" / "sciloom"
    shutil.copytree(tmp_path / "sciloom", wheel)
    nested = [("sciloom", wheel)]
    for package, folder in copies[1:]:
        shutil.copytree(folder, wheel / package.split(".")[1])
        nested.append((package, wheel / package.split(".")[1]))
    before = source_digest(nested)
    renamed = wheel / "curation" / "rules_renamed.py"
    renamed.write_text(renamed.read_text() + "\n# another fix\n")
    assert source_digest(nested) != before
