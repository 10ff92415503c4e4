"""One training stage: AdamW over the parameters the stage may change, resumable step by step.

A stage writes `metrics.jsonl`, periodic checkpoints and, when finished, `final.safetensors` + `summary.json`.
Run again, a finished stage only reloads its final weights; an interrupted one resumes from its last
checkpoint with the same data order and RNG, so on CPU its loss curve is bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from safetensors.torch import load_model, save_model

from sciloom.curation.atomic_write import atomic_path, write_json_atomic, write_text_atomic

from sciloom.trainer.batches import BatchStream
from sciloom.trainer.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, save_sharded_checkpoint
from sciloom.trainer.compile import compile_for_training
from sciloom.trainer.config import ParallelConfig
from sciloom.trainer.distributed import ParallelContext, barrier, computed_on_main
from sciloom.trainer.objectives import Objective
from sciloom.trainer.optim_config import OptimConfig
from sciloom.trainer.schedule import lr_multiplier
from sciloom.trainer.sharding import local_value, save_trained, sharded_copy, take_final
from sciloom.trainer.weights_source import source_of

TrainablePredicate = Callable[[str], bool]
SHARDED_FINAL = "final"  # a sharded run's final weights: a torch.distributed.checkpoint folder


def train_stage(name: str, model: torch.nn.Module, trainable: TrainablePredicate, stream: BatchStream,
                objective: Objective, config: OptimConfig, out_dir: Path, *, ctx: ParallelContext = ParallelContext(),
                parallel: ParallelConfig = ParallelConfig(), show_progress: bool = True) -> dict[str, Any]:
    """Train `model` in place. With more than one process the stage trains an FSDP2-sharded copy of it
    (trainer/sharding.py) and leaves its weights as a sharded checkpoint in `final/`, which `model` then reads
    (or, on the meta device, points at); one process writes `final.safetensors`."""
    final, summary_path = out_dir / "final.safetensors", out_dir / "summary.json"
    # Every rank starts from the same weights: one of them hashes them.
    _check_same_stage(out_dir, computed_on_main(ctx, lambda: stage_identity(name, config, model, stream)))
    if summary_path.exists():
        # (A meta-device model only exists in sharded runs, whose stages end in SHARDED_FINAL.)
        if (out_dir / SHARDED_FINAL).is_dir():
            take_final(model, out_dir / SHARDED_FINAL)
        else:
            load_model(model, str(final))
        return json.loads(summary_path.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    sharded = ctx.world_size > 1
    trained = sharded_copy(model, ctx, parallel, _offload(name, model, trainable, stream, config, ctx, parallel)
                           ) if sharded else model
    params = _select_trainable(trained, trainable)
    optimizer = _adamw(trained, config)
    step = 0
    resume_from = latest_checkpoint(out_dir / "checkpoints")
    if resume_from is not None:
        state = load_checkpoint(resume_from, trained, optimizer)
        stream.load_state_dict(state["sampler"])
        step = state["step"]
    metrics_path = out_dir / "metrics.jsonl"
    if ctx.is_main:
        _truncate_metrics(metrics_path, step)
    device = ctx.device if sharded else next(model.parameters()).device
    if config.compile:
        compile_for_training(trained)
    # bf16 autocast on GPU (weights and optimizer state stay float32); plain float32 on CPU.
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    started = time.perf_counter()
    tokens_seen = 0
    with Progress(TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.fields[loss]}"), disable=not (show_progress and ctx.is_main)) as progress:
        bar = progress.add_task(name, total=config.steps, completed=step, loss="")
        while step < config.steps:
            lr = config.lr * lr_multiplier(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            batches = [{k: v.to(device) for k, v in stream.next().items()} for _ in range(config.grad_accum)]
            # Average over the units of the whole step (all micro-batches, all ranks), so that accumulation
            # and data parallelism change nothing but speed. FSDP averages gradients over ranks: undo it.
            units = _all_reduce_sum(float(sum(objective.units(b) for b in batches)), ctx)
            scale = ctx.world_size / max(units, 1.0)
            loss_sum, extra_total = 0.0, {}
            for batch in batches:
                with autocast:
                    summed, regulariser, extra = objective(trained, batch)
                (summed * scale + regulariser / config.grad_accum).backward()
                loss_sum += summed.item()
                for key, value in extra.items():
                    extra_total[key] = extra_total.get(key, 0.0) + value / config.grad_accum
                tokens_seen += batch["tokens"].numel()
            loss_total = _all_reduce_sum(loss_sum, ctx) / max(units, 1.0)
            grad_norm = local_value(
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip if config.grad_clip > 0 else float("inf")))
            optimizer.step()
            step += 1
            progress.update(bar, advance=1, loss=f"loss {loss_total:.4f}")
            if ctx.is_main and (step % config.log_every == 0 or step == config.steps):
                record = {"stage": name, "step": step, "loss": loss_total, "lr": lr, "grad_norm": float(grad_norm),
                          "tokens_per_s": tokens_seen * ctx.world_size / (time.perf_counter() - started), **extra_total}
                with metrics_path.open("a") as f:
                    f.write(json.dumps(record) + "\n")
            if step % config.checkpoint_every == 0 and step < config.steps:
                if sharded:
                    save_sharded_checkpoint(out_dir / "checkpoints", step, trained, optimizer,
                                            {"sampler": stream.state_dict()})
                elif ctx.is_main:
                    save_checkpoint(out_dir / "checkpoints", step, model, optimizer, {"sampler": stream.state_dict()})
    summary = {"stage": name, "steps": config.steps, "trainable_parameters": sum(p.numel() for p in params),
               "final_loss": _last_loss(metrics_path), "seconds": round(time.perf_counter() - started, 2)}
    del params
    if sharded:
        save_trained(trained, model, out_dir / SHARDED_FINAL)
        del trained, optimizer
    elif ctx.is_main:
        with atomic_path(final) as tmp:
            save_model(model, str(tmp))
    if ctx.is_main:
        write_json_atomic(summary_path, summary)
    barrier(ctx)
    return summary


def _offload(name: str, model: torch.nn.Module, trainable: TrainablePredicate, stream: BatchStream,
             config: OptimConfig, ctx: ParallelContext, parallel: ParallelConfig) -> bool:
    """Whether this stage keeps its sharded state in host memory: as the memory plan decides for these devices."""
    from sciloom.trainer.memory_plan import plan_stage, this_machine  # memory_plan imports the stages

    if parallel.cpu_offload != "auto":
        return parallel.cpu_offload == "always"
    tokens = config.batch_size * int(stream.dataset.manifest["seq_len"])
    return plan_stage(name, model, trainable, this_machine(ctx.world_size), tokens,
                      checkpointing=parallel.activation_checkpointing, expert_parallel=parallel.expert_parallel).offload


def stage_identity(name: str, config: OptimConfig, model: torch.nn.Module, stream: BatchStream) -> dict[str, Any]:
    """What a stage's output depends on: its settings, the shards it reads and the weights it starts from.

    Data and weights are fingerprinted so that a folder trained on other shards (the mixer rebuilt them) or from
    another starting point (an earlier stage changed) is never silently reused or resumed.
    """
    return {"stage": name, **config.model_dump(mode="json"), "data": shards_fingerprint(stream),
            "start_weights": weights_fingerprint(model)}


def shards_fingerprint(stream: BatchStream) -> str:
    """sha256 over the stream's content checksums (tokenizer, sequence layout, every file's checksums)."""
    manifest = stream.dataset.manifest
    content = {key: manifest[key] for key in ("tokenizer_sha256", "seq_len", "disciplines")}
    content["parts"] = [part["files"] for part in manifest["parts"]]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def weights_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer, by name (a 7B model costs one pass over its bytes per stage); for a
    model whose weights are files, over those files."""
    source = source_of(model)
    if source is not None:
        return source.fingerprint()
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class TrainedWithOtherSettings(ValueError):
    """A stage folder made with other settings, data or start: neither reused nor resumed (exit 2)."""


def _check_same_stage(out_dir: Path, identity: dict[str, Any]) -> None:
    """Reuse and resume are only right for the same stage: refuse a folder made with other settings, data or start."""
    path = out_dir / "stage_config.json"
    # A stage that stopped before its first checkpoint (an error at its first batch) trained nothing worth keeping:
    # it starts again under the new settings rather than make the user delete it.
    trained = out_dir.is_dir() and (latest_checkpoint(out_dir / "checkpoints") is not None or any(
        p.name not in ("stage_config.json", "metrics.jsonl", "checkpoints") for p in out_dir.iterdir()))
    if path.exists() and trained:
        saved = json.loads(path.read_text())
        if saved != identity:
            changed = sorted(k for k in identity.keys() | saved.keys() if identity.get(k) != saved.get(k))
            raise TrainedWithOtherSettings(f"{out_dir} holds stage {saved.get('stage')!r} trained with other settings "
                                           f"(changed: {', '.join(changed)}); use a new output folder or delete "
                                           "this one")
    else:
        write_json_atomic(path, identity)
        (out_dir / "metrics.jsonl").unlink(missing_ok=True)


def _all_reduce_sum(value: float, ctx: ParallelContext) -> float:
    if ctx.world_size == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return float(tensor.item())


def _select_trainable(model: torch.nn.Module, trainable: TrainablePredicate) -> list[torch.nn.Parameter]:
    params = []
    for name, param in model.named_parameters():
        param.requires_grad_(trainable(name))
        if param.requires_grad:
            params.append(param)
    if not params:
        raise ValueError("this stage would train no parameter: check its freezing rule")
    return params


def _adamw(model: torch.nn.Module, config: OptimConfig) -> torch.optim.AdamW:
    """Decay matrices only: norms, biases and router vectors keep their scale."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # fused: one kernel over all parameters (4x faster than foreach on CPU for a small MoE step).
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.lr, betas=config.betas, fused=True)


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop lines logged after the checkpoint being resumed: they will be logged again, identically."""
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def _last_loss(path: Path) -> float | None:
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return json.loads(lines[-1])["loss"] if lines else None
