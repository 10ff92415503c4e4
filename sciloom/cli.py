"""The `sciloom` command: `sciloom run RECIPE` for a whole run, plus one command per tool."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="sciloom",
    help="Scientific continued pretraining: curate crawls on Ray, classify quality and discipline, mix token "
         "shards, and upcycle a dense model into a fine-grained MoE. Start with `sciloom run recipes/demo.yaml`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each tool's commands live beside the code they drive; every module exposes register(app).
COMMAND_MODULES = (
    "sciloom.sample_command",
    "sciloom.extract_command",
    "sciloom.dedup_command",
    "sciloom.classifiers_commands",
    "sciloom.judge_command",
    "sciloom.mix_commands",
    "sciloom.upcycle_command",
    "sciloom.inspect_command",
)


@app.command()
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/demo.yaml.")],
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address; overrides run.ray_address.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option(help="Overrides run.output_dir.")] = None,
) -> None:
    """Run a whole recipe: curation → classification → mixing → training. Rerun to resume."""
    from sciloom.curation.executor import StageFailed
    from sciloom.curation.inputs import InputNotFound
    from sciloom.curation.ray_runtime import RayConnectionError
    from sciloom.mixer.plan import InfeasiblePlan
    from sciloom.recipe import load_recipe_or_exit
    from sciloom.runner import run_recipe

    overrides = {}
    if ray_address:
        overrides["run.ray_address"] = ray_address
    if output_dir:
        overrides["run.output_dir"] = str(output_dir)
    loaded = load_recipe_or_exit(recipe, overrides)
    try:
        run_recipe(loaded)
    except RayConnectionError as error:
        typer.echo(f"{recipe}: {error}", err=True)
        raise typer.Exit(2) from None
    except (InputNotFound, InfeasiblePlan, StageFailed) as error:
        # Problems with the data or the recipe, explained in full by their message: no traceback needed.
        typer.echo(f"{recipe}: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("check-recipe")
def check_recipe(recipe: Annotated[Path, typer.Argument(help="Recipe YAML to validate.")]) -> None:
    """Validate a recipe without running it."""
    from sciloom.recipe import load_recipe_or_exit

    loaded = load_recipe_or_exit(recipe)
    typer.echo(f"{recipe}: valid (run '{loaded.run.name}', phases {', '.join(loaded.run.phases)})")


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
