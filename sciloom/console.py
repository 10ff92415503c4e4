"""The console the commands print tables to."""
from __future__ import annotations

from typing import IO

from rich.console import Console

# Rich lays out for 80 columns when it does not write to a terminal, and shortens table cells to fit ("expert_in…",
# "arxiv/hig…"): a log file would lose the names its tables are about. Files and pipes get a page this wide.
LOG_WIDTH = 160


def output_console(stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A terminal's own width; a log file or a pipe: LOG_WIDTH columns (or COLUMNS, when set and wider)."""
    console = Console(stderr=stderr, file=file)
    if not console.is_terminal:
        console.width = max(console.width, LOG_WIDTH)
    return console
