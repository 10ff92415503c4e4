from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY, GENERAL, Taxonomy


def test_default_order_and_index():
    tax = DEFAULT_TAXONOMY
    assert tax.disciplines[0] == "mathematics" and tax.disciplines[-1] == GENERAL
    for i, name in enumerate(tax.disciplines):
        assert tax.index(name) == i
    with pytest.raises(KeyError, match="astrology"):
        tax.index("astrology")
    assert GENERAL not in tax.science_disciplines and len(tax.science_disciplines) == tax.size - 1


def test_hash_depends_on_ids_and_order_not_on_mappings():
    tax = DEFAULT_TAXONOMY
    reordered = Taxonomy(disciplines=(tax.disciplines[1], tax.disciplines[0], *tax.disciplines[2:]))
    remapped = Taxonomy(mmlu={"astronomy": "physics"})
    assert reordered.content_hash != tax.content_hash
    assert remapped.content_hash == tax.content_hash
    assert Taxonomy.model_validate(json.loads(tax.model_dump_json())).content_hash == tax.content_hash


def test_arxiv_primary_category_full_name_beats_prefix():
    tax = DEFAULT_TAXONOMY
    assert tax.map_arxiv("hep-th math-ph") == "physics"
    assert tax.map_arxiv("math-ph math.MP") == "physics"
    assert tax.map_arxiv("math.AG") == "mathematics"
    assert tax.map_arxiv("cond-mat.mtrl-sci cond-mat.str-el") == "materials_engineering"
    assert tax.map_arxiv("cond-mat.str-el") == "physics"
    assert tax.map_arxiv(["cs.LG", "stat.ML"]) == "computer_science"
    assert tax.map_arxiv("q-fin.ST") is None
    assert tax.map_arxiv("") is None


def test_mag_fields_agree_or_unmapped():
    tax = DEFAULT_TAXONOMY
    assert tax.map_mag(["Physics"]) == "physics"
    assert tax.map_mag(["Materials Science", "Engineering"]) == "materials_engineering"
    assert tax.map_mag(["Biology", "Medicine"]) is None
    assert tax.map_mag(["Sociology"]) is None
    assert tax.map_mag(None) is None


def test_mmlu_mapping_covers_real_subjects(shared_data):
    subjects = {p.name.removesuffix("_dev.csv") for p in (shared_data / "disciplines/mmlu-dev-val/data/dev").glob("*.csv")}
    assert len(subjects) == 57
    assert set(DEFAULT_TAXONOMY.mmlu) <= subjects  # no mapping key is a typo
    mapped = {DEFAULT_TAXONOMY.map_mmlu(s) for s in subjects} - {None}
    assert mapped == set(DEFAULT_TAXONOMY.disciplines) - {"earth_environment"}
    # every subject the module docstring names as mixed is really a subject and really left unmapped
    mixed = {"econometrics", "formal_logic", "logical_fallacies", "high_school_psychology", "professional_psychology",
             "human_sexuality", "high_school_geography", "human_aging"}
    assert mixed <= subjects and not {DEFAULT_TAXONOMY.map_mmlu(s) for s in mixed} - {None}


def test_invalid_taxonomies_are_clear_errors():
    with pytest.raises(ValidationError, match="unknown discipline ids"):
        Taxonomy(mag={"Physics": "physix"})
    with pytest.raises(ValidationError, match="general_label"):
        Taxonomy(disciplines=("physics", "chemistry"))
    with pytest.raises(ValidationError, match="duplicate"):
        Taxonomy(disciplines=("physics", "physics", "general"), arxiv={}, mag={}, mmlu={})
    with pytest.raises(ValidationError, match="extra"):
        Taxonomy(colours=("red",))
