"""`verify(dir)`: every checksum and every structural invariant of every shard folder under `dir`.

A file is first compared with its manifest entry (size, then per-block crc32 to locate the damage,
then sha256), and only then parsed: header, dtype and pointers of the .idx, .bin size, sequence lengths,
the sidecar tiling the stream, discipline ids in range, token ids below the vocabulary size.
Every problem names the file and a byte offset; all folders and parts are checked before raising.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sciloom.mixer.checksums import first_bad_block
from sciloom.mixer.indexed_dataset import ShardFormatError, bin_path, idx_path, read_index
from sciloom.mixer.manifest import MANIFEST_FILE, MIXER_REPORT_FILE, file_sha256, promised_folders, read_manifest, shard_folders
from sciloom.mixer.segments import read_segments, seg_path

_SCAN_TOKENS = 1 << 22


class VerificationFailed(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))


def verify(directory: str | Path) -> dict[str, Any]:
    """Check every shard folder under `directory`; return counts, or raise VerificationFailed listing problems."""
    directory = Path(directory)
    folders = shard_folders(directory)
    problems = _missing_promised(directory)
    if not folders and not problems:
        raise FileNotFoundError(f"no shard folder (with manifest.json) under {directory}")
    totals = {"folders": len(folders), "parts": 0, "files": 0, "sequences": 0, "tokens": 0}
    for folder in folders:
        try:
            manifest = read_manifest(folder)
            _verify_totals(folder, manifest)
        except (ValueError, KeyError, TypeError) as error:
            problems.append(str(error) if not isinstance(error, (KeyError, TypeError))
                            else f"{folder / MANIFEST_FILE}: damaged manifest ({type(error).__name__}: {error})")
            continue
        for part in manifest["parts"]:
            try:
                _verify_part(folder, manifest, part)
            except (ShardFormatError, FileNotFoundError) as error:
                problems.append(str(error))
                continue
            totals["parts"] += 1
            totals["files"] += len(part["files"])
            totals["sequences"] += part["sequences"]
            totals["tokens"] += part["tokens"]
    if problems:
        raise VerificationFailed(problems)
    return totals


def _missing_promised(directory: Path) -> list[str]:
    """Stream folders under `directory` that the mixer's report (in `directory` or a folder above, as for
    `verify mixer/expert_induction`) lists but the disk lacks: a folder deleted whole is not one folder fewer."""
    for root in (directory, *list(directory.resolve().parents)[:2]):
        promised = promised_folders(root)
        if promised is not None:
            break
    else:
        return []
    return [f"{root / name}: listed in {root / MIXER_REPORT_FILE} but has no {MANIFEST_FILE} (deleted or never "
            f"finished)" for name in promised
            if (root / name).resolve().is_relative_to(directory.resolve()) and not (root / name / MANIFEST_FILE).is_file()]


def _verify_totals(folder: Path, manifest: dict[str, Any]) -> None:
    """A manifest whose parts list was emptied or edited no longer adds up to its own totals."""
    path = folder / MANIFEST_FILE
    parts = manifest["parts"]
    if not isinstance(parts, list) or not parts:
        raise ValueError(f"{path}: lists no parts (every mixer task writes one part record per stream)")
    for key in ("sequences", "tokens"):
        total = sum(part[key] for part in parts)
        if total != manifest[key]:
            raise ValueError(f"{path}: its parts hold {total:,} {key}, its total says {manifest[key]:,}")


def _verify_part(folder: Path, manifest: dict[str, Any], part: dict[str, Any]) -> None:
    for name, expected in part["files"].items():
        _verify_file(folder / name, expected)
    if not part["sequences"]:
        return
    prefix = folder / part["prefix"]
    seq_len = manifest["seq_len"]
    shard = read_index(prefix)
    if len(shard) != part["sequences"]:
        raise ShardFormatError(idx_path(prefix), 17, f"{len(shard)} sequences, manifest says {part['sequences']}")
    if np.dtype(shard.dtype).name != manifest["token_dtype"]:
        raise ShardFormatError(idx_path(prefix), 17, f"dtype {np.dtype(shard.dtype).name}, manifest says "
                                                               f"{manifest['token_dtype']}")
    wrong = np.flatnonzero(shard.sequence_lengths != seq_len)
    if wrong.size:
        raise ShardFormatError(idx_path(prefix), 34 + 4 * int(wrong[0]),
                               f"sequence {int(wrong[0])} has {int(shard.sequence_lengths[wrong[0]])} tokens, not {seq_len}")
    records = read_segments(seg_path(prefix), seq_len, len(shard) * seq_len, len(manifest["disciplines"]))
    content = int(records["length"][records["loss"] == 1].sum())
    if content != part["tokens"]:
        raise ShardFormatError(seg_path(prefix), 0, f"sidecar marks {content} trained tokens, manifest says {part['tokens']}")
    itemsize = np.dtype(shard.dtype).itemsize
    for start in range(0, len(shard.tokens), _SCAN_TOKENS):
        chunk = shard.tokens[start:start + _SCAN_TOKENS]
        bad = np.flatnonzero(chunk >= manifest["vocab_size"])
        if bad.size:
            at = start + int(bad[0])
            raise ShardFormatError(bin_path(prefix), at * itemsize,
                                   f"token id {int(chunk[bad[0]])} outside the vocabulary ({manifest['vocab_size']})")


def _verify_file(path: Path, expected: dict[str, Any]) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: listed in the manifest but missing")
    size = path.stat().st_size
    if size != expected["bytes"]:
        state = "truncated" if size < expected["bytes"] else "has extra bytes"
        raise ShardFormatError(path, min(size, expected["bytes"]),
                               f"{state}: {size} bytes, manifest says {expected['bytes']}")
    bad = first_bad_block(path, expected)
    if bad is not None:
        end = min(bad + expected["block_size"], size)
        raise ShardFormatError(path, bad, f"corrupted: bytes [{bad}, {end}) fail their crc32")
    if file_sha256(path) != expected["sha256"]:
        raise ShardFormatError(path, 0, "sha256 differs from the manifest's")
