"""Publishing a run's outputs to an S3-compatible object store: against a real S3 server process (moto's) on loopback.

The run publishes through `run.publish_to` as a user's does; the published stage folders open in the readers users
have (pyarrow, pandas, DuckDB, Polars, Hugging Face datasets), byte for byte the run's files; a damaged or killed
publish, run again, uploads only what is missing and ends with exactly the objects of an uninterrupted one; objects of
an earlier run that the run no longer has are removed.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from s3_server import S3_BUCKET as BUCKET, S3_CREDENTIALS as CREDENTIALS
from sciloom.publish import BOOKKEEPING, phase_files, publish_phase, published_phases
from sciloom.recipe import RecipeError, load_recipe

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
def s3(endpoint: str):
    import s3fs

    # No listing cache: every assertion must see the store as it is now.
    return s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True, use_listings_cache=False)


@pytest.fixture(scope="module")
def published_run(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Path:
    """The demo recipe's curation and classification phases, run with run.publish_to as a user runs them."""
    folder = tmp_path_factory.mktemp("publish")
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(output_dir=str(folder / "run"), phases=["curation", "classification"],
                         publish_to=f"s3://{BUCKET}/runs/demo", publish_options={"endpoint_url": s3_endpoint})
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(REPO_ROOT / path) for path in spec["paths"]]
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = subprocess.run([str(BIN / "sciloom"), "run", str(path)], capture_output=True, text=True, timeout=900,
                            env={**os.environ, **CREDENTIALS, "RAY_ADDRESS": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "published curation:" in result.stderr
    return folder / "run"


def test_run_publishes_every_file_of_its_phases_byte_for_byte(published_run: Path, s3_endpoint: str) -> None:
    fs = s3(s3_endpoint)
    report = json.loads((published_run / "run_report.json").read_text())
    assert set(report["published"]) == {"curation", "classification"}
    for phase in ("curation", "classification", "report"):
        names = phase_files(published_run, phase)
        assert names, phase
        remote = {path.removeprefix(f"{BUCKET}/runs/demo/") for path in fs.find(f"{BUCKET}/runs/demo")
                  if f"/{BOOKKEEPING}/" not in path}
        assert set(names) <= remote
        for name in names:
            assert fs.cat_file(f"{BUCKET}/runs/demo/{name}") == (published_run / name).read_bytes(), name
    # Task markers and hidden files are bookkeeping of this machine, not outputs.
    assert not [path for path in fs.find(f"{BUCKET}/runs/demo") if "/tasks/" in path or "/." in path]
    records = published_phases(f"s3://{BUCKET}/runs/demo", {"endpoint_url": s3_endpoint})
    assert set(records) == {"curation", "classification", "report"}
    assert sorted(records["curation"]["files"]) == phase_files(published_run, "curation")


@pytest.mark.parametrize("folder", ["curation/curated", "classifiers/labelled"])
def test_published_stage_folder_opens_in_every_reader(published_run: Path, s3_endpoint: str, folder: str,
                                                      tmp_path: Path) -> None:
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    local_ids = sorted(ds.dataset(published_run / folder, format="parquet").to_table(columns=["id"])["id"].to_pylist())
    assert local_ids
    url = f"s3://{BUCKET}/runs/demo/{folder}"
    fs = s3(s3_endpoint)
    via_arrow = ds.dataset(url.removeprefix("s3://"), filesystem=PyFileSystem(FSSpecHandler(fs)), format="parquet")
    assert sorted(via_arrow.to_table(columns=["id"])["id"].to_pylist()) == local_ids
    via_pandas = pd.read_parquet(url, columns=["id"], storage_options={"endpoint_url": s3_endpoint})
    assert sorted(via_pandas["id"]) == local_ids
    connection = duckdb.connect()
    connection.register_filesystem(fs)
    assert sorted(row[0] for row in connection.sql(f"SELECT id FROM read_parquet('{url}/*.parquet')").fetchall()) \
        == local_ids
    polars_options = {"aws_endpoint_url": s3_endpoint, "aws_access_key_id": "testing",
                      "aws_secret_access_key": "testing", "aws_region": "us-east-1", "aws_allow_http": "true"}
    assert sorted(pl.read_parquet(f"{url}/*.parquet", storage_options=polars_options)["id"]) == local_ids
    assert _ids_through_hf_datasets(url, s3_endpoint, tmp_path) == local_ids


# Hugging Face `datasets` refuses every remote path in offline mode, which these tests keep for the hub: the reader
# runs in its own process with offline mode off and the hub pointed at a closed loopback port (a hub request fails at
# once instead of leaving the machine), so the only server it can reach is the S3 one.
_HF_READER = """
import json, sys
import datasets
url, endpoint, cache = sys.argv[1:]
table = datasets.load_dataset("parquet", data_files=f"{url}/*.parquet", split="train", cache_dir=cache,
                              storage_options={"endpoint_url": endpoint})
print(json.dumps(sorted(table["id"])))
"""


def _ids_through_hf_datasets(url: str, endpoint: str, scratch: Path) -> list[str]:
    environment = {**os.environ, **CREDENTIALS, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
                   "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(scratch / "hf_home")}
    result = subprocess.run([sys.executable, "-c", _HF_READER, url, endpoint, str(scratch / "hf_cache")],
                            capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _tiny_run(root: Path, parts: int) -> Path:
    """A run folder with `parts` small Parquet parts in curation/curated (publishing does not look inside files)."""
    curated = root / "curation" / "curated"
    curated.mkdir(parents=True)
    for i in range(parts):
        pq.write_table(pa.table({"id": [f"doc-{i}-{j}" for j in range(3)], "text": [f"text {i} {j}" for j in range(3)]}),
                       curated / f"part-{i:04d}.parquet")
    (root / "curation" / "_curated" / "tasks").mkdir(parents=True)
    (root / "curation" / "_curated" / "stats.json").write_text("{}")
    (root / "curation" / "_curated" / "tasks" / "t.json").write_text("{}")
    return root


def _assert_mirrors(fs, prefix: str, run: Path, phase: str) -> None:
    """The store holds exactly the run's files of `phase` (bytes equal) and a commit record naming them."""
    names = phase_files(run, phase)
    remote = sorted(path.removeprefix(f"{prefix}/") for path in fs.find(prefix) if f"/{BOOKKEEPING}/" not in path)
    assert remote == names
    for name in names:
        assert fs.cat_file(f"{prefix}/{name}") == (run / name).read_bytes()
    record = json.loads(fs.cat_file(f"{prefix}/{BOOKKEEPING}/{phase}.json"))
    assert sorted(record["files"]) == names


def _local_fs():
    import fsspec

    return fsspec.filesystem("file")


@pytest.mark.parametrize("store", ["s3", "local folder"])
def test_damaged_publish_uploads_only_what_is_missing_and_removes_stale_objects(
        tmp_path: Path, s3_endpoint: str, store: str) -> None:
    run = _tiny_run(tmp_path / "run", parts=12)
    if store == "s3":
        fs, prefix, options = s3(s3_endpoint), f"{BUCKET}/damaged", {"endpoint_url": s3_endpoint}
        url = f"s3://{prefix}"
    else:
        fs, prefix, options = _local_fs(), str(tmp_path / "published"), {}
        url = prefix
    first = publish_phase(run, "curation", url, options)
    assert (first.files, first.uploaded, first.already_published) == (13, 13, 0)
    _assert_mirrors(fs, prefix, run, "curation")
    again = publish_phase(run, "curation", url, options)
    assert (again.uploaded, again.already_published) == (0, 13)

    # What a crash and an earlier run leave: no commit record, two objects missing, one marker that does not match
    # its file (the file was rewritten since, to the same size), and a part the run no longer has.
    fs.rm_file(f"{prefix}/{BOOKKEEPING}/curation.json")
    for name in ("part-0003.parquet", "part-0007.parquet"):
        fs.rm_file(f"{prefix}/curation/curated/{name}")
    changed = run / "curation/curated/part-0005.parquet"
    size = changed.stat().st_size
    pq.write_table(pa.table({"id": [f"doc-5-{c}" for c in "xyz"], "text": [f"text 5 {c}" for c in "xyz"]}), changed)
    assert changed.stat().st_size == size  # same size, other bytes: only the marker's crc32 tells
    fs.pipe_file(f"{prefix}/curation/curated/part-9999.parquet", b"an earlier run's part")
    fs.pipe_file(f"{prefix}/{BOOKKEEPING}/uploaded/curation/curated/part-9999.parquet.json", b"{}")

    resumed = publish_phase(run, "curation", url, options)
    assert resumed.uploaded == 3 and resumed.already_published == 10
    assert resumed.deleted_stale == ["curation/curated/part-9999.parquet"]
    assert not fs.exists(f"{prefix}/{BOOKKEEPING}/uploaded/curation/curated/part-9999.parquet.json")
    _assert_mirrors(fs, prefix, run, "curation")
    if store == "local folder":  # written by rename: no temporary is left beside the files
        assert not [p for p in Path(prefix).rglob(".*")]


def test_verify_reads_back_and_replaces_an_object_rewritten_at_the_store(tmp_path: Path, s3_endpoint: str) -> None:
    run = _tiny_run(tmp_path / "run", parts=4)
    fs, prefix, options = s3(s3_endpoint), f"{BUCKET}/verify", {"endpoint_url": s3_endpoint}
    url = f"s3://{prefix}"
    publish_phase(run, "curation", url, options)
    target = f"{prefix}/curation/curated/part-0002.parquet"
    size = len(fs.cat_file(target))
    fs.pipe_file(target, bytes(size))  # rewritten at the store: same size, other bytes
    trusting = publish_phase(run, "curation", url, options)
    assert (trusting.uploaded, trusting.already_published, trusting.verified) == (0, 5, 0)  # marker and size agree
    assert fs.cat_file(target) == bytes(size)
    result = subprocess.run([str(BIN / "sciloom"), "publish", str(run), url, "--storage-options", json.dumps(options),
                             "--verify"], capture_output=True, text=True, timeout=300, env={**os.environ, **CREDENTIALS})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "curation: 5 files" in result.stdout and "1 uploaded, 4 already there (4 read back)" in result.stdout
    _assert_mirrors(fs, prefix, run, "curation")


def test_verify_of_a_whole_publish_leaves_its_commit_record_in_place(tmp_path: Path) -> None:
    """A reader checking the commit record during a verify that finds nothing wrong sees the phase committed
    throughout: the record file is the same file before and after (same inode, same modification time)."""
    run, published = _tiny_run(tmp_path / "run", parts=4), tmp_path / "published"
    publish_phase(run, "curation", str(published))
    record = published / BOOKKEEPING / "curation.json"
    before = record.stat()
    verified = publish_phase(run, "curation", str(published), verify=True)
    assert (verified.uploaded, verified.already_published, verified.verified) == (0, 5, 5)
    after = record.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    damaged = published / "curation" / "curated" / "part-0001.parquet"
    damaged.write_bytes(bytes(damaged.stat().st_size))  # same size, other bytes: only a read-back finds it
    repaired = publish_phase(run, "curation", str(published), verify=True)
    assert (repaired.uploaded, repaired.already_published, repaired.verified) == (1, 4, 4)
    assert json.loads(record.read_text()) == published_phases(str(published))["curation"]
    _assert_mirrors(_local_fs(), str(published), run, "curation")


def test_killed_publish_resumes_with_the_objects_of_an_uninterrupted_one(tmp_path: Path, s3_endpoint: str) -> None:
    run = _tiny_run(tmp_path / "run", parts=300)
    fs, prefix = s3(s3_endpoint), f"{BUCKET}/killed"
    markers = f"{prefix}/{BOOKKEEPING}/uploaded/curation/curated"
    publisher = subprocess.Popen(
        [str(BIN / "sciloom"), "publish", str(run), f"s3://{prefix}", "--threads", "1",
         "--storage-options", json.dumps({"endpoint_url": s3_endpoint})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **CREDENTIALS})
    try:
        # Killed once 10 files are up: 300 files one at a time take at least 900 requests, so the publisher is still
        # running whatever the machine (the poll assertion says so if not). The deadline only stops a hung publisher.
        hang_guard = time.monotonic() + 600
        while len(fs.find(markers)) < 10:
            assert publisher.poll() is None, publisher.communicate()[1][-2000:]
            if time.monotonic() > hang_guard:
                pytest.fail("sciloom publish uploaded fewer than 10 files in 600 s: it hangs")
            time.sleep(0.05)
        publisher.send_signal(signal.SIGKILL)
    finally:
        publisher.kill()
        publisher.wait()
    done_before = len(fs.find(markers))
    assert done_before < 300
    assert not fs.exists(f"{prefix}/{BOOKKEEPING}/curation.json")  # nothing committed

    resumed = publish_phase(run, "curation", f"s3://{prefix}", {"endpoint_url": s3_endpoint})
    assert resumed.already_published >= done_before >= 10
    assert resumed.uploaded + resumed.already_published == 301
    _assert_mirrors(fs, prefix, run, "curation")


def test_recipe_names_an_unknown_publish_protocol_with_its_line(tmp_path: Path) -> None:
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"]["publish_to"] = "nosuchstore://bucket/run"
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    with pytest.raises(RecipeError) as error:
        load_recipe(path, check_paths=False)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "publish_to" in text)
    assert f"{path}:{line}" in str(error.value)
    assert "run.publish_to" in str(error.value) and "nosuchstore" in str(error.value)


def test_publishing_does_not_change_the_recipe_hash(tmp_path: Path) -> None:
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(recipe))
    recipe["run"].update(publish_to="memory://published/run", publish_options={"anything": 1})
    published = tmp_path / "published.yaml"
    published.write_text(yaml.safe_dump(recipe))
    assert load_recipe(plain, check_paths=False).content_hash() == load_recipe(published, check_paths=False).content_hash()


def test_a_destination_that_cannot_be_opened_or_listed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """An unknown protocol, an option the backend does not take, an endpoint nobody listens on: each used to be a
    traceback from deep inside fsspec or botocore."""
    run = _tiny_run(tmp_path / "run", parts=1)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    cases = [
        ("nosuchstore://bucket/run", {}, "cannot open the destination (ValueError: Protocol not known: nosuchstore)"),
        (f"s3://{BUCKET}/run", {"endpoint_url": closed, "no_such_option": 1}, "unexpected keyword argument"),
        (f"s3://{BUCKET}/run", {"endpoint_url": closed, "config_kwargs": {"retries": {"max_attempts": 1}}},
         "cannot list the destination, nothing was uploaded (EndpointConnectionError"),
    ]
    for url, options, expected in cases:
        result = subprocess.run([str(BIN / "sciloom"), "publish", str(run), url, "--storage-options",
                                 json.dumps(options)], capture_output=True, text=True, timeout=300,
                                env={**os.environ, **CREDENTIALS})
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"sciloom: DestinationUnreachable: {url}: "), lines
        assert expected in lines[0], lines
