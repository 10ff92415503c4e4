"""A curation run killed mid-way (the driver, or one Ray worker) ends, once rerun, with exactly the output of an
uninterrupted run: same document ids, no duplicates, none missing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from sciloom.curation.sample_crawl import write_sample_crawl

SCILOOM = str(Path(sys.executable).with_name("sciloom"))
N_FILES = 4


@pytest.fixture(scope="module")
def crawl_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("crawl")
    paths = [folder / f"crawl-{i}.warc.gz" for i in range(N_FILES)]
    for seed, path in enumerate(paths):
        write_sample_crawl(path, seed=seed)
    return paths


def _recipe(tmp_path: Path, name: str, inputs: list[Path]) -> Path:
    recipe = {
        "run": {"name": name, "output_dir": str(tmp_path / name), "num_cpus": 2, "phases": ["curation"]},
        "curation": {"inputs": [{"paths": [str(p) for p in inputs], "source": "sample"}]},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _start(recipe: Path) -> subprocess.Popen:
    env = {**os.environ, "RAY_ADDRESS": "", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([SCILOOM, "run", str(recipe)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _finish(recipe: Path) -> None:
    proc = _start(recipe)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-3000:]


def _documents(run_dir: Path) -> list[tuple[str, str]]:
    rows = []
    for part in sorted((run_dir / "curation" / "curated").glob("part-*.parquet")):
        rows += [(r["id"], r["text"]) for r in pq.read_table(part, columns=["id", "text"]).to_pylist()]
    return rows


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "the run finished before it could be interrupted: " + proc.stdout.read()[-2000:]
        assert time.monotonic() < deadline, "timed out waiting for the run to make progress"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def reference(crawl_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("reference")
    _finish(_recipe(tmp, "whole", crawl_files))
    docs = _documents(tmp / "whole")
    assert docs and len({i for i, _ in docs}) == len(docs)
    return sorted(docs)


def test_killed_driver_then_rerun_equals_uninterrupted(crawl_files, reference, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "killed", crawl_files)
    markers = tmp_path / "killed" / "curation" / "_extract" / "tasks"
    proc = _start(recipe)
    _wait_for(lambda: len(list(markers.glob("*.json"))) >= 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every process it started
    proc.wait(timeout=60)
    assert len(list(markers.glob("*.json"))) < N_FILES, "killed too late: extraction had finished"
    _finish(recipe)
    docs = _documents(tmp_path / "killed")
    assert len({i for i, _ in docs}) == len(docs), "duplicated documents after resume"
    assert sorted(docs) == reference


def test_killed_ray_worker_is_retried_and_output_is_unchanged(crawl_files, reference, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "worker", crawl_files)
    markers = tmp_path / "worker" / "curation" / "_extract" / "tasks"
    proc = _start(recipe)

    def extraction_worker() -> int | None:
        found = subprocess.run(["pgrep", "-f", "ray::extract"], capture_output=True, text=True).stdout.split()
        return int(found[0]) if found and len(list(markers.glob("*.json"))) >= 1 else None

    _wait_for(lambda: extraction_worker() is not None, proc)
    os.kill(extraction_worker(), signal.SIGKILL)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-3000:]
    docs = _documents(tmp_path / "worker")
    assert len({i for i, _ in docs}) == len(docs)
    assert sorted(docs) == reference
