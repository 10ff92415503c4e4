"""The `sciloom` command: `sciloom run RECIPE` for a whole run, plus one command per tool."""
from __future__ import annotations

import importlib
import logging
import os
import sys
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
    "sciloom.report_command",
    "sciloom.publish_command",
    "sciloom.plan_training_command",
    "sciloom.train_expert_command",
)

# Anticipated failures, by qualified class name (so that no module is imported just to name its error): the message
# says everything, so the user sees it without a traceback; a traceback means a bug. Exit codes: 1 the data failed
# (tasks, every request, a plan the corpus cannot meet, corrupt shards, a full disk); 2 what the command was given
# cannot be used (usage, recipe, missing input, unreachable cluster, models of another taxonomy).
EXIT_CODES = {
    "sciloom.curation.executor.StageFailed": 1,
    "sciloom.mixer.plan.InfeasiblePlan": 1,
    "sciloom.mixer.pipeline.MixtureMissedTargets": 1,
    "sciloom.mixer.pipeline.MixerBuildExists": 2,
    "sciloom.mixer.indexed_dataset.ShardFormatError": 1,
    "sciloom.mixer.verify.VerificationFailed": 1,
    "sciloom.mixer.manifest.ShardFolderMissing": 1,
    "sciloom.classifiers.judge.JudgeEndpointDown": 1,
    "sciloom.classifiers.judge_stage.JudgeLabelsUnusable": 1,
    "sciloom.curation.atomic_write.NoSpaceLeft": 1,
    "sciloom.publish.PublishFailed": 1,
    "sciloom.publish.DestinationUnreachable": 2,
    "sciloom.recipe_errors.RecipeError": 2,
    "sciloom.curation.inputs.InputNotFound": 2,
    "sciloom.curation.inputs.InputListedTwice": 2,
    "sciloom.curation.inputs.InputsUnreachable": 2,
    "sciloom.curation.ray_runtime.RayConnectionError": 2,
    "sciloom.run_lock.RunLocked": 2,
    "sciloom.runner.PhaseNotRun": 2,
    "sciloom.runner.RedoRefused": 2,
    "sciloom.classifiers.fasttext_model.TaxonomyMismatch": 2,
    "sciloom.classifiers.fasttext_model.ModelNotFound": 2,
    "sciloom.trainer.memory_plan.TrainingWontFit": 2,
    "sciloom.trainer.memory_plan.ModelShapeUnreadable": 2,
    "sciloom.trainer.hf_io.HFModelUnreadable": 2,
    "sciloom.trainer.train_loop.TrainedWithOtherSettings": 2,
    "sciloom.trainer.pipeline.VocabularyMismatch": 2,
    "sciloom.report.collect.NoRunOutputs": 2,
    "sciloom.mixer.buckets.NoLabelledParts": 2,
}
VERBOSE_ENV = "SCILOOM_VERBOSE"


def main() -> None:
    """The `sciloom` entry point: `app` with anticipated errors turned into one message and an exit code."""
    try:
        app()
    except Exception as error:
        code = exit_code_for(error)
        if code is None:
            raise
        print(f"sciloom: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(code)


def exit_code_for(error: BaseException) -> int | None:
    for cls in type(error).__mro__:
        code = EXIT_CODES.get(f"{cls.__module__}.{cls.__qualname__}")
        if code is not None:
            return code
    return None


@app.callback()
def options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the libraries' logs (Ray workers, "
                                                                           "trafilatura, httpx, ...) on stderr.")] = False
            ) -> None:
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        os.environ[VERBOSE_ENV] = "1"  # read by ensure_ray (worker logs to the driver) in this process


@app.command()
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/demo.yaml.")],
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address; overrides run.ray_address.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option(help="Overrides run.output_dir.")] = None,
    redo: Annotated[Optional[str], typer.Option(
        metavar="PHASE", help="Remove what this phase (curation, classification, mixing or training) and the later "
                              "phases of run.phases wrote in the output folder, then run: they are done again with "
                              "this code and these settings.")] = None,
) -> None:
    """Run a whole recipe: curation → classification → mixing → training. Rerun to resume."""
    from sciloom.recipe import load_recipe_or_exit
    from sciloom.runner import run_recipe

    overrides = {}
    if ray_address:
        overrides["run.ray_address"] = ray_address
    if output_dir:
        overrides["run.output_dir"] = str(output_dir)
    summary = run_recipe(load_recipe_or_exit(recipe, overrides), redo=redo)
    unreadable = summary.get("input_problems", {}).get("unreadable")
    if unreadable:  # everything else ran; but a script must not take this run for a complete one
        typer.echo(f"sciloom run: {len(unreadable)} input file(s) could not be read at all (listed above and in "
                   f"run_report.json's input_problems)", err=True)
        raise typer.Exit(1)


@app.command("check-recipe")
def check_recipe(recipe: Annotated[Path, typer.Argument(help="Recipe YAML to validate.")]) -> None:
    """Validate a recipe without running it."""
    from sciloom.recipe import load_recipe_or_exit
    from sciloom.run_config import EARLIER_PHASE

    loaded = load_recipe_or_exit(recipe)
    typer.echo(f"{recipe}: valid (run '{loaded.run.name}', phases {', '.join(loaded.run.phases)})")
    if loaded.run.reuse_from is not None:
        for phase in loaded.run.phases_reusing():
            typer.echo(f"  {phase} reads the {EARLIER_PHASE[phase]} outputs of {loaded.run.reuse_from}")


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
