"""The columns of every Parquet stage folder a run writes: one place, with type, meaning and the stage that adds them.

Types are not restated here: each entry points at the constant its writer uses, so this table cannot drift from the
files (tests/sciloom/test_dataset_readers.py also checks it against a real run). Every folder below holds only
Parquet parts and opens as a dataset in pyarrow, pandas, DuckDB, Polars and Hugging Face `datasets`. Its statistics,
task markers and rejected rows live beside it in `_<folder>/` (`stats.json`, `tasks/`, and `rejected/`: a dataset of
the same columns plus `reject_reason`). Every part's key-value metadata holds `sciloom.schema_version` and
`sciloom.recipe_hash`.

    python -m sciloom.output_schema     # prints the table as Markdown
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sciloom.classifiers.label_step import JUDGE_COLUMNS, LABEL_COLUMNS, TEXT_BYTES_COLUMN
from sciloom.curation.dedup import DEDUP_COLUMNS
from sciloom.curation.document import BASE_COLUMNS, REJECT_REASON
from sciloom.curation.langid import LanguageIdStep
from sciloom.curation.part_writer import SCHEMA_VERSION
from sciloom.curation.rules import RulesStep

# Stage folders, relative to run.output_dir, in data-flow order.
EXTRACT = "curation/extract"
CURATED = "curation/curated"
LABELLED = "classifiers/labelled"
STAGE_FOLDERS = (EXTRACT, CURATED, LABELLED)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    added_by: str  # the first stage folder that has it; later folders keep it
    meaning: str


COLUMNS: tuple[Column, ...] = (
    Column("id", BASE_COLUMNS["id"], EXTRACT, "document id: WARC-Record-ID, or the input's id field; unique in a run"),
    Column("text", BASE_COLUMNS["text"], EXTRACT, "extracted plain text (equations as LaTeX, tables as text)"),
    Column("url", BASE_COLUMNS["url"], EXTRACT, "target URI of a crawl record, or the input's url field (may be null)"),
    Column("source", BASE_COLUMNS["source"], EXTRACT, "the recipe's name for the input entry the document came from"),
    Column("lang", LanguageIdStep.columns["lang"], EXTRACT, "ISO 639-1 language of the text (fastText lid.176)"),
    Column("lang_score", LanguageIdStep.columns["lang_score"], EXTRACT, "probability of `lang`"),
    Column("l1_flags", RulesStep.columns["l1_flags"], EXTRACT, "level-1 rules that fired without rejecting"),
    Column("l1_score", RulesStep.columns["l1_score"], EXTRACT, "level-1 quality score in [0, 1] (share of rules passed)"),
    Column("exact_hash", DEDUP_COLUMNS["exact_hash"], CURATED, "hash of the normalised text (exact duplicates share it)"),
    Column("dedup_cluster", DEDUP_COLUMNS["dedup_cluster"], CURATED, "id of the kept document of its duplicate cluster"),
    Column("duplicate_of", DEDUP_COLUMNS["duplicate_of"], CURATED,
           "in `_curated/rejected/`: the kept document a removed one duplicates (null when kept)"),
    Column("containment", DEDUP_COLUMNS["containment"], CURATED,
           "largest share of its n-grams held by one document that outranks it, or by earlier runs' index "
           "(null when containment dedup is off)"),
    Column("discipline", LABEL_COLUMNS["discipline"], LABELLED, "taxonomy label (a science discipline or `general`): "
           "the most probable one"),
    Column("discipline_scores", LABEL_COLUMNS["discipline_scores"], LABELLED,
           "probability of every taxonomy label, as (label, score) pairs in taxonomy order"),
    Column("science_score", LABEL_COLUMNS["science_score"], LABELLED, "probability that the text is scientific: "
           "1 - P(general), so a text whose science is split between disciplines can be `general` with a score over "
           "0.5 (deciding `general` only below 0.5 was measured and not kept: see classifiers/default_models.py)"),
    Column("quality_score", LABEL_COLUMNS["quality_score"], LABELLED, "level-2 quality score in [0, 1]"),
    Column("quality_tier", LABEL_COLUMNS["quality_tier"], LABELLED, "high / medium / low (classifiers.tiers)"),
    Column("text_bytes", TEXT_BYTES_COLUMN["text_bytes"], LABELLED, "UTF-8 bytes of `text` (the mixer plans from it)"),
    *(Column(name, dtype, LABELLED, "level-3 LLM judge verdict (only in runs with classifiers.judge)")
      for name, dtype in JUDGE_COLUMNS.items()),
)
REJECTED_COLUMN = Column(REJECT_REASON, pa.string(), EXTRACT,
                         "in `_<folder>/rejected/` only: `<step>:<reason>` (extract's also keeps a null `html`)")
OPTIONAL = frozenset(JUDGE_COLUMNS)  # present only when their feature is configured


def columns_of(folder: str) -> dict[str, Column]:
    """The documented columns of a stage folder (inputs' own extra fields, carried through, come on top)."""
    order = STAGE_FOLDERS.index(folder)
    return {c.name: c for c in COLUMNS if STAGE_FOLDERS.index(c.added_by) <= order}


def markdown() -> str:
    rows = [f"| `{c.name}` | `{c.type}` | `{c.added_by}/` | {c.meaning} |" for c in (*COLUMNS, REJECTED_COLUMN)]
    return "\n".join([f"Output schema version {SCHEMA_VERSION}.", "", "| column | type | added in | meaning |",
                      "|---|---|---|---|", *rows])


if __name__ == "__main__":
    print(markdown())
