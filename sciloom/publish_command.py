"""`sciloom publish RUN_DIR URL`: copy a finished run's outputs to an object store, resumably (sciloom/publish.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)


def publish(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder (run.output_dir).")],
    url: Annotated[str, typer.Argument(help="Destination fsspec URL, e.g. s3://bucket/runs/name.")],
    storage_options: Annotated[Optional[str], typer.Option(
        help="fsspec storage options as JSON, e.g. '{\"endpoint_url\": \"http://127.0.0.1:9000\"}'; credentials "
             "are better left to the environment (AWS_ACCESS_KEY_ID, ...).")] = None,
    threads: Annotated[int, typer.Option(min=1, help="Files uploaded at once.")] = 16,
    verify: Annotated[bool, typer.Option(
        help="Read back every object already published and upload again any whose crc32 is not the file's "
             "(a download of the run's outputs).")] = False,
) -> None:
    """Publish every phase the run has finished; run again after a failure to upload only what is missing."""
    from sciloom.publish import PHASE_OUTPUTS, phase_files, publish_phase

    if not run_dir.is_dir():
        typer.echo(f"{run_dir}: not a folder (give a run's output_dir)", err=True)
        raise typer.Exit(2)
    try:
        options = json.loads(storage_options) if storage_options else {}
    except ValueError as error:
        typer.echo(f"--storage-options: not JSON ({error})", err=True)
        raise typer.Exit(2) from None
    if not isinstance(options, dict):
        typer.echo("--storage-options: must be a JSON object", err=True)
        raise typer.Exit(2)
    phases = [phase for phase in PHASE_OUTPUTS if phase_files(run_dir, phase)]
    if not phases:
        typer.echo(f"{run_dir}: no outputs of any phase to publish", err=True)
        raise typer.Exit(2)
    for phase in phases:
        report = publish_phase(run_dir, phase, url, options, threads=threads, verify=verify)
        typer.echo(f"{phase}: {report.files} files, {report.bytes / 1e6:.1f} MB: {report.uploaded} uploaded, "
                   f"{report.already_published} already there" + (f" ({report.verified} read back)" if verify else "")
                   + f", {len(report.deleted_stale)} stale removed "
                   f"({report.seconds:.1f} s)")
