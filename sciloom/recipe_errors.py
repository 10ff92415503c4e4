"""Turning YAML parse errors and pydantic validation errors into messages that name file, line and field."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class RecipeError(ValueError):
    """A recipe that cannot run; the message lists every problem with its file, line and field path."""


def node_lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each field path of a YAML document to its 1-based line number."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            lines.update({p: n for p, n in node_lines(value_node, child).items() if p != child})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(node_lines(item, (*path, index)))
    return lines


def load_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as error:  # file:line:column, like the recipe's other errors, not "<unicode string>"
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        context = f" ({error.context})" if error.context else ""
        raise RecipeError(f"{where}: not valid YAML: {error.problem}{context}") from None
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping of sections, found {type(data).__name__}")
    return data, node_lines(root) if root is not None else {}


def describe_validation_error(path: Path, error: ValidationError, lines: dict[tuple[Any, ...], int]) -> str:
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        field = ".".join(str(part) for part in loc) or "(top level)"
        line = _nearest_line(loc, lines)
        where = f"{path}:{line}" if line else str(path)
        expected = _expected(item)
        problems.append(f"{where}: field '{field}': {expected}")
    return f"{path}: {len(problems)} problem(s) in the recipe:\n" + "\n".join(f"  - {p}" for p in problems)


def one_line(error: ValidationError, options: dict[str, str] | None = None) -> str:
    """A config built from command-line options: each problem as `--option: message`, on one line. A field is
    named as its option: `options[field]`, else `--` and the dotted field with dashes (containment.threshold →
    --containment-threshold)."""
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        option = (options or {}).get(field) or "--" + field.replace(".", "-").replace("_", "-")
        parts.append(f"{option}: {message}" if field else message)
    return "; ".join(parts)


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _expected(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the documented recipe fields)"
    if kind == "missing":
        return "required field is missing"
    given = item.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    return f"{item['msg'].removeprefix('Value error, ')} (got {shown})"
