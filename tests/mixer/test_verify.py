"""A damaged shard is an error naming the file and the byte offset, in verify() and in the reader alike."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sciloom.mixer.indexed_dataset import ShardFormatError
from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.mixer.verify import VerificationFailed, verify

BLOCK = 256  # the fixture's crc block size


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def test_intact_folder_verifies(shard_folder) -> None:
    folder, parts, seq_len = shard_folder
    totals = verify(folder.parent)
    assert totals["folders"] == 1 and totals["parts"] == 3 and totals["files"] == 6
    assert totals["tokens"] == sum(len(t) for docs in parts for t, _ in docs)


def test_truncated_bin_names_file_and_offset(shard_folder) -> None:
    folder, _, _ = shard_folder
    path = folder / "part-00001.bin"
    size = path.stat().st_size
    with open(path, "r+b") as stream:
        stream.truncate(size - 10)
    with pytest.raises(VerificationFailed, match=re.escape(f"{path}: at byte offset {size - 10}: truncated")):
        verify(folder)
    with pytest.raises(ShardFormatError, match=re.escape(f"{path}: at byte offset {size - 10}")):
        PackedShardDataset(folder)


@pytest.mark.parametrize("offset", [3, 700, 1500])
def test_flipped_bin_byte_names_its_block_and_reader_refuses_it(shard_folder, offset: int) -> None:
    folder, _, seq_len = shard_folder
    path = folder / "part-00000.bin"
    flip_byte(path, offset)
    block_start = offset // BLOCK * BLOCK
    with pytest.raises(VerificationFailed, match=re.escape(f"{path}: at byte offset {block_start}: corrupted")):
        verify(folder)
    dataset = PackedShardDataset(folder)  # index and sidecar are intact: opening works
    damaged_sequence = offset // (2 * seq_len)  # uint16 tokens
    with pytest.raises(ShardFormatError, match=re.escape(f"{path}: at byte offset {block_start}")):
        dataset[damaged_sequence]
    clean = [i for i in range(len(dataset)) if (i * 2 * seq_len) // BLOCK != block_start // BLOCK
             and ((i + 1) * 2 * seq_len - 1) // BLOCK != block_start // BLOCK]
    assert np.all(dataset[clean[0]]["tokens"] >= 0)  # sequences in other blocks stay readable


@pytest.mark.parametrize("suffix", [".idx", ".seg"])
def test_flipped_index_or_sidecar_is_refused(shard_folder, suffix: str) -> None:
    folder, _, _ = shard_folder
    path = folder / f"part-00001{suffix}"
    flip_byte(path, 20)
    with pytest.raises(VerificationFailed, match=re.escape(f"{path}: at byte offset 0: corrupted")):
        verify(folder)
    with pytest.raises(ShardFormatError, match=re.escape(str(path))):
        PackedShardDataset(folder)


def test_structural_check_catches_a_rewritten_manifest(shard_folder) -> None:
    """Checksums recomputed by hand do not hide a broken index: the structure is checked too."""
    from sciloom.mixer.checksums import file_checksums
    from sciloom.mixer.manifest import read_manifest, write_manifest

    folder, _, _ = shard_folder
    path = folder / "part-00000.idx"
    data = bytearray(path.read_bytes())
    data[9] = 7  # version 7
    path.write_bytes(bytes(data))
    manifest = read_manifest(folder)
    manifest["parts"][0]["files"][path.name] = file_checksums(path, BLOCK)
    write_manifest(folder, manifest)
    with pytest.raises(VerificationFailed, match=re.escape(f"{path}: at byte offset 9: unsupported index version 7")):
        verify(folder)
