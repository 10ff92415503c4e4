"""`sciloom mix plan RECIPE_OR_CONFIG`: the mixture plan (table + PNG), no shards; `sciloom shards verify DIR`."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

mix_app = typer.Typer(help="Mixtures: plan the token streams of every training stage.", no_args_is_help=True)
shards_app = typer.Typer(help="Token shards: check them.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(mix_app, name="mix")
    app.add_typer(shards_app, name="shards")


@mix_app.command("plan")
def plan(
    recipe_or_config: Annotated[Path, typer.Argument(help="A recipe YAML (with `run` and `mixer`), or a YAML holding "
                                                          "only the mixer section.")],
    labelled: Annotated[Optional[Path], typer.Option(help="Labelled parts folder; default for a recipe: "
                                                          "<run.output_dir>/classifiers/labelled.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option(help="Where plan.{txt,json,png} (and a trained demo tokenizer) "
                                                         "go; default for a recipe: <run.output_dir>/mixer. A folder "
                                                         "holding a build keeps its plan: the preview goes to "
                                                         "_mixer/plan_preview beside it.")] = None,
) -> None:
    """Print the plan (targets vs planned shares per stream) and save it as PNG, without writing shards."""
    from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
    from sciloom.console import output_console
    from sciloom.curation.ray_runtime import ensure_ray
    from sciloom.mixer.config import MixerConfig
    from sciloom.mixer.pipeline import plan_from_corpus, prepare_tokenizer, preview_dir
    from sciloom.mixer.plan_report import held_out_table, plan_table, write_plan_report
    from sciloom.recipe_errors import RecipeError, describe_validation_error, load_yaml

    data, lines = load_yaml(recipe_or_config)  # a missing file or bad YAML: file:line:column, exit 2
    taxonomy = DEFAULT_TAXONOMY
    if "run" in data:
        from sciloom.recipe import load_recipe_or_exit
        from sciloom.runner import phase_input

        recipe = load_recipe_or_exit(recipe_or_config)
        if recipe.mixer is None:
            typer.echo(f"{recipe_or_config}: the recipe has no `mixer` section", err=True)
            raise typer.Exit(2)
        config, taxonomy = recipe.mixer, recipe.classifiers.taxonomy
        ensure_ray(recipe.run.ray_address, recipe.run.num_cpus)  # the bucket counts are one task per part
        labelled = labelled or phase_input(recipe.run, "mixing")
        out_dir = out_dir or recipe.run.output_dir / "mixer"
    else:
        try:
            config = MixerConfig.model_validate(data)
        except ValidationError as error:
            raise RecipeError(describe_validation_error(recipe_or_config, error, lines)) from None
        if labelled is None or out_dir is None:
            typer.echo("a mixer-only config needs --labelled and --out-dir", err=True)
            raise typer.Exit(2)
    tokenizer_file = prepare_tokenizer(config.tokenizer, labelled, out_dir / "tokenizer")
    mixture, _, unusable = plan_from_corpus(config, labelled, tokenizer_file, taxonomy.disciplines, taxonomy.general_label)
    plan_dir = preview_dir(out_dir)
    paths = write_plan_report(mixture, plan_dir)
    console = output_console()
    if plan_dir != out_dir:
        console.print(f"{out_dir} holds a build: its plan files stay those of its shards; this preview is in {plan_dir}")
    console.print(plan_table(mixture))
    console.print(held_out_table(mixture))
    for note in mixture.notes:
        console.print(f"NOTE {note}")
    if unusable:
        console.print(f"documents fitting no bucket: {unusable}")
    console.print(f"chart: {paths['png']}  plan: {paths['json']}")
    if mixture.problems:
        for problem in mixture.problems:
            typer.echo(f"INFEASIBLE {problem}", err=True)
        raise typer.Exit(1)


@shards_app.command("verify")
def verify_command(directory: Annotated[Path, typer.Argument(help="A shard folder, or a folder holding several.")]) -> None:
    """Check every checksum and the structure of every shard; a damaged file is named with its byte offset."""
    from sciloom.mixer.verify import VerificationFailed, verify

    try:
        totals = verify(directory)
    except (VerificationFailed, FileNotFoundError, ValueError) as error:
        typer.echo(f"FAILED {error}", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps({"ok": True, **totals}) + "\n")
