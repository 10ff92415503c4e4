"""`sciloom extract` through typer: one output line per input line, same ids, null text and its reason on failure."""
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
    assert set(out[0]) == {"id", "text"}
    assert "$v = \\sqrt{T/\\mu}$" in out[0]["text"]
    assert [record["text"] for record in out[1:]] == [None, None, None, None]
    assert [record["error"] for record in out[1:]] == ["no_text", "malformed_json", "missing_html_field",
                                                       "page_too_large"]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary == {"records": 5, "extracted": 1,
                       "not_extracted": {"malformed_json": 1, "missing_html_field": 1, "no_text": 1,
                                         "page_too_large": 1}, "notes": {}}


def _html_line(doc_id: str, html: bytes) -> bytes:
    """A JSONL line whose html string holds raw bytes, as a crawler that copied bytes without decoding writes it."""
    escaped = html.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
    return b'{"id": "' + doc_id.encode() + b'", "html": "' + escaped + b'"}'


def test_mis_encoded_pages_are_extracted_whole(shared_data) -> None:
    """Real text with bytes that are not UTF-8: Latin-1 declared as UTF-8, stray bytes, a NUL. Nothing after the
    first bad byte may be lost."""
    article = (shared_data / "general" / "bbc-news" / "business" / "001.txt").read_text(encoding="utf-8")
    title, *paragraphs = [p.strip() for p in article.split("\n") if p.strip()]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    page = (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><article><h1>{title}</h1>'
            f"{body}</article></body></html>")
    latin1 = page.encode("latin-1", "replace")
    stray = page.replace(paragraphs[0][:20], paragraphs[0][:20] + "\udcff\udcfe", 1).encode("utf-8", "surrogateescape")
    nul = page.replace(paragraphs[1][:15], paragraphs[1][:15] + "\x00", 1).encode("utf-8")
    lines = [_html_line("latin1", latin1), _html_line("stray", stray), _html_line("nul", nul)]
    result = CliRunner().invoke(_app(), ["extract"], input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 0, result.output
    out = {record["id"]: record["text"] for record in map(json.loads, result.stdout.splitlines())}
    last_words = " ".join(paragraphs[-1].split()[-6:])
    for doc_id in ("latin1", "stray", "nul"):
        assert out[doc_id] is not None and last_words in out[doc_id].replace("\ufffd", "?"), doc_id
    assert "\ufffd\ufffd" in out["stray"] and "\x00" not in out["nul"]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["extracted"] == 3 and summary["notes"] == {"decoded:invalid_bytes_replaced": 2}


def test_out_of_range_options_name_their_option_on_one_line() -> None:
    result = CliRunner(env={"COLUMNS": "400"}).invoke(_app(), ["extract", "--timeout-seconds", "0"], input="{}\n")
    assert result.exit_code == 2 and "--timeout-seconds: Input should be greater than 0" in result.output
