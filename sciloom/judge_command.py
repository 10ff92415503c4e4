"""`sciloom judge`: JSONL {"id", "text"} on stdin -> the same records plus the judge fields on stdout.

One output line per input line, in order. A line the JSONL reader cannot use (blank, not JSON, not an object:
curation/read_jsonl.py names the problems) becomes `{"id": null, "line": n, "input_error": ...}` with `judge_error`
"no_text", so nothing is dropped silently; bytes that are not UTF-8 are replaced. A JSON summary (documents, scored,
cache hits, requests, errors by reason) goes to stderr at the end. When requests were sent and not one got a usable
answer, the command names the endpoint and exits 1: a script must not carry on as if the documents were judged.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from pydantic import ValidationError

from sciloom.classifiers.judge import JudgeConfig, JudgeEndpointDown, LLMJudge
from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.curation.read_jsonl import BLANK_LINE, MALFORMED_JSON, NOT_AN_OBJECT, read_json_lines
from sciloom.recipe_errors import one_line

# Problems that leave no record to judge; a record without usable text still goes to the judge ("no_text").
_NO_RECORD = frozenset({BLANK_LINE, MALFORMED_JSON, NOT_AN_OBJECT})
JUDGE_OPTIONS = {"cache_path": "--cache", "timeout_s": "--timeout", "max_retries": "--retries"}  # fields not named as their options


def register(app: typer.Typer) -> None:
    app.command("judge")(run_judge)


def _read_records(lines: Iterable[bytes], input_errors: dict[str, int]) -> Iterator[dict[str, object]]:
    for number, line in enumerate(read_json_lines(lines, "text"), start=1):
        if line.problem in _NO_RECORD:
            input_errors[line.problem] = input_errors.get(line.problem, 0) + 1
            yield {"id": None, "line": number, "input_error": line.problem}
        else:
            yield line.record


def run_judge(
    model: Annotated[str, typer.Option(help="Model name as served by the endpoint (or weights for in-process vLLM).")],
    base_url: Annotated[Optional[str], typer.Option(
        help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (`vllm serve`); without it vLLM runs in "
             "process (needs the vllm extra and a GPU).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="HTTP requests in flight at most.")] = 8,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for each HTTP request (connect, send, "
                                                      "answer) before it counts as failed.")] = 60.0,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed request (backoff 1 s, doubling).")] = 2,
    cache: Annotated[Optional[Path], typer.Option(help="SQLite answer cache; a rerun never asks twice.")] = None,
    disciplines: Annotated[Optional[str], typer.Option(
        help="Comma-separated discipline names to choose from; default: the project taxonomy.")] = None,
) -> None:
    """Rate each document's scientific/educational value (0-5) and discipline with an LLM judge."""
    try:
        config = JudgeConfig(model=model, base_url=base_url, concurrency=concurrency, cache_path=cache,
                             timeout_s=timeout, max_retries=retries)
    except ValidationError as error:
        raise typer.BadParameter(one_line(error, JUDGE_OPTIONS)) from None
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
            for record in llm_judge.judge(_read_records(sys.stdin.buffer, input_errors)):
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        except JudgeEndpointDown as error:
            sys.stdout.flush()
            typer.echo(f"sciloom judge: {error}", err=True)
            raise typer.Exit(1) from None
        sys.stdout.flush()
    stats = llm_judge.stats
    typer.echo(json.dumps({**stats.as_dict(), "input_errors": input_errors}), err=True)
    if stats.requests and not stats.scored and not stats.cache_hits:
        typer.echo(f"sciloom judge: none of {stats.requests} request(s) to {base_url or 'in-process vLLM'} (model "
                   f"{model!r}) got a usable answer (errors: {dict(stats.errors)}); check the endpoint and the "
                   f"model name", err=True)
        raise typer.Exit(1)
