"""A tiny shard folder written through the real writer, with the documents it was made from."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer_test_shards import random_documents, write_folder


@pytest.fixture
def shard_folder(tmp_path: Path) -> tuple[Path, list[list[tuple[np.ndarray, int]]], int]:
    parts = [random_documents(1, 40), random_documents(2, 25), random_documents(3, 0)]
    seq_len = 64
    return write_folder(tmp_path / "shards", parts, seq_len), parts, seq_len
