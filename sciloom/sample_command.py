"""`sciloom sample-crawl OUT`: write the demo's sample crawl (a gzip WARC of pages the project authors)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from sciloom.curation.sample_crawl import write_sample_crawl


def register(app: typer.Typer) -> None:
    app.command("sample-crawl")(sample_crawl)


def sample_crawl(
    out: Annotated[Path, typer.Argument(help="WARC file to write, e.g. data/sample.warc.gz.")],
    seed: Annotated[int, typer.Option(help="Seed for page order, dates and generated junk.")] = 0,
) -> None:
    """Write a small, deterministic sample crawl (science, general, duplicate, junk and broken records)."""
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a folder; give the WARC file to write, e.g. {out / 'sample.warc.gz'}",
                                 param_hint="OUT")
    manifest = write_sample_crawl(out, seed=seed)
    kinds = Counter(page.kind for page in manifest)
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    typer.echo(f"wrote {out} ({out.stat().st_size} bytes, warcinfo + {len(manifest)} records: {summary})")
