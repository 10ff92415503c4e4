"""`sciloom plan-training`: memory per rank of every training stage of a recipe, before any GPU is rented."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("plan-training")
    def plan_training_command(
        recipe: Annotated[Path, typer.Argument(help="Recipe YAML whose trainer section to plan.")],
        gpus: Annotated[int, typer.Option(min=1, help="GPUs the run trains on.")],
        gpu_memory: Annotated[float, typer.Option(min=1, help="Memory of each GPU in GB.")],
        gpus_per_node: Annotated[int, typer.Option(min=1, help="GPUs per node.")] = 8,
        host_memory: Annotated[float, typer.Option(min=1, help="Host memory of each node in GB "
                                                   "(used when state is offloaded).")] = 1024.0,
        model_config: Annotated[Path | None, typer.Option(help="The dense model's config.json, when the "
                                                          "recipe's hf_folder is not on this machine.")] = None,
    ) -> None:
        """Print parameters, gradients, optimizer state and activations per rank for each stage; exit 2 if one
        cannot fit."""
        from sciloom.recipe import load_recipe_or_exit
        from sciloom.recipe_errors import RecipeError
        from sciloom.trainer.memory_plan import Cluster, check_fits, format_plan, plan_training

        loaded = load_recipe_or_exit(recipe, check_paths=False)
        if loaded.trainer is None or loaded.mixer is None or loaded.mixer.expert_induction is None:
            raise RecipeError(f"{recipe}: plan-training needs the recipe's trainer and mixer.expert_induction sections")
        disciplines = [d for d, w in loaded.mixer.expert_induction.discipline_weights.items()
                       if w > 0 and d != loaded.classifiers.taxonomy.general_label]
        cluster = Cluster(gpus, gpu_memory, gpus_per_node, host_memory)
        plans = plan_training(loaded.trainer, disciplines, loaded.mixer.seq_len, cluster, model_config)
        typer.echo(format_plan(plans, cluster))
        check_fits(plans, cluster)
        typer.echo("every stage fits")
