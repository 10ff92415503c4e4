"""`sciloom train-expert`: Innovator's stage 1 for one discipline, as a job of its own."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("train-expert")
    def train_expert(
        recipe: Annotated[Path, typer.Argument(help="Recipe whose mixing phase has run.")],
        discipline: Annotated[str, typer.Option(help="The discipline whose expert to induce.")],
    ) -> None:
        """Induce one discipline's expert (stage 1) from the recipe's mixed shards, e.g. one job per discipline on a
        cluster (under torchrun for several GPUs each); `sciloom run` then reuses every finished one."""
        from sciloom.recipe import load_recipe_or_exit
        from sciloom.runner import phase_input
        from sciloom.trainer.pipeline import run_expert_induction

        # The job reads only the mixer's shards: the curation inputs need not be on this node.
        loaded = load_recipe_or_exit(recipe, check_paths=False)
        if loaded.trainer is None:
            typer.echo(f"{recipe}: field 'trainer': required to train an expert", err=True)
            raise typer.Exit(2)
        out = loaded.run.output_dir
        try:
            summary = run_expert_induction(loaded.trainer, phase_input(loaded.run, "training"), out / "trainer",
                                           discipline, seed=loaded.run.seed)
        except ValueError as error:
            typer.echo(f"sciloom train-expert: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(json.dumps(summary, indent=2))
