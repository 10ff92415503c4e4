"""Persistent cache of judge answers, so that a rerun never asks the model the same question twice.

The key is a hash of everything that determines the answer: model name, prompt version, the exact messages
sent (which contain the document text and the discipline list) and the generation settings. The value is the
model's raw text, not the parsed verdict, so a better parser applies to old answers without new requests.
Only successful answers are stored: a failed request is asked again on the next run.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Mapping

from sciloom.classifiers.judge_backends import Messages


def request_key(model: str, prompt_version: str, messages: Messages, max_output_tokens: int) -> str:
    canonical = json.dumps(
        {"model": model, "prompt_version": prompt_version, "messages": messages, "max_tokens": max_output_tokens},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class JudgeCache:
    """SQLite file keyed by `request_key`; safe to share between runs and (WAL mode) between processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, model TEXT, content TEXT, created REAL)"
        )
        self._db.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._lock:
            # SQLite caps the number of bound parameters per statement.
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                placeholders = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, content FROM answers WHERE key IN ({placeholders})", chunk)
                found.update(rows.fetchall())
        return found

    def put_many(self, model: str, answers: Mapping[str, str]) -> None:
        now = time.time()
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO answers (key, model, content, created) VALUES (?, ?, ?, ?)",
                [(key, model, content, now) for key, content in answers.items()],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
