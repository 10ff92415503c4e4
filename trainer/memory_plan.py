"""How much memory each training stage needs per rank, before a run: the numbers `sciloom plan-training` prints.

Layout planned (the one trainer/sharding.py builds): FSDP2 over all ranks, one FSDP unit per decoder block and
one for the rest (embeddings, final norm, lm_head); float32 sharded master weights, bf16 compute, float32
gradient reduce-scatter; AdamW's two float32 moments; activation checkpointing per block. Routed experts are
expert-parallel over all N ranks when N divides E (each holds E/N experts of every layer whole, the rest of the
state sharded), which leaves the per-rank state the same size and moves experts out of the per-block all-gather.

When the sharded state does not fit, `cpu_offload: auto` moves weights, gradients and optimizer state to host
memory (FSDP2's CPUOffloadPolicy; the optimizer step then runs on the CPU), which needs host memory instead.

Parameter counts are exact (the model is built on the meta device); activations are an estimate of what our
own forward saves for backward (tests/trainer/test_memory_plan.py compares it with the bytes autograd saves
on a small model), plus a fixed allowance for the CUDA context and allocator fragmentation.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.innovator import is_ffn_parameter, is_router_parameter
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.upcycle import innovator_moe_config

GB = 1024**3
MASTER_BYTES, GRAD_BYTES, ADAM_BYTES, COMPUTE_BYTES, RESIDUAL_BYTES = 4, 4, 8, 2, 4
# CUDA context, NCCL buffers and allocator fragmentation: what a run loses before its first tensor.
RESERVED_BYTES = 6 * GB

# Published shapes, for planning before the weights are downloaded (the folder's own config.json wins).
PUBLISHED_SHAPES = {
    "Qwen2.5-7B": dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_layers=28,
                       num_attention_heads=28, num_key_value_heads=4, tie_word_embeddings=False),
}


@dataclass(frozen=True)
class Cluster:
    """The devices a run trains on. `cpu`: processes on one host, float32 without autocast or checkpointing, as
    the trainer runs there; `gpus` then counts processes and `gpu_memory_gb` is each one's share of the RAM."""
    gpus: int
    gpu_memory_gb: float
    gpus_per_node: int = 8
    host_memory_gb: float = 1024.0  # per node
    device: str = "cuda"

    def __post_init__(self) -> None:
        if self.gpus < 1 or self.gpu_memory_gb <= 0 or self.gpus_per_node < 1 or self.host_memory_gb <= 0:
            raise ValueError(f"gpus, gpu memory, gpus per node and host memory must be positive: {self}")

    @property
    def nodes(self) -> int:
        return math.ceil(self.gpus / self.gpus_per_node)


@dataclass
class StagePlan:
    stage: str
    parameters: int
    trainable: int
    expert_parallel: int
    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    gathered_gb: float  # unsharded bf16 copies of the FSDP units in flight
    activations_gb: float
    reserved_gb: float
    offload: bool
    host_gb_per_node: float
    fits: bool
    notes: list[str] = field(default_factory=list)

    @property
    def gpu_total_gb(self) -> float:
        return (self.weights_gb + self.gradients_gb + self.optimizer_gb + self.gathered_gb + self.activations_gb
                + self.reserved_gb)


class ModelShapeUnreadable(ValueError):
    """No source gives the dense model's shape, or two do (a bad config.json is HFModelUnreadable)."""


def dense_shape(config: TrainerConfig, model_config_file: Path | None = None) -> ModelConfig:
    """The dense model's shape: --model-config, the hf_folder's config.json, a published shape, or dense.model."""
    from sciloom.trainer.hf_io import read_hf_config  # transformers is only needed to read Hugging Face configs

    if model_config_file is not None:
        if config.dense.model is not None:  # two shapes: planning with either one would be a silent guess
            raise ModelShapeUnreadable(f"--model-config {model_config_file}: the recipe's trainer.dense.model already "
                                       "gives the dense model's shape; drop one of them")
        return read_hf_config(model_config_file)
    if config.dense.model is not None:
        return config.dense.model
    folder = config.dense.hf_folder
    if folder is not None and (folder / "config.json").is_file():
        return read_hf_config(folder / "config.json")
    if folder is not None and folder.name in PUBLISHED_SHAPES:
        return ModelConfig(**PUBLISHED_SHAPES[folder.name])
    raise ModelShapeUnreadable(f"{folder}: no config.json here to read the dense model's shape from; pass "
                               f"--model-config config.json (known without the folder: {', '.join(PUBLISHED_SHAPES)})")


def _count(model: CausalLM, trainable) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for name, p in model.named_parameters() if trainable(name))


def _largest_unit(model: CausalLM, expert_parallel: bool) -> int:
    """Parameters of the biggest FSDP unit that is all-gathered (experts under EP are local, not gathered)."""
    layer = model.model.layers[0]
    block = sum(p.numel() for name, p in layer.named_parameters() if not (expert_parallel and ".experts." in f".{name}"))
    rest = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("model.layers."))
    return max(block, rest)


def activation_bytes(config: ModelConfig, tokens: int, checkpointing: bool, compute_bytes: int = COMPUTE_BYTES,
                     residual_bytes: int = RESIDUAL_BYTES) -> int:
    """What the forward keeps for backward, for `tokens` tokens of one micro-batch (fused attention assumed).

    Per layer (no checkpointing): the residual input and the two norm outputs; q, k, v, attention output and
    o_proj input; the FFN's gate, up, activation products. MoE layers keep the routed rows (top_k copies of each
    token) through gate/up/hidden/output, the router's float32 logits and probabilities, and the shared expert.
    With checkpointing only each block's input is kept, plus one block's working set during its recompute.
    The lm_head's logits are kept in the compute dtype and upcast to float32 for the loss (twice: the softmax
    and its gradient), and are not checkpointed.
    """
    D, a, r = config.hidden_size, compute_bytes, residual_bytes
    kv = config.num_key_value_heads * config.head_dim
    attention = tokens * (2 * D * r + (D + 2 * kv) * a * 2 + 2 * D * a)
    moe = config.moe
    if moe is None:
        ffn = tokens * 4 * config.intermediate_size * a
    else:
        rows = tokens * moe.top_k
        ffn = rows * (2 * D + 4 * moe.expert_intermediate_size) * a + tokens * moe.num_experts * 4 * 3
        ffn += tokens * (4 * moe.shared_expert_intermediate_size + D) * a
    per_layer = attention + ffn
    logits = tokens * config.vocab_size * (a + 2 * 4)
    if checkpointing:
        return config.num_layers * tokens * D * r + per_layer + logits
    return config.num_layers * per_layer + logits


def plan_stage(stage: str, model: CausalLM, trainable, cluster: Cluster, tokens: int, *, checkpointing: bool = True,
               cpu_offload: str = "auto", expert_parallel: bool = True) -> StagePlan:
    N = cluster.gpus
    on_cpu = cluster.device == "cpu"
    compute_bytes = 4 if on_cpu else COMPUTE_BYTES
    reserved = 0 if on_cpu else RESERVED_BYTES
    checkpointing = checkpointing and not on_cpu
    cpu_offload = "never" if on_cpu else cpu_offload
    total, train = _count(model, trainable)
    moe = model.config.moe
    state = {"weights": total * MASTER_BYTES / N, "gradients": train * GRAD_BYTES / N,
             "optimizer": train * ADAM_BYTES / N}
    activations = activation_bytes(model.config, tokens, checkpointing, compute_bytes)

    def gathered_bytes(ep: int) -> int:
        # the unit computing, the one prefetched, and the unsharded gradients of the one in backward
        unit = _largest_unit(model, ep > 1)
        gathered = (2 * unit + unit) * compute_bytes if N > 1 else 0
        if ep > 1:  # the compute-dtype copy of this rank's local experts of one layer
            gathered += sum(p.numel() for p in model.model.layers[0].mlp.experts.parameters()) // ep * compute_bytes
        return gathered

    # as trainer/sharding.py does it: experts split over all ranks when the ranks divide them, unless the state is
    # offloaded (FSDP's offload only moves what FSDP manages, so offloaded experts stay FSDP-sharded)
    ep = N if expert_parallel and moe is not None and N > 1 and moe.num_experts % N == 0 else 1
    gathered = gathered_bytes(ep)
    on_gpu = sum(state.values()) + gathered + activations + reserved
    offload = cpu_offload == "always" or (cpu_offload == "auto" and on_gpu > cluster.gpu_memory_gb * GB)
    notes = []
    host = 0.0
    if offload:
        ep, gathered = 1, gathered_bytes(1)
        host = sum(state.values()) * min(N, cluster.gpus_per_node)
        on_gpu = gathered + activations + reserved
        notes.append("weights, gradients and AdamW state offloaded to host memory (the optimizer step runs on CPU); "
                     "experts FSDP-sharded, not expert-parallel")
    fits = on_gpu <= cluster.gpu_memory_gb * GB and host <= cluster.host_memory_gb * GB
    if not fits:
        room = cluster.gpu_memory_gb * GB - gathered - activations - reserved
        notes.append("does not fit: the activations alone exceed a GPU" if room <= 0 else
                     f"does not fit: about {math.ceil(sum(state.values()) * N / room)} GPUs of "
                     f"{cluster.gpu_memory_gb:g} GB would hold the sharded state without offload")
    return StagePlan(stage=stage, parameters=total, trainable=train,
                     expert_parallel=ep, weights_gb=0 if offload else state["weights"] / GB,
                     gradients_gb=0 if offload else state["gradients"] / GB,
                     optimizer_gb=0 if offload else state["optimizer"] / GB, gathered_gb=gathered / GB,
                     activations_gb=activations / GB, reserved_gb=reserved / GB, offload=offload,
                     host_gb_per_node=host / GB, fits=fits, notes=notes)


def plan_training(config: TrainerConfig, disciplines: list[str], seq_len: int, cluster: Cluster,
                  model_config_file: Path | None = None) -> list[StagePlan]:
    """One plan per stage that trains: dense pretraining (if any), expert induction, routing warmup, integration."""
    dense_config = dense_shape(config, model_config_file)
    inn = config.innovator
    moe_config = dense_config.model_copy(update={"moe": innovator_moe_config(
        dense_config, len(disciplines), inn.granularity, inn.top_k)})
    with torch.device("meta"):
        dense, moe = CausalLM(dense_config), CausalLM(moe_config)
    par = config.parallel
    stages = [("1 expert induction (each discipline)", dense, is_ffn_parameter, inn.expert_induction),
              ("3 routing warmup", moe, is_router_parameter, inn.routing_warmup),
              ("4 integration", moe, lambda name: True, inn.integration)]
    if config.dense.pretrain is not None:
        stages.insert(0, ("0 dense pretraining", dense, lambda name: True, config.dense.pretrain))
    return [plan_stage(name, model, trainable, cluster, optim.batch_size * seq_len,
                       checkpointing=par.activation_checkpointing, cpu_offload=par.cpu_offload,
                       expert_parallel=par.expert_parallel)
            for name, model, trainable, optim in stages]


class TrainingWontFit(RuntimeError):
    """A stage of the plan needs more memory than the devices have."""


def check_fits(plans: list[StagePlan], cluster: Cluster) -> None:
    failing = [p for p in plans if not p.fits]
    if failing:
        raise TrainingWontFit("training would run out of memory in stage(s) "
                              + "; ".join(f"{p.stage} ({p.gpu_total_gb:.1f} GB per rank, {p.host_gb_per_node:.0f} GB "
                                          f"host per node)" for p in failing)
                              + f" on {cluster.gpus} x {cluster.gpu_memory_gb:g} GB; `sciloom plan-training` shows "
                              "the whole plan (smaller batch_size, more devices, or parallel.cpu_offload)")


def this_machine(world_size: int) -> Cluster:
    """The devices the current run trains on: its GPUs, or its share of this host's RAM on CPU."""
    host_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
    if torch.cuda.is_available():
        gpu_gb = torch.cuda.get_device_properties(0).total_memory / GB
        return Cluster(world_size, gpu_gb, gpus_per_node=min(world_size, torch.cuda.device_count()),
                       host_memory_gb=host_gb)
    return Cluster(world_size, host_gb / world_size, gpus_per_node=world_size, host_memory_gb=host_gb, device="cpu")


def _billions(count: int) -> str:
    return f"{count / 1e9:.2f}B" if count >= 1e8 else f"{count / 1e6:.2f}M"


def format_plan(plans: list[StagePlan], cluster: Cluster) -> str:
    header = (f"{'stage':38} {'params':>8} {'train':>8} {'EP':>3} {'weights':>8} {'grads':>7} {'adam':>7} "
              f"{'gather':>7} {'activ':>7} {'rsrvd':>6} {'GPU GB':>7} {'host/node':>9}  fits")
    if cluster.device == "cpu":
        where = (f"{cluster.gpus} CPU process(es) x {cluster.gpu_memory_gb:.1f} GB of RAM each; float32, "
                 "FSDP2 full shard when more than one")
    else:
        where = (f"{cluster.gpus} GPUs x {cluster.gpu_memory_gb:g} GB, {cluster.gpus_per_node} per node "
                 f"({cluster.nodes} node{'s' if cluster.nodes > 1 else ''}, {cluster.host_memory_gb:g} GB host "
                 "memory each); FSDP2 full shard, bf16 compute, fp32 master + AdamW, checkpointing per block")
    lines = [where, "sizes in GB per rank", header, "-" * len(header)]
    for p in plans:
        lines.append(f"{p.stage:38} {_billions(p.parameters):>8} {_billions(p.trainable):>8} {p.expert_parallel:>3} "
                     f"{p.weights_gb:8.2f} {p.gradients_gb:7.2f} {p.optimizer_gb:7.2f} {p.gathered_gb:7.2f} "
                     f"{p.activations_gb:7.2f} {p.reserved_gb:6.1f} {p.gpu_total_gb:7.2f} {p.host_gb_per_node:9.1f}  "
                     f"{'yes' if p.fits else 'NO'}")
        lines.extend(f"{'':38} - {note}" for note in p.notes)
    return "\n".join(lines)
