"""The discipline taxonomy shared by the classifiers, the mixer and the trainer.

A taxonomy is an ordered list of discipline ids (the order fixes label indices, e.g. expert ids) ending
with the label for non-scientific text, plus documented mappings from the label systems of real labelled
corpora onto those ids:

- arXiv categories (`hep-th`, `math.AG`, `cs.LG`, ...): the *primary* (first) category decides. Keys are
  either a full category (`math-ph`, `cond-mat.mtrl-sci`) or an archive prefix (`math`, `cs`); the full
  category wins over its prefix, so `math-ph` is physics while `math.AG` is mathematics.
- Microsoft Academic / S2ORC top-level fields of study (`Physics`, `Materials Science`, ...): a paper is
  mapped when all of its fields that map agree on one discipline; a paper whose fields map to two
  disciplines (Biology + Medicine) is ambiguous and left unmapped. Social sciences and humanities map to
  nothing by default: they are neither natural science nor the "general" web/news text we contrast with.
- MMLU subjects (`college_physics`, `high_school_us_history`, ...): science subjects map to their
  discipline, humanities / law / business / social-science subjects map to `general`, and subjects whose
  questions mix social science with natural science are left unmapped. Choices read off the questions
  themselves (not only the subject name): `anatomy` is human gross anatomy as taught in medical school ->
  medicine; `virology` is mostly epidemiology and public health (study designs, HIV/hepatitis testing) ->
  medicine; `nutrition` is clinical nutrition -> medicine; `medical_genetics` is mostly general genetics
  (meiosis, mutation types, RFLP) -> biology; `astronomy` -> physics (the taxonomy's physics includes
  astronomy); `electrical_engineering` -> materials_engineering (the taxonomy's engineering);
  `high_school_geography` is mostly human geography (migration, culture, land use) with some climate, and
  `human_aging` mostly the psychology and sociology of ageing with some health: both left unmapped.

Unmapped labels return None: callers count them as skipped, never guess.

The content hash covers the ordered discipline ids only: a model's output space is those ids, so a model
is valid under any taxonomy with the same ids in the same order, whatever the mappings used to train it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GENERAL = "general"

DEFAULT_DISCIPLINES: tuple[str, ...] = (
    "mathematics",
    "physics",  # with astronomy
    "chemistry",
    "biology",
    "medicine",
    "computer_science",
    "earth_environment",
    "materials_engineering",
    GENERAL,
)

DEFAULT_ARXIV: dict[str, str] = {
    # archive prefixes
    "math": "mathematics",
    "stat": "mathematics",
    "physics": "physics",
    "astro-ph": "physics",
    "cond-mat": "physics",
    "gr-qc": "physics",
    "hep-ex": "physics",
    "hep-lat": "physics",
    "hep-ph": "physics",
    "hep-th": "physics",
    "math-ph": "physics",
    "nlin": "physics",
    "nucl-ex": "physics",
    "nucl-th": "physics",
    "quant-ph": "physics",
    "cs": "computer_science",
    "q-bio": "biology",
    "eess": "materials_engineering",
    # full categories that leave their archive's discipline
    "stat.ML": "computer_science",
    "cond-mat.mtrl-sci": "materials_engineering",
    "physics.chem-ph": "chemistry",
    "physics.bio-ph": "biology",
    "physics.med-ph": "medicine",
    "physics.ao-ph": "earth_environment",
    "physics.geo-ph": "earth_environment",
    "physics.app-ph": "materials_engineering",
}

DEFAULT_MAG: dict[str, str] = {
    "Mathematics": "mathematics",
    "Physics": "physics",
    "Chemistry": "chemistry",
    "Biology": "biology",
    "Medicine": "medicine",
    "Computer Science": "computer_science",
    "Geology": "earth_environment",
    "Environmental Science": "earth_environment",
    "Geography": "earth_environment",
    "Materials Science": "materials_engineering",
    "Engineering": "materials_engineering",
}

DEFAULT_MMLU: dict[str, str] = {
    "abstract_algebra": "mathematics",
    "college_mathematics": "mathematics",
    "elementary_mathematics": "mathematics",
    "high_school_mathematics": "mathematics",
    "high_school_statistics": "mathematics",
    "astronomy": "physics",
    "college_physics": "physics",
    "conceptual_physics": "physics",
    "high_school_physics": "physics",
    "college_chemistry": "chemistry",
    "high_school_chemistry": "chemistry",
    "college_biology": "biology",
    "high_school_biology": "biology",
    "medical_genetics": "biology",
    "clinical_knowledge": "medicine",
    "college_medicine": "medicine",
    "professional_medicine": "medicine",
    "anatomy": "medicine",
    "virology": "medicine",
    "nutrition": "medicine",
    "college_computer_science": "computer_science",
    "high_school_computer_science": "computer_science",
    "computer_security": "computer_science",
    "machine_learning": "computer_science",
    "electrical_engineering": "materials_engineering",
    # non-science subjects: the contrast class
    **{subject: GENERAL for subject in (
        "business_ethics", "global_facts", "high_school_european_history",
        "high_school_government_and_politics", "high_school_macroeconomics", "high_school_microeconomics",
        "high_school_us_history", "high_school_world_history", "international_law", "jurisprudence",
        "management", "marketing", "miscellaneous", "moral_disputes", "moral_scenarios", "philosophy",
        "prehistory", "professional_accounting", "professional_law", "public_relations", "security_studies",
        "sociology", "us_foreign_policy", "world_religions",
    )},
    # econometrics, formal_logic, logical_fallacies, psychology, human_sexuality, high_school_geography,
    # human_aging: left unmapped (mixed).
}


class Taxonomy(BaseModel):
    """Ordered discipline ids and the mappings from external label systems onto them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disciplines: tuple[str, ...] = Field(
        default=DEFAULT_DISCIPLINES,
        description="Ordered discipline ids; the order is the label index used by models and experts. "
                    "Must contain `general_label`.")
    general_label: str = Field(default=GENERAL, description="The id used for non-scientific text.")
    arxiv: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ARXIV),
        description="arXiv category or archive prefix -> discipline id (full category wins over prefix).")
    mag: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MAG),
        description="Microsoft Academic / S2ORC field of study -> discipline id.")
    mmlu: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MMLU),
        description="MMLU subject (file name without split suffix) -> discipline id.")

    @field_validator("disciplines")
    @classmethod
    def _distinct_ids(cls, disciplines: tuple[str, ...]) -> tuple[str, ...]:
        if len(disciplines) < 2:
            raise ValueError("a taxonomy needs at least one discipline besides the general label")
        duplicates = sorted({d for d in disciplines if disciplines.count(d) > 1})
        if duplicates:
            raise ValueError(f"duplicate discipline ids: {duplicates}")
        bad = [d for d in disciplines if not d or any(c.isspace() for c in d)]
        if bad:
            raise ValueError(f"discipline ids must be non-empty and without whitespace: {bad}")
        return disciplines

    @model_validator(mode="after")
    def _mappings_target_known_ids(self) -> Taxonomy:
        if self.general_label not in self.disciplines:
            raise ValueError(f"general_label {self.general_label!r} is not one of disciplines {list(self.disciplines)}")
        known = set(self.disciplines)
        for field_name in ("arxiv", "mag", "mmlu"):
            unknown = sorted({v for v in getattr(self, field_name).values() if v not in known})
            if unknown:
                raise ValueError(f"{field_name} maps onto unknown discipline ids {unknown}; "
                                 f"known ids: {list(self.disciplines)}")
        return self

    @property
    def size(self) -> int:
        return len(self.disciplines)

    @property
    def science_disciplines(self) -> tuple[str, ...]:
        return tuple(d for d in self.disciplines if d != self.general_label)

    def index(self, name: str) -> int:
        try:
            return self.disciplines.index(name)
        except ValueError:
            raise KeyError(f"{name!r} is not a discipline of this taxonomy {list(self.disciplines)}") from None

    @property
    def content_hash(self) -> str:
        """Identity of the label space (ordered ids + general label); recorded in every model file."""
        payload = "\x1f".join(self.disciplines) + "\x1e" + self.general_label
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def map_arxiv(self, categories: str | Iterable[str]) -> str | None:
        """Discipline of a paper from its arXiv categories (space-separated string or list; first = primary)."""
        cats = categories.split() if isinstance(categories, str) else list(categories)
        if not cats:
            return None
        primary = cats[0]
        if primary in self.arxiv:
            return self.arxiv[primary]
        return self.arxiv.get(primary.split(".", 1)[0])

    def map_mag(self, fields: str | Iterable[str] | None) -> str | None:
        """Discipline from MAG fields of study; None when unmapped or when mapped fields disagree."""
        if fields is None:
            return None
        names = [fields] if isinstance(fields, str) else list(fields)
        mapped = {self.mag[f] for f in names if f in self.mag}
        return mapped.pop() if len(mapped) == 1 else None

    def map_mmlu(self, subject: str) -> str | None:
        return self.mmlu.get(subject)


DEFAULT_TAXONOMY = Taxonomy()
