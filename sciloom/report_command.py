"""`sciloom report RUN_DIR [OTHER_RUN_DIR]`: the run's report.html, or two runs compared side by side."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder (run.output_dir).")],
    other: Annotated[Optional[Path], typer.Argument(help="A second run: compare the two (B − A).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where the comparison goes (default: RUN_DIR/compare-<B>.html).")] = None,
) -> None:
    """Write RUN_DIR/report.html (sections for the phases that ran), or compare two runs."""
    from sciloom.report import write_comparison, write_report

    for folder in (run_dir, other):
        if folder is not None and not folder.is_dir():
            typer.echo(f"{folder}: not a folder (give a run's output_dir)", err=True)
            raise typer.Exit(2)
    if other is None:
        typer.echo(str(write_report(run_dir)))
    else:
        typer.echo(str(write_comparison(run_dir, other, out or run_dir / f"compare-{other.name}.html")))
