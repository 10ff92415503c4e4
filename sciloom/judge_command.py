"""`sciloom judge`: JSONL {"id", "text"} on stdin -> the same records plus the judge fields on stdout.

One output line per input line, in order. A line that is not a JSON object becomes
`{"id": null, "line": n, "input_error": ...}` with `judge_error` "no_text", so nothing is dropped silently.
A JSON summary (documents, scored, cache hits, requests, errors by reason) goes to stderr at the end.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Iterator, Optional, TextIO

import typer
from pydantic import ValidationError

from sciloom.classifiers.judge import JudgeConfig, JudgeEndpointDown, LLMJudge
from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY


def register(app: typer.Typer) -> None:
    app.command("judge")(run_judge)


def _read_records(lines: TextIO, input_errors: dict[str, int]) -> Iterator[dict[str, object]]:
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            record, error = None, "invalid_json"
        else:
            error = None if isinstance(record, dict) else "not_an_object"
        if error is not None:
            input_errors[error] = input_errors.get(error, 0) + 1
            yield {"id": None, "line": number, "input_error": error}
        else:
            yield record


def run_judge(
    model: Annotated[str, typer.Option(help="Model name as served by the endpoint (or weights for in-process vLLM).")],
    base_url: Annotated[Optional[str], typer.Option(
        help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (`vllm serve`); without it vLLM runs in "
             "process (needs the vllm extra and a GPU).")] = None,
    concurrency: Annotated[int, typer.Option(help="HTTP requests in flight at most.")] = 8,
    cache: Annotated[Optional[Path], typer.Option(help="SQLite answer cache; a rerun never asks twice.")] = None,
    disciplines: Annotated[Optional[str], typer.Option(
        help="Comma-separated discipline names to choose from; default: the project taxonomy.")] = None,
) -> None:
    """Rate each document's scientific/educational value (0-5) and discipline with an LLM judge."""
    try:
        config = JudgeConfig(model=model, base_url=base_url, concurrency=concurrency, cache_path=cache)
    except ValidationError as error:
        raise typer.BadParameter(str(error)) from error
    names = DEFAULT_TAXONOMY.disciplines if disciplines is None else [
        name.strip() for name in disciplines.split(",") if name.strip()
    ]
    try:
        llm_judge = LLMJudge(config, names)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    input_errors: dict[str, int] = {}
    with llm_judge:
        try:
            for record in llm_judge.judge(_read_records(sys.stdin, input_errors)):
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        except JudgeEndpointDown as error:
            sys.stdout.flush()
            typer.echo(f"sciloom judge: {error}", err=True)
            raise typer.Exit(1) from None
        sys.stdout.flush()
    typer.echo(json.dumps({**llm_judge.stats.as_dict(), "input_errors": input_errors}), err=True)
