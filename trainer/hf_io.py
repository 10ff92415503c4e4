"""Hugging Face interop: read a local Qwen2 / Qwen2-MoE folder into CausalLM, write CausalLM back as one.

In memory, parameter names are identical on both sides (see trainer/model.py): transformers 5.x also holds
routed experts fused, `mlp.experts.gate_up_proj [E, 2I, D]` (gate rows first) and `mlp.experts.down_proj
[E, D, I]`. On disk, transformers 5.23's own `save_pretrained` splits them back into the per-expert
checkpoint layout `mlp.experts.{e}.{gate,up,down}_proj.weight` that published Qwen2-MoE checkpoints and vLLM
use, and `from_pretrained` fuses either layout on load. `save_hf` writes that same per-expert layout (the one
every reader accepts); `load_hf` reads both.

Score order: transformers 5.23's `Qwen2MoeTopKRouter` takes the softmax over all experts in float32, then
torch.topk, then divides by the top-K sum when `norm_topk_prob` is set. That is our softmax-then-top-K with
`renormalize = norm_topk_prob`; our top-K-then-softmax equals softmax-then-top-K renormalised, so it is
written as `norm_topk_prob: true`. The two routers differ only on exact score ties (trainer/upcycle.py).

Qwen2-MoE always has a shared expert. A model without one is written with a width-1 shared expert whose
weights are all zero: it adds exactly 0 to every token (down_proj is zero), so the exported model computes
what ours does. Reading such a folder back keeps that inert width-1 expert.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import Qwen2Config, Qwen2MoeConfig

from sciloom.curation.atomic_write import atomic_path, write_json_atomic

from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig
from sciloom.trainer.weights_source import tensors

INERT_SHARED_EXPERT_SIZE = 1
DEFAULT_MAX_SHARD_BYTES = 5 * 1024**3  # save_pretrained's default max_shard_size ("5GB")
INDEX_FILE = "model.safetensors.index.json"


class HFModelUnreadable(ValueError):
    """A folder or config.json that cannot be read as a Qwen2 / Qwen2-MoE model; the message names the file."""


def read_hf_json(path: Path) -> dict[str, Any]:
    """A Hugging Face JSON file (config.json, the weights index) as a dict, or HFModelUnreadable naming it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HFModelUnreadable(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(data, dict):
        raise HFModelUnreadable(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_hf_config(path: Path) -> ModelConfig:
    """The model shape a config.json describes."""
    try:
        return config_from_hf(read_hf_json(path), path)
    except KeyError as error:
        raise HFModelUnreadable(f"{path}: field {error} missing") from None
    except TypeError as error:  # a field of the wrong JSON type, e.g. "num_attention_heads": "4"
        raise HFModelUnreadable(f"{path}: {error}") from None


def config_from_hf(hf: dict, source: Path) -> ModelConfig:
    model_type = hf.get("model_type")
    if model_type not in ("qwen2", "qwen2_moe"):
        raise HFModelUnreadable(f"{source}: model_type {model_type!r} is not qwen2 or qwen2_moe")
    if hf.get("hidden_act", "silu") != "silu":
        raise HFModelUnreadable(f"{source}: hidden_act {hf['hidden_act']!r} unsupported (only silu)")
    if hf.get("use_sliding_window", False):
        raise HFModelUnreadable(f"{source}: sliding-window attention is not supported")
    rope = hf.get("rope_parameters") or {"rope_type": "default", "rope_theta": hf.get("rope_theta", 10000.0)}
    if rope.get("rope_type", "default") != "default":
        raise HFModelUnreadable(f"{source}: rope_type {rope['rope_type']!r} unsupported (only default RoPE)")
    heads = hf["num_attention_heads"]
    head_dim = hf.get("head_dim") or hf["hidden_size"] // heads
    if head_dim * heads != hf["hidden_size"]:
        raise HFModelUnreadable(f"{source}: head_dim {head_dim} * heads {heads} != hidden_size {hf['hidden_size']}")
    moe = None
    if model_type == "qwen2_moe":
        if not hf.get("qkv_bias", True):
            raise HFModelUnreadable(f"{source}: qkv_bias=false unsupported (Qwen2 attention has q/k/v biases)")
        if hf.get("decoder_sparse_step", 1) != 1 or hf.get("mlp_only_layers"):
            raise HFModelUnreadable(f"{source}: only all-MoE layers are supported (decoder_sparse_step=1, no mlp_only_layers)")
        moe = MoEConfig(
            num_experts=hf["num_experts"],
            top_k=hf["num_experts_per_tok"],
            expert_intermediate_size=hf["moe_intermediate_size"],
            shared_expert_intermediate_size=hf["shared_expert_intermediate_size"],
            renormalize=bool(hf.get("norm_topk_prob", False)),
            # transformers' load-balancing loss is top_k times ours (see MoEConfig); its default coefficient 0.001.
            aux_loss_weight=hf.get("router_aux_loss_coef", 0.001) * hf["num_experts_per_tok"],
            # Not a transformers field: written by save_hf; a model trained without one keeps training without it.
            z_loss_weight=hf.get("router_z_loss_coef", 0.0),
        )
    return ModelConfig(
        vocab_size=hf["vocab_size"],
        hidden_size=hf["hidden_size"],
        intermediate_size=hf["intermediate_size"],
        num_layers=hf["num_hidden_layers"],
        num_attention_heads=heads,
        num_key_value_heads=hf.get("num_key_value_heads") or heads,
        max_position_embeddings=hf.get("max_position_embeddings", 32768),
        rope_theta=rope["rope_theta"],
        rms_norm_eps=hf.get("rms_norm_eps", 1e-6),
        tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
        initializer_range=hf.get("initializer_range", 0.02),
        bos_token_id=hf.get("bos_token_id"),
        eos_token_id=_single_token_id(hf.get("eos_token_id")),
        moe=moe,
    )


def _single_token_id(value: int | list[int] | None) -> int | None:
    # transformers allows a list of stop tokens; the first is the one the mixer appends after each document.
    return value[0] if isinstance(value, list) and value else value if isinstance(value, int) else None


def _read_safetensors(folder: Path) -> dict[str, torch.Tensor]:
    index = folder / INDEX_FILE
    if index.is_file():
        weight_map = read_hf_json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise HFModelUnreadable(f"{index}: no weight_map object")
        shards = sorted(set(map(str, weight_map.values())))
    elif (folder / "model.safetensors").is_file():
        shards = ["model.safetensors"]
    else:
        raise HFModelUnreadable(f"{folder}: neither model.safetensors nor model.safetensors.index.json")
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        try:
            state.update(load_file(folder / shard))
        except (OSError, SafetensorError) as error:  # missing shard, truncated or damaged file
            raise HFModelUnreadable(f"{folder / shard}: not readable as safetensors ({error})") from None
    return state


def _fuse_experts(state: dict[str, torch.Tensor], num_layers: int, num_experts: int) -> None:
    """Per-expert checkpoint tensors -> the fused [E, 2I, D] / [E, D, I] parameters, in place."""
    for i in range(num_layers):
        prefix = f"model.layers.{i}.mlp.experts."
        if f"{prefix}0.gate_proj.weight" not in state:
            continue
        per_expert = [
            [state.pop(f"{prefix}{e}.{name}.weight") for e in range(num_experts)]
            for name in ("gate_proj", "up_proj", "down_proj")
        ]
        gate_EID, up_EID, down_EDI = (torch.stack(tensors) for tensors in per_expert)
        state[prefix + "gate_up_proj"] = torch.cat((gate_EID, up_EID), dim=1)
        state[prefix + "down_proj"] = down_EDI


def _split_experts(state: dict[str, torch.Tensor], prefix: str) -> None:
    """One layer's fused expert parameters -> per-expert checkpoint tensors, in place (inverse of _fuse_experts)."""
    gate_up_E2ID = state.pop(prefix + "gate_up_proj")
    down_EDI = state.pop(prefix + "down_proj")
    gate_EID, up_EID = gate_up_E2ID.chunk(2, dim=1)
    for e in range(gate_up_E2ID.shape[0]):
        state[f"{prefix}{e}.gate_proj.weight"] = gate_EID[e]
        state[f"{prefix}{e}.up_proj.weight"] = up_EID[e]
        state[f"{prefix}{e}.down_proj.weight"] = down_EDI[e]


def load_hf(folder: str | Path, dtype: torch.dtype = torch.float32) -> CausalLM:
    """A CausalLM holding the weights of a local Qwen2 or Qwen2-MoE folder (config.json + safetensors)."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise HFModelUnreadable(f"{folder}: no config.json")
    config = read_hf_config(config_path)
    state = _read_safetensors(folder)
    if config.moe is not None:
        _fuse_experts(state, config.num_layers, config.moe.num_experts)
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    model = CausalLM(config)
    expected = set(model.state_dict()) - ({"lm_head.weight"} if config.tie_word_embeddings else set())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise HFModelUnreadable(f"{folder}: weights do not match the config: missing {missing[:5]}, "
                                f"unexpected {unexpected[:5]}")
    shapes = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    wrong = [f"{name} {list(tensor.shape)} (config.json: {list(shapes[name])})" for name, tensor in state.items()
             if tuple(tensor.shape) != shapes[name]]
    if wrong:
        raise HFModelUnreadable(f"{folder}: {len(wrong)} weight(s) not of the shape config.json gives, e.g. "
                                + "; ".join(wrong[:3]))
    model.load_state_dict(state, strict=not config.tie_word_embeddings)
    return model.to(dtype)


def _hf_config(config: ModelConfig) -> Qwen2Config | Qwen2MoeConfig:
    common = dict(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": config.rope_theta},
        rms_norm_eps=config.rms_norm_eps,
        tie_word_embeddings=config.tie_word_embeddings,
        initializer_range=config.initializer_range,
        hidden_act="silu",
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
    )
    moe = config.moe
    if moe is None:
        return Qwen2Config(**common)
    return Qwen2MoeConfig(
        **common,
        num_experts=moe.num_experts,
        num_experts_per_tok=moe.top_k,
        moe_intermediate_size=moe.expert_intermediate_size,
        shared_expert_intermediate_size=moe.shared_expert_intermediate_size or INERT_SHARED_EXPERT_SIZE,
        norm_topk_prob=moe.normalizes_top_k,
        # transformers multiplies this coefficient into a loss that is top_k times ours: the same strength.
        router_aux_loss_coef=moe.aux_loss_weight / moe.top_k,
        router_z_loss_coef=moe.z_loss_weight,
        qkv_bias=True,
        decoder_sparse_step=1,
        mlp_only_layers=[],
    )


def save_hf(model: CausalLM, folder: str | Path, dtype: torch.dtype | None = None,
            max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES) -> Path:
    """Write config.json + safetensors that transformers and vLLM load as Qwen2ForCausalLM / Qwen2MoeForCausalLM.

    Weights are split into files of at most `max_shard_bytes` (a tensor larger than that gets a file of its own)
    with `model.safetensors.index.json` mapping every tensor to its file, as `save_pretrained` does; a model
    that fits in one file is written as `model.safetensors` alone. dtype: the storage dtype (default: the
    model's own). A meta-device model whose weights are files (trainer/weights_source.py) is exported one layer
    at a time: no more than one layer and one output file are ever in memory.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config
    meta_state = {name: t.detach().to("meta") for name, t in model.state_dict().items()}
    groups = [[n for n in meta_state if not n.startswith("model.layers.")]]
    groups += [[n for n in meta_state if n.startswith(f"model.layers.{i}.")] for i in range(config.num_layers)]
    planned = {name: t for group in groups for name, t in _hf_tensors(meta_state, group, config, dtype).items()}
    hf_config = _hf_config(config)
    # vLLM picks the model class from this field (transformers falls back on model_type).
    hf_config.architectures = ["Qwen2MoeForCausalLM" if config.moe is not None else "Qwen2ForCausalLM"]
    hf_config.dtype = str(next(iter(planned.values())).dtype).removeprefix("torch.")
    hf_config.save_pretrained(folder)
    real_groups = (_hf_tensors(tensors(model, group), group, config, dtype) for group in groups)
    _write_weight_files(planned, real_groups, folder, max_shard_bytes)
    return folder


def _hf_tensors(state: dict[str, torch.Tensor], names: list[str], config: ModelConfig,
                dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """Our tensors `names` (the model's non-layer tensors, or one layer's) under their Hugging Face checkpoint names."""
    group = {name: state[name] for name in names}
    if config.tie_word_embeddings:
        group.pop("lm_head.weight", None)  # same storage as the embedding; transformers re-ties it
    D = config.hidden_size
    for name in list(group):
        if config.moe is None or not name.endswith(".mlp.gate.weight"):
            continue
        prefix = name.removesuffix("gate.weight")
        if config.moe.shared_expert_intermediate_size == 0:
            reference = group[name]
            group[prefix + "shared_expert.gate_proj.weight"] = reference.new_zeros(INERT_SHARED_EXPERT_SIZE, D)
            group[prefix + "shared_expert.up_proj.weight"] = reference.new_zeros(INERT_SHARED_EXPERT_SIZE, D)
            group[prefix + "shared_expert.down_proj.weight"] = reference.new_zeros(D, INERT_SHARED_EXPERT_SIZE)
            group[prefix + "shared_expert_gate.weight"] = reference.new_zeros(1, D)
        scale = group.pop(prefix + "routed_scale", None)
        if scale is not None:  # a learned routed scale: Qwen2-MoE has none, so it goes into every expert's down_proj
            group[prefix + "experts.down_proj"] = group[prefix + "experts.down_proj"] * scale.to(
                group[prefix + "experts.down_proj"].dtype)
        _split_experts(group, prefix + "experts.")
    return {name: (t.to(dtype) if dtype is not None else t).contiguous() for name, t in group.items()}


def _write_weight_files(planned: dict[str, torch.Tensor], groups: Iterator[dict[str, torch.Tensor]], folder: Path,
                        max_shard_bytes: int) -> None:
    """Files planned from the tensors' shapes, then filled from `groups` (in the same order) one file at a time."""
    files: list[list[str]] = [[]]
    file_bytes = 0
    for name, tensor in planned.items():
        size = tensor.numel() * tensor.element_size()
        if files[-1] and file_bytes + size > max_shard_bytes:
            files.append([])
            file_bytes = 0
        files[-1].append(name)
        file_bytes += size
    file_names = (["model.safetensors"] if len(files) == 1 else
                  [f"model-{i:05d}-of-{len(files):05d}.safetensors" for i in range(1, len(files) + 1)])
    # Files of an earlier export of another size would otherwise sit beside the new ones and be read too.
    for stale in [*folder.glob("model*.safetensors"), folder / INDEX_FILE]:
        if stale.name not in file_names and stale.exists():
            stale.unlink()
    pending: dict[str, torch.Tensor] = {}
    for file_name, members in zip(file_names, files):
        while not all(name in pending for name in members):
            pending.update(next(groups))
        with atomic_path(folder / file_name) as tmp:
            save_file({name: pending.pop(name) for name in members}, tmp, metadata={"format": "pt"})
    if len(files) > 1:
        index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in planned.values())},
                 "weight_map": {name: file_name for file_name, members in zip(file_names, files) for name in members}}
        write_json_atomic(folder / INDEX_FILE, index)
