"""Reruns of a run folder: rerun with other settings, or without one of its inputs, it ends with exactly the outputs
of a fresh run of the new recipe; and a run never reads its own outputs as inputs.

Finished tasks used to be resumed whatever the settings: a curation rerun with the `stock` rules instead of the
`science` ones kept every extracted part, and so every label, of the first run (70 curated documents where a fresh
run keeps 51)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.pipeline import run_classification
from sciloom.curation.config import CurationConfig
from sciloom.curation.executor import StageReport
from sciloom.curation.pipeline import run_curation
from sciloom.curation.sample_crawl import write_sample_crawl

FOLDERS = ("curation/extract", "curation/curated", "classifiers/labelled")


def _run(crawl: Path, out: Path, profile: str) -> dict[str, StageReport]:
    curation = CurationConfig.model_validate({"inputs": [{"paths": [str(crawl)], "source": "sample"}],
                                              "rules": {"profile": profile}})
    reports = run_curation(curation, out / "curation")
    run_classification(ClassifiersConfig(), out / "curation" / "curated", out / "classifiers")
    return {report.stage: report for report in reports}


def _table(folder: Path) -> pa.Table:
    return ds.dataset(folder, format="parquet").to_table().sort_by("id")


def test_a_rerun_with_other_rules_equals_a_fresh_run(ray_session, tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc.gz"
    write_sample_crawl(crawl, seed=0)
    _run(crawl, tmp_path / "rerun", "science")
    science = {folder: _table(tmp_path / "rerun" / folder).num_rows for folder in FOLDERS}
    changed = _run(crawl, tmp_path / "rerun", "stock")
    assert changed["extract"].settings_changed == ["curation.rules.profile"]
    # Signatures depend on the part's bytes alone: the part extracted under the new rules is signed again.
    assert list(changed["dedup_index"].tasks_redone.values()) == ["its settings changed (part.bytes, part.crc32)"]
    _run(crawl, tmp_path / "fresh", "stock")
    for folder in FOLDERS:
        rerun, fresh = _table(tmp_path / "rerun" / folder), _table(tmp_path / "fresh" / folder)
        assert rerun.equals(fresh), folder
    assert _table(tmp_path / "fresh" / "curation/curated").num_rows < science["curation/curated"]
    unchanged = _run(crawl, tmp_path / "rerun", "stock")
    assert all(not r.settings_changed and not r.tasks_redone and r.tasks_skipped == r.tasks_total
               for r in unchanged.values())


def test_a_rerun_without_one_of_its_inputs_equals_a_fresh_run(ray_session, tmp_path: Path) -> None:
    """The dropped input's extracted part used to stay and be deduplicated with the rest: 35 of the 70 curated
    documents came from the file no longer in the recipe."""
    crawls = [tmp_path / f"crawl-{seed}.warc.gz" for seed in (0, 1)]
    for seed, crawl in enumerate(crawls):
        write_sample_crawl(crawl, seed=seed)

    def curate(files: list[Path], out: Path) -> pa.Table:
        config = CurationConfig.model_validate({"inputs": [{"paths": [str(f) for f in files], "source": "sample"}]})
        run_curation(config, out)
        return _table(out / "curated")

    curate(crawls, tmp_path / "rerun")
    assert curate(crawls[:1], tmp_path / "rerun").equals(curate(crawls[:1], tmp_path / "fresh"))
    assert sorted(p.name for p in (tmp_path / "rerun" / "extract").glob("part-*")) == \
        sorted(p.name for p in (tmp_path / "fresh" / "extract").glob("part-*"))


def test_a_rerun_with_another_source_name_relabels_that_input(ray_session, tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc.gz"
    write_sample_crawl(crawl, seed=0)

    def curate(source: str, out: Path) -> pa.Table:
        run_curation(CurationConfig.model_validate({"inputs": [{"paths": [str(crawl)], "source": source}]}), out)
        return _table(out / "curated")

    curate("first-name", tmp_path / "rerun")
    renamed = curate("second-name", tmp_path / "rerun")
    assert set(renamed.column("source").to_pylist()) == {"second-name"}
    assert renamed.equals(curate("second-name", tmp_path / "fresh"))


def test_a_run_whose_output_folder_lies_inside_its_input_folder_never_reads_its_own_outputs(tmp_path: Path) -> None:
    """`inputs: [data/]` with `output_dir: data/run`: the run took its own lock file, and on the rerun its parts
    and index files, for inputs (43 'unreadable' input files, exit 1)."""
    import os
    import subprocess
    import sys

    import yaml

    data = tmp_path / "data"
    data.mkdir()
    write_sample_crawl(data / "crawl.warc.gz", seed=0)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "run": {"name": "nested", "output_dir": str(data / "run"), "num_cpus": 2, "phases": ["curation"]},
        "curation": {"inputs": [{"paths": [str(data)], "source": "sample"}]}}))
    sciloom = str(Path(sys.executable).with_name("sciloom"))
    for attempt in ("first", "rerun"):
        result = subprocess.run([sciloom, "run", str(recipe)], capture_output=True, text=True, timeout=600,
                                env={**os.environ, "RAY_ADDRESS": "", "OMP_NUM_THREADS": "1"})
        assert result.returncode == 0, (attempt, result.stderr[-3000:])
        assert "extract (1 tasks" in result.stderr, attempt


def test_an_added_input_is_extracted_alone_and_the_result_equals_a_fresh_run(ray_session, tmp_path: Path) -> None:
    """Adding a crawl file to a finished run extracts that file only (the others' settings did not change), then
    deduplicates everything again, and labels the parts that changed: the curated and labelled documents are a
    fresh run's."""
    crawls = [tmp_path / f"crawl-{seed}.warc.gz" for seed in (0, 1)]
    for seed, crawl in enumerate(crawls):
        write_sample_crawl(crawl, seed=seed)

    _curate_and_label(crawls[:1], tmp_path / "grown")
    grown, _, resumed = _curate_and_label(crawls, tmp_path / "grown")
    assert resumed["extract"] == 1 and resumed["dedup_index"] == 1  # the first part's signatures are kept
    assert grown.equals(_curate_and_label(crawls, tmp_path / "fresh")[0])


def _curate_and_label(files: list[Path], out: Path) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """Curated and labelled documents, and how many tasks each stage resumed. As in `sciloom run`, every part
    records the hash of the recipe that wrote it, which changes with the input list."""
    import hashlib

    config = CurationConfig.model_validate({"inputs": [{"paths": [str(f) for f in files], "source": "sample"}]})
    recipe_hash = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
    reports = run_curation(config, out / "curation", recipe_hash=recipe_hash)
    stage = json.loads(Path(run_classification(ClassifiersConfig(), out / "curation" / "curated", out / "classifiers",
                                               recipe_hash=recipe_hash)["report"]).read_text())["stage"]
    resumed = {report.stage: report.tasks_skipped for report in reports}
    resumed["classify"] = stage["tasks_resumed_from_earlier_run"]
    return _table(out / "curation" / "curated"), _table(out / "classifiers" / "labelled"), resumed


def test_an_added_input_relabels_only_the_parts_that_changed(ray_session, shared_data: Path, tmp_path: Path) -> None:
    """Dedup spans every part and is done again when an input is added, but a part it writes as before keeps its
    labels: every part used to be labelled again (at crawl scale, a file added to 90,000 relabelled them all). A
    part does change when the new text duplicates, or shares n-grams with, its documents (20 BBC articles moved
    one sample page's containment score from 0 to 0.006): that part is labelled again. Materials abstracts share
    none with the sample crawl."""
    crawl = tmp_path / "crawl.warc.gz"
    write_sample_crawl(crawl, seed=0)
    abstracts = tmp_path / "glass.jsonl"
    with (shared_data / "disciplines" / "labelled-corpus" / "matscibert_glass.jsonl").open() as corpus:
        abstracts.write_text("".join(json.dumps({"text": json.loads(corpus.readline())["text"]}) + "\n"
                                     for _ in range(20)))
    before = _curate_and_label([crawl], tmp_path / "grown")[1]
    curated, labelled, resumed = _curate_and_label([crawl, abstracts], tmp_path / "grown")
    assert resumed["extract"] == 1 and resumed["classify"] == 1
    assert labelled.num_rows > before.num_rows
    fresh_curated, fresh_labelled, _ = _curate_and_label([crawl, abstracts], tmp_path / "fresh")
    assert curated.equals(fresh_curated) and labelled.equals(fresh_labelled)


def test_a_project_folder_copied_elsewhere_resumes_every_stage(ray_session, tmp_path: Path, monkeypatch) -> None:
    """A task's id used to hash the input's absolute path: a project folder copied (or moved, or mounted elsewhere on
    another node) redid every stage, and the mixer then refused the run's own build as another one."""
    import shutil

    first, copy = tmp_path / "first", tmp_path / "copy"
    write_sample_crawl(first / "data" / "crawl.warc.gz", seed=0)
    curation = CurationConfig.model_validate({"inputs": [{"paths": ["data/crawl.warc.gz"], "source": "sample"}]})

    def run(project: Path) -> tuple[list, dict]:
        monkeypatch.chdir(project)  # the recipe's relative paths, as `sciloom run` started in the project
        reports = run_curation(curation, project / "run" / "curation")
        labelled = run_classification(ClassifiersConfig(), project / "run" / "curation" / "curated",
                                      project / "run" / "classifiers")
        return reports, labelled

    run(first)
    shutil.copytree(first, copy)
    (first / "data" / "crawl.warc.gz").unlink()  # the copy reads its own input, not the first folder's
    reports, labelled = run(copy)
    assert all(r.tasks_skipped == r.tasks_total and not r.settings_changed and not r.tasks_removed for r in reports)
    stage = json.loads(Path(labelled["report"]).read_text())["stage"]
    assert stage["tasks_resumed_from_earlier_run"] == stage["tasks_total"] and not stage["redone_settings_changed"]
    for folder in FOLDERS:
        assert _table(copy / "run" / folder).equals(_table(first / "run" / folder)), folder


def test_an_input_that_grew_since_the_last_run_is_read_again(ray_session, tmp_path: Path) -> None:
    """A crawl file still downloading when the first run read it: the rerun, after the download, used to resume the
    task and keep only the documents of the truncated file."""
    complete = tmp_path / "complete.warc.gz"
    write_sample_crawl(complete, seed=0)
    crawl = tmp_path / "crawl.warc.gz"
    crawl.write_bytes(complete.read_bytes()[:complete.stat().st_size // 2])
    config = CurationConfig.model_validate({"inputs": [{"paths": [str(crawl)], "source": "sample"}]})
    run_curation(config, tmp_path / "run")
    partial_rows = _table(tmp_path / "run" / "curated").num_rows
    crawl.write_bytes(complete.read_bytes())
    reports = {r.stage: r for r in run_curation(config, tmp_path / "run")}
    assert list(reports["extract"].tasks_redone.values()) == ["its settings changed (file_version)"]
    run_curation(config, tmp_path / "fresh")
    assert _table(tmp_path / "run" / "curated").equals(_table(tmp_path / "fresh" / "curated"))
    assert _table(tmp_path / "run" / "curated").num_rows > partial_rows


def test_an_object_replaced_in_its_store_is_read_again(ray_session, tmp_path: Path) -> None:
    """An input folder given as a URL (an object store's, here `file://`): a file replaced there by one of the same
    size used to be resumed with the old file's documents (a URL's version was not recorded). Its listing's
    version (S3's ETag, a modification time) now is."""
    import os

    from sciloom.curation.inputs import InputsConfig, find_inputs

    folder = tmp_path / "store"
    write_sample_crawl(folder / "a.warc.gz", seed=0)
    article = ("The river rose two metres overnight and the council closed the old bridge to traffic. Engineers "
               "will inspect the piers on Monday, and the ferry will run every hour until the bridge reopens. ") * 3
    (folder / "b.jsonl").write_text(json.dumps({"id": "b1", "text": article}) + "\n")
    url = f"file://{folder}"
    config = CurationConfig.model_validate({"inputs": [{"paths": [url], "source": "sample"}]})
    for listing in (url, f"{url}/*", f"{url}/b.jsonl"):  # a folder, a glob and one file give the same versions
        versions = find_inputs(InputsConfig(paths=[listing])).versions
        assert versions and all(versions[k] == v for k, v in find_inputs(InputsConfig(paths=[url])).versions.items()
                                if k in versions), listing
    run_curation(config, tmp_path / "run")
    replaced = folder / "b.jsonl"
    before = replaced.stat()
    replaced.write_text(json.dumps({"id": "b1", "text": article.replace("river", "ocean")}) + "\n")
    assert replaced.stat().st_size == before.st_size
    os.utime(replaced, (before.st_atime, before.st_mtime + 10))  # (as a store stamps a replaced object)
    reports = {r.stage: r for r in run_curation(config, tmp_path / "run")}
    assert reports["extract"].tasks_skipped == 1
    assert list(reports["extract"].tasks_redone.values()) == ["its settings changed (file_version)"]
    run_curation(config, tmp_path / "fresh")
    assert _table(tmp_path / "run" / "curated").equals(_table(tmp_path / "fresh" / "curated"))
    assert "ocean" in " ".join(_table(tmp_path / "run" / "curated")["text"].to_pylist())


def test_turning_on_skip_failed_inputs_redoes_nothing(ray_session, tmp_path: Path) -> None:
    crawl = tmp_path / "crawl.warc.gz"
    write_sample_crawl(crawl, seed=0)
    for skip in (False, True):
        config = CurationConfig.model_validate({"inputs": [{"paths": [str(crawl)]}], "skip_failed_inputs": skip})
        reports = run_curation(config, tmp_path / "run")
    assert all(r.tasks_skipped == r.tasks_total and not r.settings_changed for r in reports)


def test_the_message_names_an_option_a_newer_version_records() -> None:
    # After an upgrade added `split_before` (recorded as null), every task was redone "as its settings changed ()".
    from sciloom.curation.executor import changed_fields

    earlier = {"source": "arxiv", "limits": {"max_record_bytes": 1024}}
    assert changed_fields(earlier, {**earlier, "split_before": None}) == ["split_before"]
    assert changed_fields(earlier, {"source": "arxiv", "limits": {}}) == ["limits.max_record_bytes"]
    assert changed_fields(earlier, {"source": "arxiv", "limits": {"max_record_bytes": 1024}}) == []
    assert changed_fields(earlier, {**earlier, "source": None}) == ["source"]


def test_a_phase_whose_resumed_tasks_other_code_wrote_gets_one_note(tmp_path: Path, capsys) -> None:
    """After an upgrade every stage of a phase resumes tasks the earlier code wrote: one note for the phase, naming
    the folder to remove, not one per stage (16 in curation)."""
    from sciloom.curation.code_version import code_version
    from sciloom.runner import _note_other_code

    def stage(name: str, other: dict[str, int]) -> dict:
        return StageReport(name, tmp_path / name, 4, 4, resumed_other_code=other).to_dict()

    curation = [stage("extract", {"0.1.0+aaaaaaaaaaaa": 3, "0.1.0+bbbbbbbbbbbb": 1}), stage("dedup_filter", {}),
                stage("dedup_index", {"0.1.0+aaaaaaaaaaaa": 2})]
    _note_other_code("curation", curation, tmp_path / "curation")
    _note_other_code("classification", {"report": "x", "stage": stage("classify", {})}, tmp_path / "classifiers")
    out = " ".join(capsys.readouterr().err.split())  # the run's console writes to stderr
    assert out.count("NOTE") == 1
    assert (f"NOTE curation: 6 resumed task(s) of 2 stage(s) were written by other sciloom code (5 by "
            f"0.1.0+aaaaaaaaaaaa, 1 by 0.1.0+bbbbbbbbbbbb; this is {code_version()})") in out
    assert "rerun with --redo curation to redo the phase" in out
