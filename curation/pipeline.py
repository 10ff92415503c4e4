"""The curation phase of a run: read → extract → language id → level-1 rules, then deduplication."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from curation.config import CurationConfig
from curation.dedup import run_dedup
from curation.executor import StageReport, run_stage
from curation.extract import ExtractStep
from curation.inputs import reader_for, resolve_inputs
from curation.langid import LanguageIdStep
from curation.map_stage import map_documents
from curation.rules import RulesStep
from curation.step import Reader, Step

EXTRACT_STAGE = "extract"
CURATED_DIR = "curated"


def build_extraction_chain(config: CurationConfig) -> tuple[Reader, list[Step]]:
    return reader_for(config.inputs), [ExtractStep(config.extract), LanguageIdStep(config.langid),
                                       RulesStep(config.rules)]


def run_curation(config: CurationConfig, out_dir: Path) -> list[StageReport]:
    """Writes `<out_dir>/extract/` and the dedup phases; the kept documents end in `<out_dir>/curated/`."""
    tasks = resolve_inputs(config.inputs)
    if not tasks:
        raise ValueError("curation.inputs matched no file: check the paths, globs or paths file in the recipe")
    extract = run_stage(EXTRACT_STAGE, out_dir / EXTRACT_STAGE, tasks,
                        map_documents(partial(build_extraction_chain, config)))
    return [extract, *run_dedup(config.dedup, out_dir / EXTRACT_STAGE, out_dir / "dedup", out_dir / CURATED_DIR)]
