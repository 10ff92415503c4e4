"""A recipe: one YAML file describing a whole run, validated section by section.

Every section's model belongs to the package that runs it; this module only composes them and turns
validation errors into messages that name the file, the line, the field and what was expected.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.curation.config import CurationConfig
from sciloom.mixer.config import MixerConfig
from sciloom.recipe_errors import RecipeError, describe_validation_error, load_yaml
from sciloom.run_config import RunConfig
from sciloom.trainer.config import TrainerConfig


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: RunConfig = Field(description="Output folder, Ray address, seed, phases.")
    curation: CurationConfig = Field(description="Reading, extraction, language id, rules, dedup.")
    classifiers: ClassifiersConfig = Field(default_factory=ClassifiersConfig,
                                           description="Discipline and quality models, LLM judge, tiers.")
    mixer: MixerConfig | None = Field(None, description="Mixtures per training stage, tokenizer, packing, shards "
                                                        "(required when run.phases includes 'mixing').")
    trainer: TrainerConfig | None = Field(None, description="Dense start and Innovator's four stages (required "
                                                            "when run.phases includes 'training').")

    def content_hash(self) -> str:
        """Hash of what the recipe asks for (paths included), recorded in shard manifests. Where a copy of the
        outputs is published is not part of it: publishing a finished run must not make its outputs stale. Nor are
        the stores' options (endpoints, keys) for publishing or reading inputs."""
        canonical = json.dumps(self.model_dump(mode="json", exclude={
            "run": {"publish_to", "publish_options"},
            "curation": {"inputs": {"__all__": {"storage_options"}}}}), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None, check_paths: bool = True) -> Recipe:
    """Read and validate a recipe; `overrides` maps dotted field paths to values (command-line flags).

    check_paths=False skips the checks of inputs and output_dir on this machine (planning a run elsewhere)."""
    path = Path(path)
    data, lines = load_yaml(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    # Before pydantic: a NaN slips through every `ge`/`gt` bound (all comparisons with NaN are false).
    _raise_if_any(path, "non-finite number(s)", [
        f"{_where(path, lines, loc)}: field '{_dotted(loc)}': must be a finite number (got {value})"
        for loc, value in _non_finite_numbers(data)])
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        raise RecipeError(describe_validation_error(path, error, lines)) from None
    for phase, section in (("mixing", "mixer"), ("training", "trainer")):
        if phase in recipe.run.phases and getattr(recipe, section) is None:
            raise RecipeError(f"{path}: field '{section}': required when run.phases includes '{phase}'")
    if check_paths and "curation" in recipe.run.phases:  # only curation reads them (training may run elsewhere)
        _raise_if_any(path, "input(s) not found", _missing_local_inputs(recipe, path, lines))
    _raise_if_any(path, "problem(s) in the recipe",
                  (_output_dir_problems(recipe, path, lines) + _reuse_from_problems(recipe, path, lines)
                   + _missing_models(recipe, path, lines) if check_paths
                   else []) + _unknown_disciplines(recipe, path, lines) + _vocabulary_too_small(recipe, path, lines))
    return recipe


def _raise_if_any(path: Path, what: str, problems: list[str]) -> None:
    if problems:
        raise RecipeError(f"{path}: {len(problems)} {what}:\n" + "\n".join(f"  - {p}" for p in problems))


def _where(path: Path, lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> str:
    line = next((lines[loc[:end]] for end in range(len(loc), 0, -1) if loc[:end] in lines), None)
    return f"{path}:{line}" if line else str(path)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _non_finite_numbers(node: Any, loc: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], float]]:
    if isinstance(node, float) and not math.isfinite(node):
        return [(loc, node)]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    return [found for key, child in children for found in _non_finite_numbers(child, (*loc, key))]


def _output_dir_problems(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """An output folder that is a file, or cannot be created or written, fails here rather than after a phase."""
    out = recipe.run.output_dir
    where = f"{_where(path, lines, ('run', 'output_dir'))}: field 'run.output_dir'"
    if out.exists() and not out.is_dir():
        return [f"{where}: '{out}' exists and is not a folder"]
    existing = next(parent for parent in (out, *out.absolute().parents) if parent.exists())
    if not existing.is_dir():
        return [f"{where}: cannot create '{out}': '{existing}' is a file"]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [f"{where}: cannot {'write in' if existing == out else 'create'} '{out}': no write permission on "
                f"'{existing}'"]
    return []


def _reuse_from_problems(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    reuse = recipe.run.reuse_from
    if reuse is None or reuse.is_dir():
        return []
    return [f"{_where(path, lines, ('run', 'reuse_from'))}: field 'run.reuse_from': '{reuse}' is not a folder (give "
            "the output_dir of the run whose outputs to read)"]


def _missing_models(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """A models_dir without both models would stop the run at classification, after the whole of curation."""
    models_dir = recipe.classifiers.models_dir
    if models_dir is None or "classification" not in recipe.run.phases:
        return []
    from sciloom.classifiers.fasttext_model import model_files

    missing = [path.name for path in model_files(models_dir) if not path.is_file()]
    if not missing:
        return []
    return [f"{_where(path, lines, ('classifiers', 'models_dir'))}: field 'classifiers.models_dir': '{models_dir}' "
            f"lacks {', '.join(missing)} (train models with `sciloom classifiers train`, or leave models_dir unset "
            "for the packaged ones)"]


def _unknown_disciplines(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """discipline_weights keys must be taxonomy ids: a misspelt one would otherwise fail only at mixing."""
    if recipe.mixer is None:
        return []
    known = recipe.classifiers.taxonomy.disciplines
    return [f"{_where(path, lines, ('mixer', stage, 'discipline_weights', name))}: field "
            f"'mixer.{stage}.discipline_weights.{name}': not a discipline of the taxonomy {list(known)}"
            for stage, config in recipe.mixer.stages().items() for name in config.discipline_weights
            if name not in known]


def _vocabulary_too_small(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """A model built from scratch needs an embedding row for every token id the run's own tokenizer gives."""
    if recipe.mixer is None or recipe.trainer is None or recipe.mixer.tokenizer.train_bpe is None \
            or recipe.trainer.dense.model is None or not {"mixing", "training"} <= set(recipe.run.phases):
        return []
    tokens, rows = recipe.mixer.tokenizer.train_bpe.vocab_size, recipe.trainer.dense.model.vocab_size
    if rows >= tokens:
        return []
    loc = ("trainer", "dense", "model", "vocab_size")
    return [f"{_where(path, lines, loc)}: field '{_dotted(loc)}': {rows} is smaller than the vocabulary the run "
            f"trains (mixer.tokenizer.train_bpe.vocab_size: {tokens}); token ids up to {tokens - 1} would index "
            f"past the embedding: set it to at least {tokens}"]


def load_recipe_or_exit(path: str | Path, overrides: dict[str, Any] | None = None,
                        check_paths: bool = True) -> Recipe:
    """For commands: a recipe error is printed as it is (file, line, field) and the command exits with 2."""
    import typer

    try:
        return load_recipe(path, overrides, check_paths)
    except RecipeError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


def _missing_local_inputs(recipe: Recipe, path: Path, lines: dict[tuple[Any, ...], int]) -> list[str]:
    """Local input files that do not exist (URLs and globs are resolved, and reported, when the run starts)."""
    problems = []
    for i, inputs in enumerate(recipe.curation.inputs):
        named = [(("paths", j), p) for j, p in enumerate(inputs.paths)]
        if inputs.paths_file:
            named.append((("paths_file",), inputs.paths_file))
        for field, value in named:
            if "://" in value or any(c in value for c in "*?["):
                continue
            if not Path(value).exists():
                loc = ("curation", "inputs", i, *field)
                problems.append(f"{_where(path, lines, loc)}: field '{_dotted(loc)}': no such file or folder "
                                f"'{value}' (relative paths resolve against {Path.cwd()})")
    return problems


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
