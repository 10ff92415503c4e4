"""Fixed-length packing of tokenized documents into one shard (Megatron .bin/.idx + .seg sidecar).

Documents are appended to one flat token stream; packed sequence i is tokens [i*L, (i+1)*L) of it, so a
document longer than L simply continues in the next sequence and nothing is cut away. The `.seg`
records keep every document boundary, its discipline id and its loss flag; the tail of the last
sequence is padding with loss flag 0. Tokens go to disk as they arrive (memory does not grow with the
corpus beyond one small record per document), and the files appear under their final names only when
complete: a crashed task leaves no half-shard behind.
"""
from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from sciloom.curation.atomic_write import record_output, temporary_sibling
from sciloom.mixer.checksums import DEFAULT_BLOCK_SIZE, file_checksums
from sciloom.mixer.indexed_dataset import bin_path, idx_path, write_index
from sciloom.mixer.segments import SEGMENT_DTYPE, seg_path, write_segments

_FLUSH_TOKENS = 1 << 20




class PackedShardWriter:
    """Streams documents into `<prefix>.bin/.idx/.seg`; `close()` returns the part's description."""

    def __init__(self, prefix: Path, seq_len: int, dtype: type[np.number], pad_id: int, pad_discipline: int,
                 block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        if seq_len < 2:
            raise ValueError(f"seq_len must be at least 2 (input and target), got {seq_len}")
        self.prefix = prefix
        self.seq_len = seq_len
        self.dtype = dtype
        self.pad_id = pad_id
        self.pad_discipline = pad_discipline
        self.block_size = block_size
        self.tokens = 0
        self.documents = 0
        # One array per added batch of documents, concatenated into the .seg records on close().
        self._starts: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._disciplines: list[np.ndarray] = []
        self._losses: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []
        self._pending_tokens = 0
        self._bin = None
        self._temporaries: dict[Path, Path] = {}

    def _tmp(self, final: Path) -> Path:
        """This writer's own temporary name for `final` (two writers of one prefix never share one)."""
        return self._temporaries.setdefault(final, temporary_sibling(final))

    def __enter__(self) -> PackedShardWriter:
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self._bin = open(self._tmp(bin_path(self.prefix)), "wb")
        return self

    def add_document(self, tokens: np.ndarray, discipline: int, loss: bool = True) -> None:
        self.add_documents(np.asarray(tokens), np.array([len(tokens)]), np.array([discipline]), loss)

    def add_documents(self, tokens: np.ndarray, lengths: np.ndarray, disciplines: np.ndarray,
                      loss: bool = True) -> None:
        """Documents stored back to back in `tokens` with the given lengths; empty ones add nothing."""
        kept = lengths > 0
        lengths, disciplines = lengths[kept], disciplines[kept]
        if len(lengths) == 0:
            return
        self._record(lengths, disciplines, loss)
        self._pending.append(np.ascontiguousarray(tokens, dtype=self.dtype))
        self._pending_tokens += len(tokens)
        if self._pending_tokens >= _FLUSH_TOKENS:
            self._flush()

    def _record(self, lengths: np.ndarray, disciplines: np.ndarray, loss: bool) -> None:
        ends = self.tokens + np.cumsum(lengths)
        self._starts.append(ends - lengths)
        self._lengths.append(lengths)
        self._disciplines.append(disciplines)
        self._losses.append(np.full(len(lengths), loss))
        self.tokens = int(ends[-1])
        self.documents += len(lengths)

    def _flush(self) -> None:
        if self._pending:
            assert self._bin is not None
            for tokens in self._pending:
                self._bin.write(memoryview(tokens))
            self._pending.clear()
            self._pending_tokens = 0

    def close(self) -> dict[str, Any]:
        """Pad the last sequence, write index and sidecar, checksum, and move everything into place."""
        assert self._bin is not None
        content_tokens, content_documents = self.tokens, self.documents
        padding = -self.tokens % self.seq_len
        if padding:
            self._record(np.array([padding]), np.array([self.pad_discipline]), False)
            self._pending.append(np.full(padding, self.pad_id, dtype=self.dtype))
        self._flush()
        self._bin.close()
        if self.tokens == 0:  # no files at all: Megatron cannot map an empty .bin
            self._tmp(bin_path(self.prefix)).unlink()
            return {"prefix": self.prefix.name, "sequences": 0, "tokens": 0, "documents": 0, "padding_tokens": 0,
                    "files": {}}
        num_sequences = self.tokens // self.seq_len
        write_index(self._tmp(idx_path(self.prefix)), self.dtype, np.full(num_sequences, self.seq_len, dtype=np.int32))
        records = np.empty(self.documents, dtype=SEGMENT_DTYPE)
        records["start"], records["length"] = np.concatenate(self._starts), np.concatenate(self._lengths)
        records["discipline"], records["loss"] = np.concatenate(self._disciplines), np.concatenate(self._losses)
        write_segments(self._tmp(seg_path(self.prefix)), self.seq_len, records)
        files = {}
        for final in (bin_path(self.prefix), idx_path(self.prefix), seg_path(self.prefix)):
            files[final.name] = file_checksums(self._tmp(final), self.block_size)
            self._tmp(final).replace(final)
            record_output(final)
        return {"prefix": self.prefix.name, "sequences": num_sequences, "tokens": content_tokens,
                "documents": content_documents, "padding_tokens": padding, "files": files}

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # After close() the temporaries were renamed; otherwise (error, or close() never reached) drop them.
        if self._bin is not None and not self._bin.closed:
            self._bin.close()
        for final in (bin_path(self.prefix), idx_path(self.prefix), seg_path(self.prefix)):
            self._tmp(final).unlink(missing_ok=True)
