"""The `curation` section of a recipe: inputs and the settings of every curation step."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.extract import ExtractConfig
from sciloom.curation.inputs import InputsConfig
from sciloom.curation.langid import LangIdConfig
from sciloom.curation.line_cleaning import LineCleaningConfig
from sciloom.curation.prefilter import PrefilterConfig
from sciloom.curation.rules import RulesConfig


class CurationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[InputsConfig] = Field(min_length=1, description="What to read, one entry per source: crawl "
                                       "files (WARC/WET) and text files (JSONL/Parquet), each with its own source name.")
    line_cleaning: LineCleaningConfig = Field(default_factory=LineCleaningConfig, description=(
        "Boilerplate-line removal (menus, navigation, notices) for text inputs; HTML is cleaned by extraction."))
    prefilter: PrefilterConfig = Field(default_factory=PrefilterConfig, description=(
        "Cheap decisions before extraction: URL block lists and clearly foreign languages on a fast rendering."))
    extract: ExtractConfig = Field(default_factory=ExtractConfig, description="Main-text extraction from HTML.")
    langid: LangIdConfig = Field(default_factory=LangIdConfig, description="Language identification.")
    rules: RulesConfig = Field(default_factory=RulesConfig, description="Level-1 rule filters.")
    dedup: DedupConfig = Field(default_factory=DedupConfig, description="Exact, fuzzy and containment dedup.")
    skip_failed_inputs: bool = Field(False, description=(
        "An input file whose extraction task fails on every attempt (a crash in native code, killed for memory) is "
        "left out and reported as unreadable (the run then exits 1) instead of stopping the run before dedup; "
        "a failed task of several small files is read again one file per task, so only the file that fails alone "
        "is left out. A rerun tries it again."))
