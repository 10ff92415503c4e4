"""Every Parquet stage folder of a real run opens as a dataset in the readers data engineers use — pyarrow.dataset,
pandas, DuckDB, Polars and Hugging Face `datasets`, offline — with the row counts run_report.json states, the columns
sciloom/output_schema.py documents, and the recipe hash in each part's key-value metadata."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from sciloom.curation.part_writer import RECIPE_HASH_KEY, SCHEMA_VERSION, SCHEMA_VERSION_KEY
from sciloom.output_schema import CURATED, EXTRACT, LABELLED, OPTIONAL, STAGE_FOLDERS, columns_of

REPO_ROOT = Path(__file__).resolve().parents[2]
SCILOOM = str(Path(sys.executable).with_name("sciloom"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo recipe's curation and classification phases, run as a user runs them."""
    folder = tmp_path_factory.mktemp("readers")
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(output_dir=str(folder / "run"), phases=["curation", "classification"])
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(REPO_ROOT / path) for path in spec["paths"]]
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = subprocess.run([SCILOOM, "run", str(path)], capture_output=True, text=True, timeout=900,
                            env={**os.environ, "RAY_ADDRESS": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "run"


def expected_rows(report: dict, folder: str) -> int:
    stages = {stage["stage"]: stage for stage in report["curation"]}
    if folder == EXTRACT:
        return stages["extract"]["steps"][-1]["docs_out"]
    if folder == CURATED:
        return stages["dedup_filter"]["steps"][-1]["docs_out"]
    return report["classification"]["documents"]


@pytest.mark.parametrize("folder", STAGE_FOLDERS)
def test_stage_folder_opens_in_every_reader(run_dir: Path, folder: str, tmp_path: Path) -> None:
    import datasets

    report = json.loads((run_dir / "run_report.json").read_text())
    rows = expected_rows(report, folder)
    path = run_dir / folder
    assert rows > 0
    assert ds.dataset(path, format="parquet").count_rows() == rows
    assert len(pq.read_table(path)) == rows
    assert len(pd.read_parquet(path)) == rows
    assert duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0] == rows
    assert pl.read_parquet(path).height == rows
    loaded = datasets.load_dataset("parquet", data_dir=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == rows


@pytest.mark.parametrize("folder", STAGE_FOLDERS)
def test_columns_are_the_documented_ones_and_parts_name_their_recipe(run_dir: Path, folder: str) -> None:
    report = json.loads((run_dir / "run_report.json").read_text())
    documented = columns_of(folder)
    parts = sorted((run_dir / folder).glob("part-*.parquet"))
    assert parts
    for part in parts:
        schema = pq.read_schema(part)
        assert set(schema.names) == set(documented) - OPTIONAL  # the demo's WARC input adds no fields of its own
        for name in schema.names:
            assert schema.field(name).type == documented[name].type, name
        metadata = {k.decode(): v.decode() for k, v in schema.metadata.items()}
        assert metadata[SCHEMA_VERSION_KEY] == SCHEMA_VERSION
        assert metadata[RECIPE_HASH_KEY] == report["recipe_hash"]


def test_the_run_and_every_task_name_the_code_that_wrote_them(run_dir: Path) -> None:
    from sciloom.curation.code_version import code_version

    report = json.loads((run_dir / "run_report.json").read_text())
    assert report["code_version"] == code_version()  # the run's code is this test's code
    markers = list((run_dir / "curation" / "_extract" / "tasks").glob("*.json"))
    assert markers and all(json.loads(m.read_text())["code"] == code_version() for m in markers)
    assert f"<td>{code_version()}</td>" in (run_dir / "report.html").read_text()


def test_rejected_rows_are_a_dataset_beside_the_stage(run_dir: Path) -> None:
    report = json.loads((run_dir / "run_report.json").read_text())
    extract = next(stage for stage in report["curation"] if stage["stage"] == "extract")
    rejected = sum(sum(step["rejected"].values()) for step in extract["steps"])
    table = pd.read_parquet(run_dir / "curation" / "_extract" / "rejected")
    assert len(table) == rejected > 0 and table["reject_reason"].notna().all()


def _inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCILOOM, "inspect", *args], capture_output=True, text=True, timeout=120)


def test_inspect_shows_a_sample_that_matches_the_condition(run_dir: Path) -> None:
    labelled = pd.read_parquet(run_dir / LABELLED)
    high = labelled[labelled["quality_tier"] == "high"]
    result = _inspect(str(run_dir / LABELLED), "--n", "3", "--where", "quality_tier = 'high'")
    assert result.returncode == 0, result.stderr
    assert f"{len(high):,} of {len(labelled):,} documents match" in result.stdout
    shown = [line.split("id=")[1].split()[0] for line in result.stdout.splitlines() if line.startswith("── ")]
    assert len(shown) == min(3, len(high)) and set(shown) <= set(high["id"])
    first = high.set_index("id").loc[shown[0]]
    assert f"discipline={first['discipline']}" in result.stdout and "quality_tier=high" in result.stdout
    assert f"   | {first['text'].strip().splitlines()[0][:60]}" in result.stdout


def test_inspect_names_the_flags_that_kept_a_document_out_of_the_high_tier(run_dir: Path, tmp_path: Path) -> None:
    rows = pd.read_parquet(run_dir / LABELLED).head(3).copy()
    flags = ["c4:curly_bracket", "gopher_quality:hash_ratio"]
    rows["l1_flags"] = [flags, [], []]
    path = tmp_path / "part-0.parquet"
    rows.to_parquet(path)
    result = _inspect(str(path), "-n", "3")  # (as `head -n`)
    assert result.returncode == 0, result.stderr
    shown = [line for line in result.stdout.splitlines() if line.startswith("   flags: ")]
    assert shown == [f"   flags: {', '.join(flags)}"]  # documents without flags get no line
    block = result.stdout.split(f"id={rows['id'].iloc[0]}")[1].split("── ")[0]
    assert shown[0] in block


def test_inspect_rejected_rows_show_their_reason_and_bad_input_is_one_line(run_dir: Path) -> None:
    rejected = pd.read_parquet(run_dir / "curation" / "_extract" / "rejected")
    result = _inspect(str(run_dir / "curation" / "_extract" / "rejected"), "--n", "50")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("   rejected: ") == len(rejected)
    for reason in set(rejected["reject_reason"]):
        assert f"rejected: {reason}" in result.stdout
    bad = _inspect(str(run_dir / CURATED), "--where", "no_such_column > 1")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no_such_column" in bad.stderr
    # A condition is one expression: a script hidden in it is refused before anything runs.
    script = _inspect(str(run_dir / CURATED), "--where", "1); CREATE TABLE t AS SELECT 1; SELECT (1")
    assert script.returncode == 2 and "one SQL expression" in script.stderr
    assert _inspect(str(run_dir / CURATED), "--where", "1; SELECT 2").returncode == 2
    not_parquet = run_dir.parent / "not_a.parquet"
    not_parquet.write_bytes(b"garbage")
    unreadable = _inspect(str(not_parquet))
    assert unreadable.returncode == 2 and "not readable as Parquet" in unreadable.stderr and "--where" not in unreadable.stderr
    missing = _inspect(str(run_dir / "nowhere"))
    assert missing.returncode == 2 and "no Parquet files" in missing.stderr
    phase = _inspect(str((run_dir / LABELLED).parent))  # a phase folder: its stage folders are named
    assert phase.returncode == 2 and f"stage folders inside: {run_dir / LABELLED}" in phase.stderr
    run = _inspect(str(run_dir))  # a run folder: the stage folders of every phase, bookkeeping folders aside
    assert run.returncode == 2 and str(run_dir / LABELLED) in run.stderr and str(run_dir / CURATED) in run.stderr
    assert f"{run_dir}/_" not in run.stderr and "/_" not in run.stderr.split("inside:")[1]
