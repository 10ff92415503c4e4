"""The trainer phase of a run: dense start → Innovator's four stages → evaluation → Hugging Face export.

Evaluation reads the mixer's `held_out/` stream: documents that no training stream of any stage holds.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from sciloom.curation.atomic_write import write_json_atomic
from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.trainer.batches import BatchStream, dataset_batches, held_out_dataset
from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.distributed import ParallelContext, barrier, init_from_environment
from sciloom.trainer.evaluate import evaluate_held_out, save_expert_load_png, save_routing_heatmap
from sciloom.trainer.hf_io import load_hf, save_hf
from sciloom.trainer.innovator import induce_expert, induction_disciplines, run_stages
from sciloom.trainer.memory_plan import check_fits, dense_shape, plan_training, this_machine
from sciloom.trainer.model import CausalLM
from sciloom.trainer.objectives import LanguageModeling
from sciloom.trainer.sharding import runnable
from sciloom.trainer.train_loop import train_stage


def build_dense(config: TrainerConfig, shards_dir: Path, out_dir: Path, seed: int, ctx: ParallelContext) -> CausalLM:
    torch.manual_seed(seed)  # a model built from scratch gets the same weights on every rerun
    if config.dense.hf_folder is not None:
        dense = load_hf(config.dense.hf_folder)
    else:
        assert config.dense.model is not None
        dense = CausalLM(config.dense.model)
    dense.to(ctx.device)
    if config.dense.pretrain is not None:
        stream = BatchStream(PackedShardDataset(shards_dir / "integration"), config.dense.pretrain.batch_size, seed,
                             rank=ctx.rank, world_size=ctx.world_size)
        train_stage("dense pretraining", dense, lambda name: True, stream, LanguageModeling(), config.dense.pretrain,
                    out_dir / "0_dense_pretrain", ctx=ctx, parallel=config.parallel)
    return dense


class VocabularyMismatch(ValueError):
    """The shards hold token ids the model has no embedding for."""


def check_vocabulary(config: TrainerConfig, shards_dir: Path) -> None:
    """Token ids past the embedding stop training at its first batch with an IndexError from deep in PyTorch:
    said before any work, with what to change."""
    shards = int(held_out_dataset(shards_dir).manifest["vocab_size"])
    rows = dense_shape(config).vocab_size
    if rows >= shards:
        return
    fix = (f"set trainer.dense.model.vocab_size to at least {shards}" if config.dense.hf_folder is None else
           f"tokenize with the model's own tokenizer (mixer.tokenizer.path: {config.dense.hf_folder}/tokenizer.json)")
    raise VocabularyMismatch(f"the shards in {shards_dir} were tokenized with a vocabulary of {shards} tokens, but the "
                             f"dense model's embedding has {rows} rows: {fix}")


def run_expert_induction(config: TrainerConfig, shards_dir: Path, out_dir: Path, discipline: str,
                         seed: int = 0) -> dict[str, Any]:
    """Stage 1 for one discipline alone (one job per discipline on a cluster); `run_training` then reuses it."""
    ctx = init_from_environment()
    streams = induction_disciplines(shards_dir)
    if not streams:
        raise ValueError(f"{shards_dir}: no expert-induction streams; the recipe's mixing phase has not run here")
    if discipline not in streams:
        raise ValueError(f"{shards_dir}: no expert-induction stream for {discipline!r} (streams: {', '.join(streams)})")
    check_vocabulary(config, shards_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dense = build_dense(config, shards_dir, out_dir, seed, ctx)
    summary, _ = induce_expert(config, dense, shards_dir, out_dir, discipline, seed, ctx)
    return summary


def run_training(config: TrainerConfig, shards_dir: Path, out_dir: Path, disciplines: list[str],
                 seed: int = 0) -> dict[str, Any]:
    ctx = init_from_environment()
    # Before any training (dense pretraining included): every stream the mixer wrote must still be there,
    # and every stage must fit in the memory of the devices this run has.
    expert_disciplines = induction_disciplines(shards_dir)
    held_out = held_out_dataset(shards_dir)
    cluster = this_machine(ctx.world_size)
    check_fits(plan_training(config, expert_disciplines, int(held_out.manifest["seq_len"]), cluster), cluster)
    check_vocabulary(config, shards_dir)

    def held_out_batches() -> Iterator[dict[str, torch.Tensor]]:
        return dataset_batches(held_out, config.eval_batch_size, config.eval_max_sequences)

    out_dir.mkdir(parents=True, exist_ok=True)
    dense = build_dense(config, shards_dir, out_dir, seed, ctx)
    dense_eval = evaluate_held_out(dense, held_out_batches(), disciplines)

    moe, report = run_stages(config, dense, shards_dir, out_dir, disciplines, seed, ctx, held_out_batches)
    moe_eval = evaluate_held_out(runnable(moe, ctx, config.parallel), held_out_batches(), disciplines)
    report["held_out"] = {"stream": str(held_out.directory), "sequences": len(held_out),
                          "documents_by_discipline": held_out.manifest["documents_by"]["discipline"],
                          "dense": dense_eval, "moe": moe_eval}
    if ctx.is_main:
        owners = [disciplines[d] for d in report["expert_group"]]
        save_routing_heatmap(moe_eval["routing_counts"], disciplines, out_dir / "routing_heatmap.png", owners)
        save_expert_load_png(moe_eval["expert_load"], out_dir / "expert_load.png")
        # The mixer packs documents with the tokenizer's EOS (the shards' pad_id): generation must stop on it.
        if moe.config.eos_token_id is None:
            moe.config = moe.config.model_copy(update={"eos_token_id": held_out.manifest["pad_id"]})
        save_hf(moe, out_dir / "hf_moe")
        write_json_atomic(out_dir / "report.json", report)
    # Every rank returns once the outputs exist: a rank that left while rank 0 was still writing them could tear
    # down the process group under it (gloo aborted such a rank: "terminate called without an active exception").
    barrier(ctx)
    return {
        "report": str(out_dir / "report.json"),
        "hf_model": str(out_dir / "hf_moe"),
        "routing_accuracy_after_warmup": report["routing_accuracy_after_warmup"]["accuracy"],
        "routing_accuracy_majority_baseline": report["routing_accuracy_after_warmup"]["majority_baseline"],
        "held_out_loss_dense": dense_eval["loss"],
        "held_out_loss_moe": moe_eval["loss"],
    }
