"""The options that say which fields of the JSONL records a command reads (`label`, `dedup`, `classifiers train`)."""
from __future__ import annotations

from typing import Annotated

import typer

from sciloom.curation.read_jsonl import TextField

TextFieldOption = Annotated[str, typer.Option(
    help="Field holding the text: a name, a dotted path (metadata.abstract), or several joined by commas "
         "(title,abstract: joined by blank lines); a list of paragraphs is joined (unarXive's body_text).")]
IdFieldOption = Annotated[str, typer.Option(help="Field holding each record's id, echoed on its output line.")]


def text_field_of(option: str) -> TextField:
    """`title,abstract` -> [title, abstract]; one name stays a name."""
    names = [name.strip() for name in option.split(",") if name.strip()]
    if not names:
        raise typer.BadParameter(f"no field name in {option!r}", param_hint="--text-field")
    return names[0] if len(names) == 1 else names
