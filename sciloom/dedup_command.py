"""`sciloom dedup`: JSONL {"id", "text"} on stdin → {"id", "cluster", "keep", "reason", "duplicate_of", "containment"} on
stdout, one line per input line, in input order.

Exact, fuzzy (MinHash-LSH) and containment dedup run in memory with the decisions of the pipeline stage
(`curation.dedup.dedup_documents`); no verdict depends on the input order (a contained line is one that a
line with more text of its own mostly holds). `cluster` is the id of the kept document of the line's cluster, and every removed line names what
it duplicates (`duplicate_of`; for a contained line, the kept document holding most of its n-grams), so every
cluster keeps exactly one document. A line that is not a JSON
object with a string `text` and an id, or that repeats an earlier line's id (`duplicate_id`: clusters are named by
id, so a second "a" would read as a member of the first one's cluster), gets `keep: null` and its reason, and is
counted in the JSON summary on stderr.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Annotated

import typer
from pydantic import ValidationError

from sciloom.curation.dedup import dedup_documents
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.read_jsonl import JsonLine, missing_field, read_json_lines
from sciloom.jsonl_options import IdFieldOption, TextFieldOption, text_field_of
from sciloom.recipe_errors import one_line

_DEFAULT = DedupConfig()
DUPLICATE_ID = "duplicate_id"


def register(app: typer.Typer) -> None:
    app.command("dedup")(dedup)


def dedup(
    threshold: Annotated[float, typer.Option(help="Jaccard threshold of near-duplicates.")] = _DEFAULT.threshold,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = _DEFAULT.num_perm,
    ngram: Annotated[int, typer.Option(help="Words per MinHash shingle.")] = _DEFAULT.ngram,
    seed: Annotated[int, typer.Option(help="MinHash seed.")] = _DEFAULT.seed,
    exact: Annotated[bool, typer.Option(help="Exact (normalised text) dedup.")] = True,
    fuzzy: Annotated[bool, typer.Option(help="Fuzzy MinHash-LSH dedup.")] = True,
    containment: Annotated[bool, typer.Option(help="Containment: drop lines mostly held by one line with more text.")] = True,
    containment_threshold: Annotated[float, typer.Option(help="Fraction of a line's n-grams held by one outranking line that makes it contained.")] = _DEFAULT.containment.threshold,
    containment_ngram: Annotated[int, typer.Option(help="Words per containment n-gram.")] = _DEFAULT.containment.ngram,
    text_field: TextFieldOption = "text",
    id_field: IdFieldOption = "id",
) -> None:
    """Deduplicate documents (JSONL on stdin, one verdict per line on stdout)."""
    try:
        # One validation over the nested section too, so that every error is located (containment.threshold).
        config = DedupConfig.model_validate({
            "threshold": threshold, "num_perm": num_perm, "ngram": ngram, "seed": seed, "exact": exact, "fuzzy": fuzzy,
            "containment": {"enabled": containment, "threshold": containment_threshold, "ngram": containment_ngram}})
    except ValidationError as error:
        raise typer.BadParameter(one_line(error)) from None
    records = _first_of_each_id([_parse(line, id_field)
                                 for line in read_json_lines(sys.stdin.buffer, text_field_of(text_field))])
    valid = [i for i, (_, _, problem) in enumerate(records) if problem is None]
    verdicts = dict(zip(valid, dedup_documents(config, [str(records[i][0]) for i in valid],
                                               [records[i][1] for i in valid])))
    problems: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for i, (doc_id, _, problem) in enumerate(records):
        if problem is not None:
            problems[problem] += 1
            out = {"id": doc_id, "cluster": None, "keep": None, "reason": problem, "duplicate_of": None,
                   "containment": None}
        else:
            v = verdicts[i]
            reasons[v.reason or "kept"] += 1
            out = {"id": doc_id, "cluster": v.cluster, "keep": v.reason is None, "reason": v.reason,
                   "duplicate_of": v.duplicate_of,
                   "containment": None if v.containment is None else round(v.containment, 4)}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    print(json.dumps({"records": len(records), "verdicts": dict(sorted(reasons.items())),
                      "unreadable": dict(sorted(problems.items()))}), file=sys.stderr)


def _first_of_each_id(records: list[tuple[object, str, str | None]]) -> list[tuple[object, str, str | None]]:
    """Each readable line whose id (as a string, as clusters name it) an earlier readable line has, marked
    `duplicate_id`."""
    seen: set[str] = set()
    out = []
    for doc_id, text, problem in records:
        if problem is None:
            if str(doc_id) in seen:
                problem = DUPLICATE_ID
            seen.add(str(doc_id))
        out.append((doc_id, text, problem))
    return out


def _parse(line: JsonLine, id_field: str) -> tuple[object, str, str | None]:
    """(id, text, problem or None): dedup also needs the id, to name the cluster."""
    problem = line.problem
    if problem is None and line.get(id_field) is None:
        problem = missing_field(id_field)
    return line.get(id_field), line.value or "", problem
