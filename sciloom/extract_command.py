"""`sciloom extract`: JSONL {"id", "html", "url"} on stdin → {"id", "text"} on stdout, one line per input line.

`text` is null when nothing was extracted, and the line then says why in `error` (as `sciloom label` does): no
main text, page over the size cap, extraction over the time limit, or a line the JSONL reader could not use (see
curation/read_jsonl.py for the problem names). The reasons are also counted and printed as a JSON summary on
stderr at the end, so nothing is lost silently. Bytes that are not UTF-8 are replaced (and counted under
`notes`), never a reason to cut a page short.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Annotated

import typer
from pydantic import ValidationError

from sciloom.curation.extract import ExtractConfig, ExtractStep
from sciloom.curation.read_jsonl import JsonLine, read_json_lines
from sciloom.recipe_errors import one_line


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)


def extract(
    max_page_bytes: Annotated[int, typer.Option(help="Pages larger than this many bytes are not extracted.")] = ExtractConfig().max_page_bytes,
    timeout_seconds: Annotated[float, typer.Option(help="Time limit per page, in seconds.")] = ExtractConfig().timeout_seconds,
    keep_math: Annotated[bool, typer.Option(help="Keep MathML/MathJax/KaTeX as LaTeX ($...$).")] = True,
) -> None:
    """Extract the main text of HTML pages (JSONL on stdin, JSONL on stdout)."""
    try:
        config = ExtractConfig(max_page_bytes=max_page_bytes, timeout_seconds=timeout_seconds, keep_math=keep_math)
    except ValidationError as error:
        raise typer.BadParameter(one_line(error)) from None
    step = ExtractStep(config)
    reasons: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    lines = 0
    for parsed in read_json_lines(sys.stdin.buffer, "html"):
        lines += 1
        notes.update(parsed.notes)
        text, reason = _extract(step, parsed)
        record = {"id": parsed.id, "text": text}
        if reason is not None:
            reasons[reason] += 1
            record["error"] = reason  # which page failed, and why: the summary only counts them
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    summary = {"records": lines, "extracted": lines - sum(reasons.values()),
               "not_extracted": dict(sorted(reasons.items())), "notes": dict(sorted(notes.items()))}
    print(json.dumps(summary), file=sys.stderr)


def _extract(step: ExtractStep, parsed: JsonLine) -> tuple[str | None, str | None]:
    """(text, reason text is null)."""
    if parsed.problem is not None:
        return None, parsed.problem
    url = parsed.record.get("url")
    return step.extract_text(parsed.value, url if isinstance(url, str) else None)
