"""`sciloom inspect DIR`: a sample of the documents in any stage's Parquet output, the fields a person reads.

DuckDB does the reading: `--where` is a SQL condition over the folder's columns (sciloom/output_schema.py lists
them), and a reservoir sample keeps memory bounded whatever the folder's size.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer

# What a person reads first, in this order; the other columns are left to the Parquet readers.
LABEL_FIELDS = ("source", "lang", "discipline", "science_score", "quality_tier", "quality_score", "l1_score",
                "dedup_cluster", "containment", "judge_score")


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)


def inspect(
    folder: Annotated[Path, typer.Argument(help="A stage folder (e.g. runs/demo/curation/curated), a rejected-rows "
                                                "folder (runs/demo/curation/_extract/rejected) or one Parquet file.")],
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Documents to show.")] = 5,
    where: Annotated[str, typer.Option(help="SQL condition over the columns, e.g. \"quality_tier = 'high'\".")] = "",
    seed: Annotated[int, typer.Option(help="Seed of the random sample.")] = 0,
    lines: Annotated[int, typer.Option(min=1, help="Lines of text shown per document.")] = 4,
) -> None:
    """Print a random sample of documents (id, source, labels, scores, reason if rejected, level-1 flags, first lines
    of text)."""
    import duckdb

    files = [folder] if folder.is_file() else sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        # A phase folder (runs/demo/classifiers) holds its stage folders one level down, a run folder two: name
        # them (bookkeeping folders, whose names start with "_", aside).
        found = [*folder.glob("*/*.parquet"), *folder.glob("*/*/*.parquet")] if folder.is_dir() else []
        inside = sorted({str(path.parent) for path in found
                         if not any(part.startswith("_") for part in path.parent.relative_to(folder).parts)})
        hint = f"; stage folders inside: {', '.join(inside)}" if inside else " (a stage folder holds part-*.parquet)"
        typer.echo(f"{folder}: no Parquet files here{hint}", err=True)
        raise typer.Exit(2)
    source = f"read_parquet({[str(f) for f in files]!r}, union_by_name = true)"
    condition = f"WHERE ({where})" if where.strip() else ""
    connection = duckdb.connect()
    try:
        total = connection.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    except duckdb.Error as error:
        typer.echo(f"{folder}: not readable as Parquet: {str(error).splitlines()[0]}", err=True)
        raise typer.Exit(2) from None
    matching_sql = f"SELECT count(*) FROM {source} {condition}"
    try:
        # One condition, not a script: DuckDB runs every statement of a string, so "1); DROP TABLE t; (1" would not
        # only filter rows.
        statements = len(connection.extract_statements(matching_sql))
        if statements != 1:
            typer.echo(f"{folder}: --where {where!r}: the condition must be one SQL expression "
                       f"(it reads as {statements} statements)", err=True)
            raise typer.Exit(2)
        matching = connection.execute(matching_sql).fetchone()[0]
        cursor = connection.execute(f"SELECT * FROM (SELECT * FROM {source} {condition}) "
                                    f"USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})")
    except duckdb.Error as error:
        typer.echo(f"{folder}: --where {where!r}: {str(error).splitlines()[0]}", err=True)
        raise typer.Exit(2) from None
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values)) for values in cursor.fetchall()]
    rows.sort(key=lambda row: str(row.get("id")))
    typer.echo(f"{folder}: {matching:,} of {total:,} documents match{' ' + repr(where) if condition else ''}; "
               f"showing {len(rows)}")
    for index, row in enumerate(rows, 1):
        typer.echo(_describe(index, len(rows), row, lines))


def _describe(index: int, count: int, row: dict[str, Any], lines: int) -> str:
    fields = "  ".join(f"{name}={_short(row[name])}" for name in LABEL_FIELDS if row.get(name) is not None)
    out = [f"── {index}/{count}  id={row.get('id')}  {fields}".rstrip()]
    if row.get("reject_reason"):
        out.append(f"   rejected: {row['reject_reason']}")
    if row.get("l1_flags") is not None and len(row["l1_flags"]):
        # The rules that fired without rejecting: why a document with a top quality score is not in the high tier.
        out.append(f"   flags: {', '.join(row['l1_flags'])}")
    text = (row.get("text") or "").strip()
    shown = [line for line in text.splitlines() if line.strip()][:lines]
    for line in shown:
        out.append(textwrap.shorten(line, width=160, placeholder=" …").join(("   | ", "")))
    if not shown:
        out.append("   (no text)")
    return "\n".join(out)


def _short(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
