"""Innovator's four stages on the mixer's streams: induce, split, warm up routing, integrate.

Stream folders (written by the mixer): `expert_induction/<discipline>/`, `routing_warmup/`, `integration/`;
routing accuracy after stage 3 is measured on `held_out/` (documents in none of them).
Each stage trains through `train_loop.train_stage`, so each is resumable and skipped once finished.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from sciloom.curation.atomic_write import write_json_atomic
from sciloom.mixer.manifest import (MANIFEST_FILE, MIXER_REPORT_FILE, ShardFolderMissing, promised_folders,
                                    read_manifest)
from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.trainer.batches import BatchStream
from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.distributed import ParallelContext, barrier
from sciloom.trainer.evaluate import routing_accuracy
from sciloom.trainer.induced_ffn_files import InducedFFNFile, write_induced_ffn
from sciloom.trainer.model import CausalLM
from sciloom.trainer.objectives import LanguageModeling, RoutingWarmup
from sciloom.trainer.train_loop import train_stage
from sciloom.trainer.sharding import runnable
from sciloom.trainer.upcycle import FFN_KEYS, assemble_innovator, innovator_on_disk

INDUCED_FFN_FILE = "induced_ffn.safetensors"
BALANCE_OPTIONS = ("all_experts", "within_groups", "none")


def dense_ffn_weights(model: CausalLM) -> list[dict[str, torch.Tensor]]:
    """Per layer, the dense SwiGLU weights under their Hugging Face names."""
    state = model.state_dict()
    return [{proj: state[f"model.layers.{i}.mlp.{proj}.weight"].detach().clone() for proj in FFN_KEYS}
            for i in range(model.config.num_layers)]


def is_ffn_parameter(name: str) -> bool:
    return ".mlp." in name


def is_router_parameter(name: str) -> bool:
    return name.endswith(".mlp.gate.weight")


def expert_groups(expert_disciplines: list[str], granularity: int, disciplines: list[str]) -> torch.Tensor:
    """Taxonomy index of the discipline that owns each routed expert (experts are discipline-major)."""
    return torch.tensor([disciplines.index(d) for d in expert_disciplines for _ in range(granularity)])


def induction_disciplines(shards_dir: Path) -> list[str]:
    """Science disciplines that have a stream: each becomes a group of experts. `general` is the shared expert's.

    The mixer's report names the streams it wrote: one missing on disk stops training (it would silently lose
    that discipline's experts). Shards made without the mixer (no report) are taken as the folders found. A stream
    written empty (documents are taken whole, and the draw took none: the mixer says so) has no experts.
    """
    root = shards_dir / "expert_induction"
    promised = promised_folders(shards_dir)
    if promised is None:
        return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "general") if root.is_dir() else []
    missing = [name for name in promised if not (shards_dir / name / MANIFEST_FILE).is_file()]
    if missing:
        raise ShardFolderMissing(f"{shards_dir}: the mixer wrote {', '.join(missing)} ({MIXER_REPORT_FILE}) but "
                                f"{'it is' if len(missing) == 1 else 'they are'} not on disk: rerun the mixing phase")
    prefix = "expert_induction/"
    return sorted(name.removeprefix(prefix) for name in promised
                  if name.startswith(prefix) and name != prefix + "general" and _holds_sequences(shards_dir / name))


def _holds_sequences(folder: Path) -> bool:
    return read_manifest(folder).get("sequences", 1) > 0


def induce_expert(config: TrainerConfig, dense: CausalLM, shards_dir: Path, out_dir: Path, discipline: str,
                  seed: int, ctx: ParallelContext) -> tuple[dict[str, Any], InducedFFNFile]:
    """Stage 1 for one discipline, a job of its own: a copy of the dense model trains its FFNs on the discipline's
    stream and hands them on through a bf16 file (the split then reads one layer at a time). Run apart
    (`sciloom train-expert`), it leaves a finished stage that the whole run reuses."""
    inn = config.innovator
    offset = induction_disciplines(shards_dir).index(discipline) + 1  # the same sampler seed in either way
    stage_dir = out_dir / "1_expert_induction" / discipline
    expert_model = copy.deepcopy(dense)
    stream = BatchStream(PackedShardDataset(shards_dir / "expert_induction" / discipline),
                         inn.expert_induction.batch_size, seed + offset, rank=ctx.rank, world_size=ctx.world_size)
    summary = train_stage(f"expert induction: {discipline}", expert_model, is_ffn_parameter, stream,
                          LanguageModeling(), inn.expert_induction, stage_dir, ctx=ctx, parallel=config.parallel)
    ffn_file = stage_dir / INDUCED_FFN_FILE
    if ctx.is_main and not ffn_file.is_file():
        write_induced_ffn(expert_model, ffn_file)
    barrier(ctx)
    return summary, InducedFFNFile(ffn_file)


def run_stages(config: TrainerConfig, dense: CausalLM, shards_dir: Path, out_dir: Path, disciplines: list[str],
               seed: int, ctx: ParallelContext, held_out_batches: Callable[[], Iterable[dict[str, torch.Tensor]]],
               *, routed_scale: float = 1.0, learned_routed_scale: bool = False, warmup_loss: str = "separation",
               balance: str = "all_experts") -> tuple[CausalLM, dict[str, Any]]:
    """The four stages; `held_out_batches()` gives the held-out batches routing accuracy is measured on.

    Ablation options (benchmarks/replicate_upcycling.py measures them; the defaults are the method's):
    `routed_scale` multiplies the routed experts' down_proj after the split (assemble_innovator), and
    `learned_routed_scale` adds a learnable scalar per layer on the routed sum (trained in stage 4);
    `warmup_loss` picks stage 3's loss (objectives.RoutingWarmup); `balance` is stage 4's load balancing:
    "all_experts" (the model's own loss), "within_groups" (objectives.LanguageModeling's group_balance, same
    weight) or "none".
    """
    if balance not in BALANCE_OPTIONS:
        raise ValueError(f"balance {balance!r}: expected one of {', '.join(BALANCE_OPTIONS)}")
    inn = config.innovator

    def stream(path: Path, batch_size: int, offset: int) -> BatchStream:
        return BatchStream(PackedShardDataset(path), batch_size, seed + offset, rank=ctx.rank, world_size=ctx.world_size)

    report: dict[str, Any] = {"stages": {}}
    induced: dict[str, InducedFFNFile] = {}
    expert_disciplines = induction_disciplines(shards_dir)
    if not expert_disciplines:
        raise ValueError(f"no expert-induction streams under {shards_dir / 'expert_induction'}: the mixer wrote none")
    for discipline in expert_disciplines:
        report["stages"][f"1_expert_induction/{discipline}"], induced[discipline] = induce_expert(
            config, dense, shards_dir, out_dir, discipline, seed, ctx)

    shape = dict(granularity=inn.granularity, top_k=inn.top_k, z_loss_weight=inn.z_loss_weight,
                 aux_loss_weight=inn.aux_loss_weight if balance == "all_experts" else 0.0,
                 learned_routed_scale=learned_routed_scale)
    if ctx.world_size == 1:
        moe = assemble_innovator(dense, induced, routed_scale=routed_scale, **shape).to(ctx.device)
    else:
        # Sharded training never builds the MoE: rank 0 writes it layer by layer, every rank loads its slices.
        split_dir = out_dir / "2_expert_split" / "moe"
        if ctx.is_main:
            assemble_innovator(dense, induced, routed_scale=routed_scale, into=split_dir, **shape)
        barrier(ctx)
        moe = innovator_on_disk(dense.config, len(induced), split_dir, **shape)
    report["stages"]["2_expert_split"] = {"experts": len(expert_disciplines) * inn.granularity,
                                          "expert_disciplines": expert_disciplines, "granularity": inn.granularity}
    write_json_atomic(out_dir / "expert_map.json", report["stages"]["2_expert_split"])
    group_E = expert_groups(expert_disciplines, inn.granularity, disciplines)

    warmup_dir = shards_dir / "routing_warmup"
    report["stages"]["3_routing_warmup"] = train_stage(
        "routing warmup", moe, is_router_parameter, stream(warmup_dir, inn.routing_warmup.batch_size, 100),
        RoutingWarmup(group_E, loss=warmup_loss), inn.routing_warmup, out_dir / "3_routing_warmup", ctx=ctx,
        parallel=config.parallel)
    accuracy = routing_accuracy(runnable(moe, ctx, config.parallel), held_out_batches(), group_E, disciplines)
    accuracy["meets_target"] = accuracy["accuracy"] >= config.routing_accuracy_target
    report["routing_accuracy_after_warmup"] = accuracy

    report["stages"]["4_integration"] = train_stage(
        "generalist-scientist integration", moe, lambda name: True,
        stream(shards_dir / "integration", inn.integration.batch_size, 200),
        LanguageModeling((group_E, inn.aux_loss_weight) if balance == "within_groups" else None), inn.integration,
        out_dir / "4_integration", ctx=ctx, parallel=config.parallel)
    report["expert_group"] = group_E.tolist()
    return moe, report
