"""`sciloom extract` through typer: one output line per input line, same ids, null on failure."""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from sciloom.extract_command import register


def _app() -> typer.Typer:
    """A command group holding just `extract` (the full CLI imports every area's heavy dependencies)."""
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app

PAGE = ("<html><body><article><h1>Waves</h1><p>A wave on a string obeys the wave equation, and its speed depends "
        "on the tension and on the mass per unit length, <script type='math/tex'>v = \\sqrt{T/\\mu}</script>, as "
        "every physics student learns in the first year of their studies.</p></article></body></html>")


def test_extract_command_keeps_ids_and_order() -> None:
    lines = [
        json.dumps({"id": "a", "html": PAGE, "url": "https://example.org/waves"}),
        json.dumps({"id": "b", "html": "<html><body></body></html>", "url": None}),
        "not json at all",
        json.dumps({"id": 7, "url": "https://example.org/no-html"}),
        json.dumps({"id": "big", "html": PAGE * 20, "url": None}),
    ]
    result = CliRunner().invoke(_app(), ["extract", "--max-page-bytes", "5000"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["id"] for record in out] == ["a", "b", None, 7, "big"]
    assert all(set(record) == {"id", "text"} for record in out)
    assert "$v = \\sqrt{T/\\mu}$" in out[0]["text"]
    assert [record["text"] for record in out[1:]] == [None, None, None, None]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary == {"records": 5, "extracted": 1,
                       "not_extracted": {"invalid_json": 1, "no_html": 1, "no_text": 1, "page_too_large": 1}}
