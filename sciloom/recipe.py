"""A recipe: one YAML file describing a whole run, validated section by section.

Every section's model belongs to the package that runs it; this module only composes them and turns
validation errors into messages that name the file, the line, the field and what was expected.
"""
from __future__ import annotations

import hashlib
import json
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
        """Hash of what the recipe asks for (paths included), recorded in shard manifests."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read and validate a recipe; `overrides` maps dotted field paths to values (command-line flags)."""
    path = Path(path)
    data, lines = load_yaml(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        raise RecipeError(describe_validation_error(path, error, lines)) from None
    for phase, section in (("mixing", "mixer"), ("training", "trainer")):
        if phase in recipe.run.phases and getattr(recipe, section) is None:
            raise RecipeError(f"{path}: field '{section}': required when run.phases includes '{phase}'")
    missing = _missing_local_inputs(recipe, path, lines)
    if missing:
        raise RecipeError(f"{path}: {len(missing)} input(s) not found:\n" + "\n".join(f"  - {m}" for m in missing))
    return recipe


def load_recipe_or_exit(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """For commands: a recipe error is printed as it is (file, line, field) and the command exits with 2."""
    import typer

    try:
        return load_recipe(path, overrides)
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
                line = lines.get(loc)
                where = f"{path}:{line}" if line else str(path)
                dotted = ".".join(str(part) for part in loc)
                problems.append(f"{where}: field '{dotted}': no such file or folder '{value}' "
                                f"(relative paths resolve against {Path.cwd()})")
    return problems


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
