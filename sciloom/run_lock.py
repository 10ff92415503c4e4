"""One run per output folder: a second `sciloom run` on the same folder is refused, naming the run that holds it,
and a folder that runs read through run.reuse_from is not run again meanwhile.

The lock is an advisory `flock` on `<output_dir>/.sciloom-run.lock`, which the kernel releases when the holder
exits however it exits: a killed run never leaves a lock that blocks the next one (its note is found and
reported as taken over). The file holds the holder's pid, host and start time for the message. `flock` is
per host; on a shared filesystem mounted on several hosts (NFS) it may not exclude a run started elsewhere.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".sciloom-run.lock"


class RunLocked(RuntimeError):
    """Another run is using the output folder."""


@contextmanager
def output_folder_lock(out_dir: Path) -> Iterator[None]:
    path = out_dir / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"{out_dir} is in use by another sciloom run ({_describe(path.read_text())}); wait for "
                            f"it to finish, or give this run another run.output_dir") from None
        previous = path.read_text().strip()
        if previous:  # a holder that is gone without clearing its note: killed
            print(f"sciloom: took over {path} from a run that is no longer running ({_describe(previous)})",
                  file=sys.stderr)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                                 "command": " ".join(sys.argv)}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()


@contextmanager
def reading_lock(run_dir: Path) -> Iterator[None]:
    """Another run's folder that this run reads (run.reuse_from): a shared lock, so that run is not rerun, and its
    outputs rewritten, while they are read; several runs may read one folder at once."""
    try:
        handle = open(run_dir / LOCK_FILE)
    except OSError:  # no sciloom run ever held it, or it cannot be opened here: nothing to coordinate with
        handle = None
    if handle is None:
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"{run_dir} (run.reuse_from) is in use by a run ({_describe(handle.read())}) that may "
                            "rewrite the outputs this run would read: wait for it to finish") from None
        yield


def _describe(note: str) -> str:
    if not note.strip():  # shared holders write no note
        return "a run reading its outputs through run.reuse_from"
    try:
        holder = json.loads(note)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["started"]))
        return f"pid {holder['pid']} on {holder['host']}, started {started}: {holder['command']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
