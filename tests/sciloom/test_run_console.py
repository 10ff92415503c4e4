"""What `sciloom run` prints about each curation stage, as a user reads it in a log file."""
from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sciloom import runner
from sciloom.console import output_console
from sciloom.curation.executor import StageReport
from sciloom.curation.stats import StepStats


def test_stage_table_in_a_log_file_keeps_every_reason_whole(monkeypatch) -> None:
    # Written to a file, rich lays the table out for 80 columns; this row needs more, and used to be cut at the
    # 80th column, so the reasons a skip is counted under were lost from the log.
    log = io.StringIO()
    monkeypatch.setattr(runner, "console", Console(file=log, width=80, color_system=None))
    reasons = Counter({"missing_text_field": 40, "warcinfo_record": 3, "no_usable_record": 1})
    steps = [StepStats("read", 7339, 7284, 26_510_000, 14_910_000, 0.6, skipped=reasons),
             StepStats("containment_pairs", 7057, 6977, 0, 0, 0.5, rejected=Counter({"contained": 80}))]
    runner._print_stage_tables([StageReport("extract", Path("unused"), 52, 0, steps)])
    printed = log.getvalue()
    for text in ("missing_text_field: 40", "warcinfo_record: 3", "no_usable_record: 1", "containment_pairs",
                 "contained: 80"):
        assert text in printed, (text, printed)


def test_a_log_file_gets_a_page_wide_enough_for_the_mixture_plan() -> None:
    # `sciloom mix plan > plan.txt` printed "expert_in…", "mathemat…" and "arxiv/hig…": rich's 80 columns for a file.
    table = Table()
    for column in ("stream", "discipline", "target", "planned", "diff (pp)", "tokens"):
        table.add_column(column)
    table.add_column("buckets (source/tier x repeats)")
    table.add_row("expert_induction", "materials_engineering", "100.0%", "100.0%", "+0.00", "114,411",
                  "arxiv/high: x6.00, openstax_chem/high: x6.00")
    log = io.StringIO()
    console = output_console(file=log)
    console.print(table)
    for text in ("expert_induction", "materials_engineering", "arxiv/high: x6.00, openstax_chem/high: x6.00"):
        assert text in log.getvalue(), (text, log.getvalue())
