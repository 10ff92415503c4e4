"""`sciloom upcycle`: a local dense Qwen2 folder in, a Qwen2-MoE folder (transformers / vLLM loadable) out."""
from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path

import torch
import typer
from pydantic import ValidationError

from sciloom.curation.atomic_write import atomic_dir
from sciloom.recipe_errors import one_line
from sciloom.trainer.hf_io import load_hf, read_hf_json, save_hf
from sciloom.trainer.upcycle import UpcycleSpec, upcycle

# Everything else in the dense folder (tokenizer, generation config, ...) is copied so the output is servable.
WEIGHT_AND_CONFIG_FILES = {"config.json", "model.safetensors.index.json"}


class Method(str, Enum):
    copy = "copy"
    virtual_group = "virtual-group"
    drop = "drop"


class RouterInit(str, Enum):
    random = "random"
    uniform = "uniform"


def _storage_dtype(dense_dir: Path) -> torch.dtype:
    hf_config = read_hf_json(dense_dir / "config.json")
    name = hf_config.get("dtype") or hf_config.get("torch_dtype") or "float32"
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"{dense_dir}/config.json: unknown dtype {name!r}")
    return dtype


def _logit_drift(dense, moe, vocab_size: int, seed: int) -> tuple[float, float]:
    """Max and mean |logit difference| on a fixed random token batch (2 x 64), both models in float32."""
    ids = torch.randint(0, vocab_size, (2, 64), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        diff = (moe.eval()(ids).logits_BTV - dense.eval()(ids).logits_BTV).abs()
    return diff.max().item(), diff.mean().item()


def register(app: typer.Typer) -> None:
    @app.command("upcycle")
    def upcycle_command(
        dense: Path = typer.Option(..., "--dense", help="local dense Qwen2 folder (config.json + safetensors)"),
        out: Path = typer.Option(..., "--out", help="output folder (must not exist or be empty)"),
        method: Method = typer.Option(..., "--method"),
        experts: int = typer.Option(..., "--experts", min=1, help="number of routed experts E"),
        granularity: int = typer.Option(1, "--granularity", min=1,
                                        help="G: experts per dense FFN copy (virtual-group, drop)"),
        top_k: int = typer.Option(..., "--top-k", min=1),
        router_init: RouterInit = typer.Option(RouterInit.random, "--router-init"),
        drop_ratio: float = typer.Option(0.5, "--drop-ratio", min=0.0, max=1.0,
                                         help="fraction r re-initialised per expert (drop)"),
        seed: int = typer.Option(0, "--seed"),
    ) -> None:
        """Upcycle a dense Qwen2 model into a Qwen2-MoE model and report how far its logits moved."""
        try:
            spec = UpcycleSpec(
                method=method.value, num_experts=experts, granularity=granularity, top_k=top_k,
                router_init=router_init.value, drop_ratio=drop_ratio, seed=seed,
            )
        except ValidationError as error:
            # Name the options, not the spec's field names: the checks that span fields name every option involved.
            raise typer.BadParameter(one_line(error),
                                     param_hint="'--experts' / '--top-k' / '--granularity'") from None
        if not (dense / "config.json").is_file():
            raise typer.BadParameter(f"{dense} has no config.json", param_hint="--dense")
        if out.exists() and any(out.iterdir()):
            raise typer.BadParameter(f"{out} exists and is not empty", param_hint="--out")
        try:
            dtype = _storage_dtype(dense)
            dense_model = load_hf(dense)
            moe_model = upcycle(dense_model, spec)
        except ValueError as error:  # a folder or a spec that cannot be used: the user's to fix
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        drift_max, drift_mean = _logit_drift(dense_model, moe_model, dense_model.config.vocab_size, seed)
        with atomic_dir(out) as staging:  # an interrupted run never leaves a half-written model
            save_hf(moe_model, staging, dtype=dtype)
            for path in dense.iterdir():
                if path.is_file() and path.name not in WEIGHT_AND_CONFIG_FILES and path.suffix != ".safetensors":
                    shutil.copy2(path, staging / path.name)
        typer.echo(
            f"wrote {out}: Qwen2MoeForCausalLM, {method.value}, E={experts} G={granularity} K={top_k} "
            f"router={router_init.value}; logit drift vs dense (float32, 2x64 random tokens): "
            f"max {drift_max:.3e}, mean {drift_mean:.3e}"
        )
