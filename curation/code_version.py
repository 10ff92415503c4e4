"""Which sciloom code wrote a task's outputs: the package version and a fingerprint of its Python sources, recorded
in every task's marker.

Settings decide what a rerun redoes; the code does not, or an upgrade (or a fix in one rule) would redo every
finished task of a crawl-scale run. A rerun instead counts the finished tasks it resumed that other code wrote and
says so, naming the stage folder to remove for the new code's outputs.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The namespace's packages (pyproject.toml's package-dir): each is a folder of its own in an editable install.
PACKAGES = ("sciloom", "sciloom.curation", "sciloom.classifiers", "sciloom.mixer", "sciloom.trainer")


@functools.cache
def code_version() -> str:
    """`<package version>+<12 hex digits of the sources' sha256>`, computed once per process."""
    try:
        release = version("sciloom")
    except PackageNotFoundError:
        release = "unknown"
    return f"{release}+{source_digest(package_folders())}"


def package_folders() -> list[tuple[str, Path]]:
    """(package, folder) of each of the namespace's packages, found without importing them (the trainer would
    import torch)."""
    found = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        folders = spec.submodule_search_locations if spec is not None else None
        found += [(package, Path(folder)) for folder in folders or []]
    return found


def source_digest(folders: Iterable[tuple[str, Path]]) -> str:
    """12 hex digits of the sha256 over every Python file under the folders: its path and its bytes."""
    folders = list(folders)
    nested = {root for _, root in folders}
    digest = hashlib.sha256()
    for package, root in folders:
        for path in sorted(root.rglob("*.py")):
            # Installed from a wheel, sciloom/ holds the other packages' folders: each file is read once.
            if any(parent in nested and parent != root and parent.is_relative_to(root) for parent in path.parents):
                continue
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
