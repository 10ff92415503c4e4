"""`sciloom extract`: JSONL {"id", "html", "url"} on stdin → {"id", "text"} on stdout, one line per input line.

`text` is null when nothing was extracted (no main text, page over the size cap, extraction over the time
limit, a line that is not a JSON object or has no string `html`); the reasons are counted and printed as a
JSON summary on stderr at the end, so nothing is lost silently.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Annotated

import typer

from sciloom.curation.extract import ExtractConfig, ExtractStep
from sciloom.jsonl_records import parse_record


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)


def extract(
    max_page_bytes: Annotated[int, typer.Option(help="Pages larger than this many bytes are not extracted.")] = ExtractConfig().max_page_bytes,
    timeout_seconds: Annotated[float, typer.Option(help="Time limit per page, in seconds.")] = ExtractConfig().timeout_seconds,
    keep_math: Annotated[bool, typer.Option(help="Keep MathML/MathJax/KaTeX as LaTeX ($...$).")] = True,
) -> None:
    """Extract the main text of HTML pages (JSONL on stdin, JSONL on stdout)."""
    step = ExtractStep(ExtractConfig(max_page_bytes=max_page_bytes, timeout_seconds=timeout_seconds, keep_math=keep_math))
    reasons: Counter[str] = Counter()
    lines = 0
    for line in sys.stdin:
        lines += 1
        doc_id, text, reason = _extract_line(step, line)
        if reason is not None:
            reasons[reason] += 1
        sys.stdout.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    summary = {"records": lines, "extracted": lines - sum(reasons.values()), "not_extracted": dict(sorted(reasons.items()))}
    print(json.dumps(summary), file=sys.stderr)


def _extract_line(step: ExtractStep, line: str) -> tuple[object, str | None, str | None]:
    """(id, text, reason text is null)."""
    doc_id, html, problem = parse_record(line, "html")
    if problem is not None:
        return doc_id, None, problem
    url = json.loads(line).get("url")
    text, reason = step.extract_text(html, url if isinstance(url, str) else None)
    return doc_id, text, reason
