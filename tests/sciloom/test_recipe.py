"""Recipes: the bundled ones validate; broken ones are reported with file, line, field and expectation."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sciloom.recipe import Recipe, RecipeError, load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize("name", sorted(path.name for path in RECIPES.glob("*.yaml")))
def test_bundled_recipes_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every YAML file in recipes/ is a run recipe (a benchmark's configuration there read as 18 recipe errors)."""
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


def test_broken_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    # A tab in the indentation of line 3, column 1: the message points there, not at "<unicode string>".
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, "run:\n  name: t\n\toutput_dir: out\n"))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'r.yaml'}:3:1: not valid YAML: found character '\\t'")
    assert "unicode string" not in message


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("")
    text = BASE.format(input=tmp_path / "in.jsonl") + "  dedup:\n    num_perm: lots\n"
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, text))
    message = str(error.value)
    assert "r.yaml:8: field 'curation.dedup.num_perm'" in message and "valid integer" in message and "'lots'" in message


def test_a_text_field_of_neither_form_gets_one_message(tmp_path: Path) -> None:
    """`text_field` is a name or a list of names: pydantic's own message was one line per form of the union, each
    under a field path no recipe has (`text_field.constrained-str`)."""
    (tmp_path / "in.jsonl").write_text("")
    text = BASE.format(input=tmp_path / "in.jsonl") + "      text_field: {title: 1}\n"
    with pytest.raises(RecipeError) as error:
        load_recipe(_write(tmp_path, text))
    assert str(error.value).splitlines()[1:] == [
        f"  - {tmp_path / 'r.yaml'}:7: field 'curation.inputs.0.text_field': a field name, or a list of field names "
        "such as [title, abstract] (got dict)"]


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
    # A run of later phases only (training on a GPU node) never reads the inputs: they need not be there.
    text = BASE.format(input="nowhere.warc.gz").replace("output_dir: out", "output_dir: out\n  phases: [classification]")
    assert load_recipe(_write(tmp_path, text)).run.phases == ["classification"]


def _demo_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit) -> Path:
    """The demo recipe, run from the repository root, with one edit applied to its text."""
    monkeypatch.chdir(RECIPES.parent)
    path = tmp_path / "demo.yaml"
    path.write_text(edit((RECIPES / "demo.yaml").read_text()))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_rejected_with_their_line(value: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace(
        "discipline_weights: {mathematics: 1,", f"discipline_weights: {{mathematics: {value},", 1).replace(
        "high_share: 0.3", f"high_share: {value}"))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    message = str(error.value)
    assert "2 non-finite number(s)" in message
    assert (f"demo.yaml:{_line_of(path, 'mathematics: ' + value)}: field "
            f"'mixer.expert_induction.discipline_weights.mathematics': must be a finite number") in message
    assert f"demo.yaml:{_line_of(path, 'high_share')}: field 'classifiers.tiers.high_share'" in message


def test_a_fixed_cut_in_quantile_mode_is_rejected_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace("    mode: quantile\n",
                                                                       "    mode: quantile\n    high_min: 0.8\n", 1))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    message = str(error.value)
    assert f"demo.yaml:{_line_of(path, 'tiers:')}: field 'classifiers.tiers'" in message
    assert "high_min cannot be set with mode quantile" in message


def test_misspelt_discipline_is_rejected_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace("{mathematics: 1,", "{mathematic: 1,", 1))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    assert (f"demo.yaml:{_line_of(path, 'mathematic: 1')}: field 'mixer.expert_induction.discipline_weights."
            f"mathematic': not a discipline of the taxonomy") in str(error.value)


def test_a_model_smaller_than_the_vocabulary_the_run_trains_is_refused(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The run trained an 8,000-token BPE, then stopped at the first training batch with an IndexError.
    path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace("vocab_size: 2000\n      min_frequency",
                                                                       "vocab_size: 8000\n      min_frequency", 1))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    model_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                      if "vocab_size: 2000" in line)
    assert (f"demo.yaml:{model_line}: field 'trainer.dense.model.vocab_size': 2000 is smaller than the vocabulary "
            "the run trains (mixer.tokenizer.train_bpe.vocab_size: 8000)") in str(error.value)


def test_output_dir_that_is_a_file_or_cannot_be_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for output_dir, expected in ((a_file, "exists and is not a folder"), (a_file / "below", "is a file")):
        path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace("output_dir: runs/demo",
                                                                           f"output_dir: {output_dir}"))
        with pytest.raises(RecipeError) as error:
            load_recipe(path)
        assert f"demo.yaml:{_line_of(path, 'output_dir')}: field 'run.output_dir'" in str(error.value)
        assert expected in str(error.value)



def test_a_models_dir_without_models_is_refused_before_curation_runs(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to be found at the classification phase, after the whole of curation had run."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "discipline.bin").write_bytes(b"")
    (models / "discipline.json").write_text("{}")
    path = _demo_with(tmp_path, monkeypatch, lambda text: text.replace("models_dir: null", f"models_dir: {models}"))
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    assert (f"demo.yaml:{_line_of(path, 'models_dir')}: field 'classifiers.models_dir': '{models}' lacks quality.bin, "
            "quality.json") in str(error.value)
    path.write_text(path.read_text().replace("output_dir: runs/demo", "output_dir: runs/demo\n  phases: [curation]"))
    assert load_recipe(path).run.phases == ["curation"]  # a run that does not classify does not need them
