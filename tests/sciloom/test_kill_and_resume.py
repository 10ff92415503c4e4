"""A curation run killed mid-way (the driver, or one Ray worker) ends, once rerun, with exactly the output of an
uninterrupted run: same document ids, no duplicates, none missing.

The kill happens at a point the test controls, not one a timer guesses: the last input file is a named pipe
(FIFO) with no writer, so the task reading it blocks in open() and the run cannot finish, however fast the machine.
Before the task is read for real, the pipe's path is replaced by the real file."""
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
    # A paths file: its lines are taken as given, so one of them may be a named pipe (a glob keeps regular files).
    listing = tmp_path / f"{name}.paths"
    listing.write_text("".join(f"{p}\n" for p in inputs))
    recipe = {
        "run": {"name": name, "output_dir": str(tmp_path / name), "num_cpus": 2, "phases": ["curation"]},
        "curation": {"inputs": [{"paths_file": str(listing), "source": "sample"}]},
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


def _blocked_inputs(crawl_files: list[Path], folder: Path) -> list[Path]:
    """The crawl files, the last one replaced by a named pipe at its own path in `folder` (its reader blocks)."""
    folder.mkdir()
    blocked = folder / crawl_files[-1].name
    os.mkfifo(blocked)
    return [*crawl_files[:-1], blocked]


def _unblock(blocked: Path, real: Path) -> None:
    """Put the real file at the pipe's path (a reader already waiting on the pipe stays blocked on it)."""
    staged = blocked.with_name(blocked.name + ".staged")
    staged.write_bytes(real.read_bytes())
    os.replace(staged, blocked)


def _wait_for(predicate, proc: subprocess.Popen, hang_guard_s: float = 900) -> None:
    """Until `predicate` holds. The blocked input keeps the run from finishing, so nothing here depends on the
    machine's speed; the guard only stops a broken run (which the pipe would keep alive) from hanging the suite."""
    deadline = time.monotonic() + hang_guard_s
    while not predicate():
        assert proc.poll() is None, "the run exited while an input was still blocked: " + proc.stdout.read()[-2000:]
        if time.monotonic() > deadline:
            pytest.fail(f"hang guard: no progress in {hang_guard_s:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def reference(crawl_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("reference")
    _finish(_recipe(tmp, "whole", crawl_files))
    docs = _documents(tmp / "whole")
    assert docs and len({i for i, _ in docs}) == len(docs)
    return sorted(docs)


def test_killed_driver_then_rerun_equals_uninterrupted(crawl_files, reference, tmp_path: Path) -> None:
    inputs = _blocked_inputs(crawl_files, tmp_path / "inputs")
    recipe = _recipe(tmp_path, "killed", inputs)
    markers = tmp_path / "killed" / "curation" / "_extract" / "tasks"
    proc = _start(recipe)
    _wait_for(lambda: len(list(markers.glob("*.json"))) >= 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every process it started
    proc.wait(timeout=60)
    assert len(list(markers.glob("*.json"))) < N_FILES  # the blocked file's task cannot have finished
    _unblock(inputs[-1], crawl_files[-1])
    _finish(recipe)
    docs = _documents(tmp_path / "killed")
    assert len({i for i, _ in docs}) == len(docs), "duplicated documents after resume"
    assert sorted(docs) == reference


def test_killed_ray_worker_is_retried_and_output_is_unchanged(crawl_files, reference, tmp_path: Path) -> None:
    inputs = _blocked_inputs(crawl_files, tmp_path / "inputs")
    recipe = _recipe(tmp_path, "worker", inputs)
    markers = tmp_path / "worker" / "curation" / "_extract" / "tasks"
    proc = _start(recipe)

    def extraction_worker() -> int | None:
        # Every other file done: the one worker still running an extraction task is the one blocked on the pipe.
        if len(list(markers.glob("*.json"))) < N_FILES - 1:
            return None
        found = subprocess.run(["pgrep", "-f", "ray::extract"], capture_output=True, text=True).stdout.split()
        return int(found[0]) if len(found) == 1 else None

    _wait_for(lambda: extraction_worker() is not None, proc)
    worker = extraction_worker()
    _unblock(inputs[-1], crawl_files[-1])  # before the kill, so that Ray's retry reads the real file
    os.kill(worker, signal.SIGKILL)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-3000:]
    docs = _documents(tmp_path / "worker")
    assert len({i for i, _ in docs}) == len(docs)
    assert sorted(docs) == reference
