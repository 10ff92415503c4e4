"""The run report: one self-contained HTML page per run (`report.html`), and two runs compared side by side."""
from __future__ import annotations

from pathlib import Path

from sciloom.curation.atomic_write import write_text_atomic
from sciloom.report.collect import collect
from sciloom.report.compare import render_comparison
from sciloom.report.page import render

REPORT_FILE = "report.html"


def write_report(run_dir: Path) -> Path:
    """RUN_DIR/report.html from what the run wrote (any phases that ran)."""
    path = Path(run_dir) / REPORT_FILE
    write_text_atomic(path, render(collect(Path(run_dir))))
    return path


def write_comparison(run_a: Path, run_b: Path, out: Path) -> Path:
    write_text_atomic(out, render_comparison(collect(Path(run_a)), collect(Path(run_b))))
    return out
