"""Recipes: the bundled ones validate; broken ones are reported with file, line, field and expectation."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sciloom.recipe import Recipe, RecipeError, load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize("name", ["demo.yaml", "cc_qwen7b.yaml"])
def test_bundled_recipes_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(RECIPES.parent)
    if name == "cc_qwen7b.yaml":
        # Its inputs live on a cluster's storage, so the file-existence check cannot pass here: validate the
        # schema of every section, which is what a typo or a wrong type would break.
        recipe = Recipe.model_validate(yaml.safe_load((RECIPES / name).read_text()))
        assert recipe.run.ray_address == "auto" and recipe.trainer.dense.hf_folder is not None
        assert recipe.trainer.innovator.granularity * 8 == 64 and recipe.trainer.innovator.top_k == 8
        return
    recipe = load_recipe(RECIPES / name)
    assert recipe.run.ray_address is None and recipe.trainer is not None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


BASE = """run:
  name: t
  output_dir: out
curation:
  inputs:
    - paths: [{input}]
"""


def test_unknown_key_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("")
    text = BASE.format(input=tmp_path / "in.jsonl") + "  rules:\n    profil: science\n"
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, text))
    message = str(error.value)
    assert f"{tmp_path / 'r.yaml'}:8: field 'curation.rules.profil': unknown key" in message


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("")
    text = BASE.format(input=tmp_path / "in.jsonl") + "  dedup:\n    num_perm: lots\n"
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, text))
    message = str(error.value)
    assert "r.yaml:8: field 'curation.dedup.num_perm'" in message and "valid integer" in message and "'lots'" in message


def test_missing_section_and_missing_input_file(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"field 'curation': required field is missing"):
        load_recipe(_write(tmp_path, "run:\n  name: t\n  output_dir: out\n  phases: [curation]\n"))
    with pytest.raises(RecipeError) as error:  # the default phases include mixing, which needs a mixer
        load_recipe(_write(tmp_path, BASE.format(input="nowhere.warc.gz")))
    assert "field 'mixer': required when run.phases includes 'mixing'" in str(error.value)
    text = BASE.format(input="nowhere.warc.gz").replace("output_dir: out", "output_dir: out\n  phases: [curation]")
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, text))
    assert "r.yaml:7: field 'curation.inputs.0.paths.0': no such file or folder 'nowhere.warc.gz'" in str(error.value)
