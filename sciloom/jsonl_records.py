"""Reading the JSONL records that the command-line filters take on stdin, one problem name per bad line."""
from __future__ import annotations

import json
from typing import Any


def parse_record(line: str, field: str) -> tuple[Any, str | None, str | None]:
    """(id, the string in `field`, problem or None); problems: invalid_json, not_an_object, no_<field>.

    A filter writes one output record per input line whatever the problem, so it gets the id back whenever
    the line had one.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return None, None, "invalid_json"
    if not isinstance(record, dict):
        return None, None, "not_an_object"
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        return record.get("id"), None, f"no_{field}"
    return record.get("id"), value, None
