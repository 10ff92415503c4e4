"""A test session leaves nothing behind in the temporary folder: each session used to leave 6 MB there (Ray's
session logs, a Hugging Face cache), a folder per torchrun it started and per benchmark module a test loaded. A
development machine held 346 session folders, 250 torchrun folders and 210 benchmark folders (2026-12-06)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# A test that loads bench_text_rules (which imports bench_curation_throughput: each makes a scratch folder when
# imported) and reads real documents.
INNER_TEST = "tests/curation/test_langid.py::test_sample_verdicts_agree_with_reading_the_first_10000_characters"


def test_a_test_session_removes_its_temporary_folders(tmp_path: Path, shared_data: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    for name in ("HF_HOME", "RAY_TMPDIR"):  # this session's, set by its conftest: the inner one chooses its own
        env.pop(name, None)
    session = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", INNER_TEST],
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-3000:]
    assert "1 passed" in session.stdout
    # pytest's own tmp_path folders (pytest-of-<user>) are pytest's to keep; the inner test makes none.
    assert sorted(os.listdir(temporary)) == []
