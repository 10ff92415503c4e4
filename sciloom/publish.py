"""Publishing a run's outputs to an object store (or any fsspec URL), with commits that need no rename.

A run computes in `run.output_dir`, a POSIX folder (local, or shared by a cluster's nodes), where every task writes
atomically by rename and resumes from its marker. `run.publish_to` (or `sciloom publish RUN_DIR URL`) copies each
finished phase's user-facing outputs to a URL such as `s3://bucket/runs/name`, under the same relative paths, so
`s3://bucket/runs/name/curation/curated` opens as a Parquet dataset. Object stores have no rename, so a publish
commits the way datatrove's completion markers do, with objects that appear only whole (a PUT, or a multipart upload
that completes):

1. the phase's commit record `_sciloom_publish/<phase>.json` is removed first when anything is to change, so a reader
   who checks it never trusts a half-updated folder;
2. every file is uploaded under its final key (an older marker of it removed first), and then its marker
   `_sciloom_publish/uploaded/<path>.json` (size and crc32 of the local file) is written: a restarted publish skips
   every file whose marker matches the local file and whose object has its size, so a killed publish resumes
   where it stopped (with `verify`, an object is trusted only once read back: its crc32 must be the file's);
3. objects under the phase's folders that the run no longer has (an earlier run's parts) are deleted, with their
   markers: the published folder holds exactly the run's files;
4. the commit record is written last, listing every file with its size and crc32.

Bookkeeping never enters a stage folder (`_sciloom_publish/` is beside them), task markers and checkpoints stay
local, and storage options (endpoint, credentials) are passed to fsspec and written nowhere.
"""
from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from sciloom.curation.atomic_write import atomic_path, file_fingerprint, stream_fingerprint, write_bytes_atomic

# What each phase publishes, relative to run.output_dir: the stage folders, their statistics and rejected rows,
# and the reports. Folders named here are published whole, except for the excluded names below.
PHASE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "curation": ("curation/extract", "curation/_extract", "curation/curated", "curation/_curated"),
    "classification": ("classifiers/labelled", "classifiers/_labelled", "classifiers/classifiers_report.json"),
    "mixing": ("mixer", "_mixer"),
    "training": ("trainer",),
    "report": ("run_report.json", "report.html"),
}
# Task markers name local paths and checkpoints are for resuming training here: neither is an output.
_EXCLUDED_FOLDERS = frozenset({"tasks", "checkpoints"})
BOOKKEEPING = "_sciloom_publish"


class PublishFailed(RuntimeError):
    def __init__(self, phase: str, url: str, failures: dict[str, str]) -> None:
        self.failures = failures
        detail = "\n".join(f"  {path}: {error}" for path, error in sorted(failures.items())[:20])
        more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"publishing phase {phase!r} to {url}: {len(failures)} file(s) not uploaded (nothing was "
                         f"committed; run again to upload only what is missing):\n{detail}{more}")


@dataclass
class PublishReport:
    phase: str
    url: str
    files: int = 0
    bytes: int = 0
    uploaded: int = 0
    bytes_uploaded: int = 0
    already_published: int = 0  # uploaded by an earlier, possibly killed, publish and still intact
    verified: int = 0  # of those, read back and found byte for byte the file (publish with verify)
    deleted_stale: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def phase_files(out: Path, phase: str) -> list[str]:
    """The files `phase` publishes, relative to `out`, sorted; roots the run does not have are skipped."""
    found: list[str] = []
    for root in PHASE_OUTPUTS[phase]:
        path = out / root
        if path.is_file():
            found.append(root)
        elif path.is_dir():
            found.extend(str(child.relative_to(out)) for child in path.rglob("*")
                         if child.is_file() and _published(child.relative_to(path)))
    return sorted(found)


def _published(relative: Path) -> bool:
    # Leading dots are temporaries of writes in progress and locks.
    return not any(part.startswith(".") for part in relative.parts) and not (_EXCLUDED_FOLDERS & set(relative.parts[:-1]))


class DestinationUnreachable(OSError):
    """The destination cannot be opened or listed (unknown protocol, bad options, credentials, endpoint, bucket)."""


def open_destination(url: str, storage_options: dict[str, Any] | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and root path of a publish URL; a missing fsspec backend is named with its package."""
    try:
        fs, root = url_to_fs(url, **(storage_options or {}))
    except ImportError as error:
        raise ImportError(f"{url}: {error} (for s3:// install s3fs, e.g. `pip install 'sciloom[s3]'`)") from None
    except (ValueError, TypeError) as error:  # an unknown protocol, a storage option the backend does not take
        raise DestinationUnreachable(f"{url}: cannot open the destination ({type(error).__name__}: {error})") from None
    return fs, root.rstrip("/")


def publish_phase(out: Path, phase: str, url: str, storage_options: dict[str, Any] | None = None,
                  threads: int = 16, verify: bool = False) -> PublishReport:
    """Publish one phase's outputs from the run folder `out` to `url` (see the module's docstring for the protocol).

    `verify` reads back every object a publish would otherwise trust by its marker and size (an object rewritten
    at the store, a store that lost bytes) and uploads again those whose crc32 is not the file's: it costs a
    download of the published phase. When every object reads back whole, the commit record is not touched (a
    reader checking it meanwhile sees the phase committed throughout)."""
    started = time.perf_counter()
    fs, root = open_destination(url, storage_options)
    report = PublishReport(phase, url)
    names = phase_files(out, phase)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        fingerprints = dict(zip(names, pool.map(lambda name: file_fingerprint(out / name), names)))
    report.files, report.bytes = len(names), sum(fp["size"] for fp in fingerprints.values())
    record_path = f"{root}/{BOOKKEEPING}/{phase}.json"
    record = {"phase": phase, "files": fingerprints}
    try:
        remote = _listing(fs, root, phase)
    except Exception as error:  # noqa: BLE001 - credentials, endpoint, bucket: what stops this request stops every one
        raise DestinationUnreachable(f"{url}: cannot list the destination, nothing was uploaded "
                                     f"({type(error).__name__}: {error})") from None

    def reads_back(name: str) -> bool:
        """The object is byte for byte the file (False also when it cannot be read: it is then uploaded again)."""
        try:
            with fs.open(f"{root}/{name}", "rb") as handle:
                return stream_fingerprint(handle) == fingerprints[name]
        except OSError:
            return False

    read_back: set[str] = set()  # objects found byte for byte the file
    if _read_json(fs, record_path) == record and all(remote.get(f"{root}/{n}") == fp["size"]
                                                     for n, fp in fingerprints.items()):
        if verify:  # the commit record stays untouched unless an object turns out to differ
            with ThreadPoolExecutor(max_workers=threads) as pool:
                read_back = {name for name, same in zip(names, pool.map(reads_back, names)) if same}
        if not verify or len(read_back) == len(names):
            report.already_published = len(names)
            report.verified = len(read_back)
            report.seconds = time.perf_counter() - started
            return report
    if fs.exists(record_path):
        fs.rm_file(record_path)

    def upload(name: str) -> str:
        """'uploaded', 'already published', 'verified' (read back), or why the file could not be uploaded."""
        expected = fingerprints[name]
        target, marker = f"{root}/{name}", _marker_path(root, name)
        try:
            if name in read_back:
                return "verified"
            if remote.get(target) == expected["size"] and marker in remote and _read_json(fs, marker) == expected:
                if not verify:
                    return "already published"
                if reads_back(name):
                    return "verified"
            if marker in remote:  # first: a publish killed mid-upload must not leave an old marker to vouch for it
                fs.rm_file(marker)
            _put_file(fs, out / name, target)
            if (size := fs.size(target)) != expected["size"]:
                raise OSError(f"the uploaded object has {size} bytes, the file {expected['size']}")
            _write_bytes(fs, marker, json.dumps(expected).encode())
            return "uploaded"
        except Exception as error:  # noqa: BLE001 - every file's failure is reported; the others go on
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = dict(zip(names, pool.map(upload, names)))
    uploaded = [name for name, outcome in outcomes.items() if outcome == "uploaded"]
    report.uploaded, report.bytes_uploaded = len(uploaded), sum(fingerprints[n]["size"] for n in uploaded)
    report.verified = sum(outcome == "verified" for outcome in outcomes.values())
    report.already_published = report.verified + sum(outcome == "already published" for outcome in outcomes.values())
    failures = {name: outcome for name, outcome in outcomes.items()
                if outcome not in ("uploaded", "already published", "verified")}
    if failures:
        raise PublishFailed(phase, url, failures)
    wanted = {f"{root}/{name}" for name in names}
    stale = sorted(path for path in remote if not path.startswith(f"{root}/{BOOKKEEPING}/") and path not in wanted)
    for path in stale:
        fs.rm_file(path)
        marker = _marker_path(root, path[len(root) + 1:])
        if marker in remote:
            fs.rm_file(marker)
    report.deleted_stale = [path[len(root) + 1:] for path in stale]
    _write_bytes(fs, record_path, json.dumps(record, indent=1, sort_keys=True).encode())
    report.seconds = time.perf_counter() - started
    return report


def published_phases(url: str, storage_options: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The commit records found at `url`, by phase: what a consumer checks before trusting a published folder."""
    fs, root = open_destination(url, storage_options)
    return {phase: record for phase in PHASE_OUTPUTS
            if (record := _read_json(fs, f"{root}/{BOOKKEEPING}/{phase}.json")) is not None}


def _listing(fs: fsspec.AbstractFileSystem, root: str, phase: str) -> dict[str, int]:
    """Size of every object under the phase's roots, and of every upload marker, one listing per root."""
    sizes: dict[str, int] = {}
    for prefix in (*(f"{root}/{relative}" for relative in PHASE_OUTPUTS[phase]), f"{root}/{BOOKKEEPING}/uploaded"):
        try:
            found = fs.find(prefix, detail=True)  # a root that is one file lists as itself
        except FileNotFoundError:
            continue
        sizes.update((fs._strip_protocol(path).rstrip("/"), info["size"]) for path, info in found.items())
    return sizes


def _marker_path(root: str, name: str) -> str:
    return f"{root}/{BOOKKEEPING}/uploaded/{name}.json"


def _read_json(fs: fsspec.AbstractFileSystem, path: str) -> Any:
    try:
        return json.loads(fs.cat_file(path))
    except (FileNotFoundError, ValueError):
        return None


def _put_file(fs: fsspec.AbstractFileSystem, local: Path, target: str) -> None:
    if isinstance(fs, LocalFileSystem):  # a plain folder: complete under its name, or not there
        with atomic_path(Path(target)) as tmp:
            shutil.copyfile(local, tmp)
    else:  # an object appears only once its upload completes
        fs.put_file(str(local), target)


def _write_bytes(fs: fsspec.AbstractFileSystem, target: str, data: bytes) -> None:
    if isinstance(fs, LocalFileSystem):
        write_bytes_atomic(Path(target), data)
    else:
        fs.pipe_file(target, data)
