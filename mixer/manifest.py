"""The manifest of one shard folder: what it holds, where it came from, and a checksum per file.

`manifest.json` lists the parts in reading order (each a .bin/.idx/.seg triple with sha256 and per-block
crc32 of every file), token counts per source / discipline / tier, and the recipe and tokenizer hashes.
It is written last and atomically: a folder without a manifest is unfinished.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sciloom.curation.atomic_write import write_json_atomic

MANIFEST_FILE = "manifest.json"
MIXER_REPORT_FILE = "mixer_report.json"  # written by the mixer last, listing every stream folder it wrote
FORMAT = "sciloom-packed-v1"


def content_hash(data: Any) -> str:
    """Stable hash of a JSON-able value (dict keys sorted)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def build_manifest(*, seq_len: int, token_dtype: str, vocab_size: int, pad_id: int, disciplines: Iterable[str],
                   tokenizer_sha256: str, recipe_hash: str, parts: list[dict[str, Any]],
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the parts' own descriptions (PackedShardWriter.close() plus its `tokens_by` and `documents_by` counts)."""
    by: dict[str, Counter] = {"source": Counter(), "discipline": Counter(), "tier": Counter()}
    documents_by: dict[str, Counter] = {"discipline": Counter()}
    for part in parts:
        for axis, counts in part.get("tokens_by", {}).items():
            by[axis].update(counts)
        for axis, counts in part.get("documents_by", {}).items():
            documents_by[axis].update(counts)
    return {
        "format": FORMAT,
        "seq_len": seq_len,
        "token_dtype": token_dtype,
        "vocab_size": vocab_size,
        "pad_id": pad_id,
        "disciplines": list(disciplines),
        "tokenizer_sha256": tokenizer_sha256,
        "recipe_hash": recipe_hash,
        "sequences": sum(p["sequences"] for p in parts),
        "tokens": sum(p["tokens"] for p in parts),
        "padding_tokens": sum(p["padding_tokens"] for p in parts),
        "documents": sum(p["documents"] for p in parts),
        "tokens_by": {axis: dict(sorted(counts.items())) for axis, counts in by.items()},
        "documents_by": {axis: dict(sorted(counts.items())) for axis, counts in documents_by.items()},
        **(extra or {}),
        "parts": parts,
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_json_atomic(folder / MANIFEST_FILE, manifest)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a shard folder, or its writing never finished")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: damaged manifest, not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: damaged manifest, not a JSON object")
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


class ShardFolderMissing(FileNotFoundError):
    """A stream folder the mixer wrote (its report says so) is not on disk."""


def promised_folders(mixer_dir: Path) -> list[str] | None:
    """The stream folders the mixer's report says it wrote (relative to mixer_dir), held_out included; None for a
    folder of shards made without the mixer (no report)."""
    report = Path(mixer_dir) / MIXER_REPORT_FILE
    if not report.is_file():
        return None
    summary = json.loads(report.read_text())
    return sorted([*summary["streams"], summary["held_out"]["folder"]])


def shard_folders(root: Path) -> list[Path]:
    """Every finished shard folder under `root` (itself included), in a stable order."""
    return sorted(p.parent for p in Path(root).rglob(MANIFEST_FILE))
