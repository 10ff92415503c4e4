"""Inputs in an S3-compatible object store (moto's S3 server, a real process on loopback), read with the inputs' own
`storage_options` as a user's MinIO or Ceph store is: by every Ray worker, to the same documents as from the local
disk; the options are not settings of the run (a new key redoes nothing)."""
from __future__ import annotations

import json
import shutil
import socket
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import s3fs

from s3_server import S3_BUCKET
from sciloom.cli import exit_code_for
from sciloom.curation.config import CurationConfig
from sciloom.curation import inputs
from sciloom.curation.document import read_documents
from sciloom.curation.executor import run_stage
from sciloom.curation.inputs import InputsConfig, InputsUnreachable, find_inputs, reader_for, resolve_inputs
from sciloom.curation.map_stage import map_documents, part_path
from sciloom.curation.pipeline import run_curation
from sciloom.recipe import Recipe

PAPER = {
    "main.tex": "\\documentclass{article}\n\\newcommand{\\norm}[1]{\\lVert #1 \\rVert}\n\\title{Flows}\n"
                "\\begin{document}\n\\maketitle\n\\input{sections/intro}\n\\subfile{sections/methods}\n"
                "\\end{document}\n",
    "sections/intro.tex": "\\section{Introduction}\nWe study the flow $\\norm{x}$ of a field.\n",
    "sections/methods.tex": "\\documentclass[../main.tex]{subfiles}\n\\begin{document}\n\\section{Methods}\n"
                            "The methods, in a subfile of their own.\n\\end{document}\n",
}


def _reader_only(config: InputsConfig):
    return reader_for(config), []


def _curated(run: Path) -> list[str]:
    return sorted(ds.dataset(run / "curated", format="parquet").to_table(columns=["text"])["text"].to_pylist())


def test_a_run_reads_its_inputs_from_an_object_store_with_their_storage_options(
        ray_session, shared_data: Path, s3_endpoint: str, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "inputs"
    (folder / "news").mkdir(parents=True)
    for article in sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:30]:
        shutil.copy(article, folder / "news" / article.name)
    for name, source in PAPER.items():
        (folder / "papers" / "2301.00001" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "papers" / "2301.00001" / name).write_text(source)
    store = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    store.put(str(folder), f"{S3_BUCKET}/inputs", recursive=True)
    # Only the options say where the store is and which keys open it: not the environment (fsspec's own variables
    # or AWS's), which the Ray workers do not share.
    monkeypatch.delenv("FSSPEC_S3_ENDPOINT_URL", raising=False)
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"}
    remote_inputs = {"paths": [f"s3://{S3_BUCKET}/inputs"], "storage_options": options}

    local = {r.stage: r for r in run_curation(CurationConfig.model_validate({"inputs": [{"paths": [str(folder)]}]}),
                                              tmp_path / "local")}
    remote = {r.stage: r for r in run_curation(CurationConfig.model_validate({"inputs": [remote_inputs]}),
                                               tmp_path / "remote")}
    local_read, remote_read = local["extract"].steps[0], remote["extract"].steps[0]
    assert (remote_read.docs_in, remote_read.docs_out, dict(remote_read.skipped)) == \
           (local_read.docs_in, local_read.docs_out, dict(local_read.skipped)) == (33, 31, {"part_of_a_paper": 2})
    assert _curated(tmp_path / "remote") == _curated(tmp_path / "local") and len(_curated(tmp_path / "local")) > 20

    # Another key (rotated) for the same store: every task resumed, nothing redone.
    rotated = {**remote_inputs, "storage_options": {**options, "config_kwargs": {"retries": {"max_attempts": 2}}}}
    again = run_curation(CurationConfig.model_validate({"inputs": [rotated]}), tmp_path / "remote")[0]
    assert again.tasks_skipped == again.tasks_total and not again.settings_changed


def test_a_paths_file_in_the_store_lists_inputs_read_with_the_same_options(s3_endpoint: str, monkeypatch) -> None:
    """Common Crawl's way: a listing file (`warc.paths.gz`) of names relative to the store; the listing and the files
    are read with the entry's options."""
    monkeypatch.delenv("FSSPEC_S3_ENDPOINT_URL", raising=False)
    store = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    store.pipe(f"{S3_BUCKET}/listed/a.jsonl", b'{"text": "The first record of the listed file."}\n')
    store.pipe(f"{S3_BUCKET}/listed/paths.txt", b"a.jsonl\n")
    config = InputsConfig(paths_file=f"s3://{S3_BUCKET}/listed/paths.txt",
                          storage_options={"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"})
    found = find_inputs(config).found
    assert list(found.values()) == [f"s3://{S3_BUCKET}/listed/a.jsonl"]
    docs = list(reader_for(config).read(f"s3://{S3_BUCKET}/listed/a.jsonl"))
    assert [doc["text"] for doc in docs] == ["The first record of the listed file."]


def test_a_large_file_in_the_store_is_read_in_pieces_that_together_are_the_file(
        ray_session, shared_data: Path, s3_endpoint: str, tmp_path: Path, monkeypatch) -> None:
    """A large JSON lines or Parquet file in a store was one task (its size was unknown): the listing gives it, so
    it is cut as a local file is, and its pieces, read in Ray workers with the entry's options, are its documents
    (records without an id named by their line, counted in the file)."""
    monkeypatch.delenv("FSSPEC_S3_ENDPOINT_URL", raising=False)
    articles = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))
    texts = [a.read_text(errors="replace") for a in articles]
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "news.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    pq.write_table(pa.table({"id": [a.stem for a in articles], "text": texts}), folder / "news.parquet",
                   row_group_size=20)
    store = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True)
    store.put(str(folder), f"{S3_BUCKET}/big", recursive=True)
    monkeypatch.setattr(inputs, "PIECE_BYTES", 200_000)
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"}
    for name in ("news.jsonl", "news.parquet"):
        local = InputsConfig(paths=[str(folder / name)])
        remote = InputsConfig(paths=[f"s3://{S3_BUCKET}/big/{name}"], storage_options=options)
        tasks = resolve_inputs(remote)
        assert len(tasks) == len(resolve_inputs(local)) > 4 and all(t.piece is not None for t in tasks)
        stage = run_stage("read", tmp_path / name, tasks, map_documents(partial(_reader_only, remote)),
                          show_progress=False)
        rows = [row for t in tasks for row in read_documents(part_path(tmp_path / name, t.task_id))]
        whole = list(reader_for(remote).read(f"s3://{S3_BUCKET}/big/{name}"))  # the file read by one task
        assert [(r["id"], r["text"]) for r in rows] == [(d["id"], d["text"]) for d in whole]
        assert [r["text"] for r in rows] == [d["text"] for d in reader_for(local).read(str(folder / name))]
        assert len(rows) == len(texts)
        assert stage.steps[0].docs_in == len(texts)

    # Named by a paths file, which no listing gives sizes for: the store is asked, and the files are cut as the
    # listed ones are, and carry the versions a listing gives (a file replaced in the store is read again).
    store.pipe(f"{S3_BUCKET}/big/paths.txt", b"news.jsonl\nnews.parquet\n# a comment\n")
    by_paths_file = InputsConfig(paths_file=f"s3://{S3_BUCKET}/big/paths.txt", storage_options=options)
    by_folder = InputsConfig(paths=[f"s3://{S3_BUCKET}/big"], storage_options=options)
    listed_files = {f"s3://{S3_BUCKET}/big/{name}" for name in ("news.jsonl", "news.parquet")}
    assert sorted((t.inputs, t.piece) for t in resolve_inputs(by_paths_file)) == \
        sorted((t.inputs, t.piece) for t in resolve_inputs(by_folder) if t.inputs[0] in listed_files)
    assert set(find_inputs(by_paths_file).versions) == listed_files
    assert find_inputs(by_paths_file).versions == \
        {k: v for k, v in find_inputs(by_folder).versions.items() if k in listed_files}


def test_the_stores_options_are_not_part_of_the_recipe_hash() -> None:
    """A shard's recipe hash must not change when the keys to the inputs' store do (nor may the keys be hashed)."""
    recipes = [Recipe.model_validate({"run": {"name": "r", "output_dir": "out"},
                                      "curation": {"inputs": [{"paths": ["s3://b/x"], "storage_options": options}]}})
               for options in ({}, {"key": "a", "secret": "b"})]
    assert recipes[0].content_hash() == recipes[1].content_hash()
    other_paths = recipes[0].model_copy(deep=True)
    other_paths.curation.inputs[0].paths = ["s3://b/y"]
    assert other_paths.content_hash() != recipes[0].content_hash()


def test_a_store_that_cannot_be_listed_is_one_message_before_any_work() -> None:
    """An endpoint nobody answers, an option the backend does not take: each was a traceback from deep inside
    botocore; now one line naming the input and what to check, and the CLI's exit code 2 (a recipe error)."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for options, said in (({"endpoint_url": closed, "key": "k", "secret": "s",
                            "config_kwargs": {"retries": {"max_attempts": 1}}}, "EndpointConnectionError"),
                          ({"endpoint_url": closed, "no_such_option": 1}, "unexpected keyword argument")):
        with pytest.raises(InputsUnreachable, match=f"s3://{S3_BUCKET}/x: cannot list the inputs .*{said}") as raised:
            find_inputs(InputsConfig(paths=[f"s3://{S3_BUCKET}/x"], storage_options=options))
        assert exit_code_for(raised.value) == 2
