"""Whole-file sha256 plus per-block crc32, so a corruption is located, not only detected."""
from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

DEFAULT_BLOCK_SIZE = 1 << 16


def file_checksums(path: Path, block_size: int = DEFAULT_BLOCK_SIZE) -> dict[str, Any]:
    sha = hashlib.sha256()
    crcs: list[int] = []
    size = 0
    with open(path, "rb") as stream:
        while block := stream.read(block_size):
            sha.update(block)
            crcs.append(zlib.crc32(block))
            size += len(block)
    return {"bytes": size, "sha256": sha.hexdigest(), "block_size": block_size, "block_crc32": crcs}


def first_bad_block(path: Path, expected: dict[str, Any]) -> int | None:
    """Byte offset of the first block whose crc32 differs from the manifest's (None when all match)."""
    block_size = expected["block_size"]
    with open(path, "rb") as stream:
        for k, crc in enumerate(expected["block_crc32"]):
            if zlib.crc32(stream.read(block_size)) != crc:
                return k * block_size
    return None
