"""The one way sciloom writes a file or a folder: complete under its final name, or not there at all.

Every output is written under a unique temporary name beside its final one (unique per process and call, so
two writers never share a temporary file) and renamed into place only once it is complete and flushed. A
failure removes the temporary; a full disk is reported as `NoSpaceLeft` naming the folder, whatever library
was writing when the space ran out (safetensors and torch report it as a bare position mismatch).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO

# Below this much free space, a write that failed is taken to have failed for lack of space.
_NEARLY_FULL_BYTES = 1 << 20


class NoSpaceLeft(OSError):
    def __init__(self, path: Path) -> None:
        super().__init__(errno.ENOSPC, f"no space left on {path}")
        self.path = path


_recorded: ContextVar[list[Path] | None] = ContextVar("sciloom_recorded_outputs", default=None)


@contextmanager
def recording_outputs() -> Iterator[list[Path]]:
    """Collect the final path of every file written inside the block (through this module, or `record_output`):
    a stage's task marker records them with their size and checksum, so a damaged output is never trusted."""
    paths: list[Path] = []
    token = _recorded.set(paths)
    try:
        yield paths
    finally:
        _recorded.reset(token)


def record_output(path: Path) -> None:
    """For writers with their own rename step (the shard writer): count `path` as written."""
    paths = _recorded.get()
    if paths is not None:
        paths.append(Path(path))


def file_fingerprint(path: Path) -> dict[str, int]:
    """Size and crc32 of a file, read in 1 MiB blocks."""
    with open(path, "rb") as handle:
        return stream_fingerprint(handle)


def output_fingerprints(path: Path) -> tuple[dict[str, int], dict[str, int] | None]:
    """Size and crc32 of a file and, for a Parquet file, length and crc32 of its bytes before the footer: its data,
    whatever key-value metadata the footer carries (the recipe that wrote it changes with every input added to a
    run; the documents need not). One read: the data's crc is where the whole file's stands at the footer."""
    with open(path, "rb") as handle:
        data_end = _parquet_data_end(handle) if path.suffix == ".parquet" else None
        crc = size = 0
        content = None
        while block := handle.read(1 << 20):
            if data_end is not None and content is None and size + len(block) >= data_end:
                cut = data_end - size
                crc = zlib.crc32(block[:cut], crc)
                content = {"bytes": data_end, "crc32": crc}
                crc = zlib.crc32(block[cut:], crc)
            else:
                crc = zlib.crc32(block, crc)
            size += len(block)
        return {"size": size, "crc32": crc}, content


def _parquet_data_end(handle: BinaryIO) -> int | None:
    """Where a Parquet file's footer starts (None: it does not end as Parquet does); the handle is left at 0."""
    size = handle.seek(0, os.SEEK_END)
    if size >= 12:
        handle.seek(size - 8)
        tail = handle.read(8)
    handle.seek(0)
    if size < 12 or tail[4:] != b"PAR1":
        return None
    return size - 8 - int.from_bytes(tail[:4], "little")


def stream_fingerprint(handle: BinaryIO) -> dict[str, int]:
    """Size and crc32 of what a binary stream holds from its position on (a local file, an object store's object),
    read in 1 MiB blocks."""
    crc = size = 0
    while block := handle.read(1 << 20):
        crc = zlib.crc32(block, crc)
        size += len(block)
    return {"size": size, "crc32": crc}


def temporary_sibling(final: Path) -> Path:
    """A name beside `final` that no other writer uses, hidden from dataset readers by its leading dot."""
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary file path; on success it replaces `final`, on failure it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, final)
        record_output(final)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        _raise_if_out_of_space(error, final.parent)
        raise


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it takes the place of `final` (replacing an older one)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                _fsync(child)
        if final.exists():
            # A folder cannot be replaced in one step: move the old one aside, then remove it once the new one is in.
            old = temporary_sibling(final)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        for child in sorted(final.rglob("*")):
            if child.is_file():
                record_output(child)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_if_out_of_space(error, final.parent)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _raise_if_out_of_space(error: BaseException, folder: Path) -> None:
    if isinstance(error, NoSpaceLeft):
        return
    out_of_space = isinstance(error, OSError) and error.errno == errno.ENOSPC
    if not out_of_space and isinstance(error, (OSError, RuntimeError)):
        try:
            out_of_space = shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
        except OSError:
            out_of_space = False
    if out_of_space:
        raise NoSpaceLeft(folder) from error
