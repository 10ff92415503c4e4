"""Turn a dense CausalLM into an MoE CausalLM: copy, virtual-group, Drop-Upcycling, and Innovator's expert split.

Everything except the feed-forward layers (embeddings, attention, norms, lm_head) is copied unchanged.
Dense FFN of a layer: y = W_down (silu(W_gate x) * (W_up x)) with intermediate size I. Cutting I into G equal
slices gives G "shards" whose outputs sum exactly to y; this is how fine-grained experts are made.

Methods (`upcycle`):
- `copy` (sparse upcycling): every expert is the whole dense FFN. Weights are top-K-then-softmax, so the K
  weights sum to 1 and the upcycled model computes the dense function for any router.
- `virtual-group` (He et al. 2024, arXiv 2410.07524): E experts of width I/G = E/G copies of the G shards;
  softmax-then-top-K without renormalisation, as the paper recommends. The G shards of one copy form a
  *virtual group* whose router rows are identical, so their scores tie and top-K (K a multiple of G) picks
  whole copies. Weight scaling: under a uniform router every selected expert has weight 1/E and K/G whole
  copies are selected, so the routed output is (K/G)(1/E) s y; scaling every expert's down_proj by
  s = E*G/K restores y. `router_init`:
    * `uniform` - router weight 0: every score is exactly 1/E, and the upcycled logits equal the dense ones.
    * `random` - normal(0, initializer_range) rows, one per virtual group (what Megatron's upcycling does).
      Scores then vary per token and each layer's FFN output becomes the dense one times
      (E/K) * sum_selected p(x). The K largest of E probabilities always hold at least K/E of the mass
      (equality only when all are equal), so this factor is >= 1: every FFN output is inflated by a
      token-dependent amount that grows with the router's logit scale, and the errors compound over
      layers. Measured on the tiny test model (hidden 64, 2 layers, E=8, G=2, K=4, router std 0.02):
      factors 1.01-1.23, logit drift max 0.30, mean 0.047 (tests/trainer/test_upcycle.py prints it;
      `sciloom upcycle` reports it for the model at hand). Training absorbs it.
- `drop` (Drop-Upcycling, Nakamura et al. 2025, arXiv 2502.19261): `copy`, then in each expert a random
  fraction r of the intermediate indices (one index set per expert, shared by its gate rows, up rows and
  down columns) is re-initialised from normal(mean, std) of the dense matrix being replaced (W_gate, W_up
  or W_down respectively). Deviation from the paper: none in the FFN; the router is normal(0,
  initializer_range) like the other methods (the paper leaves it to the MoE's default initialisation).
  With granularity G > 1 (fine-grained Drop-Upcycling, Innovator's expert shape): the experts are first
  made as `virtual-group` makes them (width I/G, down_proj scaled by s), then each expert re-initialises
  round(r * I/G) of its own intermediate indices the same way; the statistics are those of the dense matrix
  as the experts hold it (W_down times s), so a fresh column has the scale of its neighbours.

Ties and transformers: with `uniform` every score ties. Our router breaks ties toward the lower expert index;
transformers' Qwen2-MoE router calls torch.topk on the softmax, whose CPU kernel returns a different but
fixed set for all-equal rows (e.g. experts {4..7} for E=8, K=4). `_virtual_group_layout` probes both rules
and places the virtual groups so that each rule's tie set is a union of whole groups; the upcycled model then
computes the dense function under both. A tie-breaker that splits a group (another torch build, a GPU
kernel) is only exact after the first router update breaks the ties; with `random` ties never occur.

Shared experts: the Qwen2-MoE block multiplies its shared expert by sigmoid(shared_expert_gate(x)). With a
zero gate weight that factor is sigmoid(0) = 0.5 exactly, so a shared expert whose down_proj is the dense
one times 2 (exact: a power-of-two scale) contributes exactly the dense FFN output. Methods without a shared
expert are exported with an inert zero shared expert (trainer/hf_io.py).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from safetensors.torch import save_file
from torch import Tensor

from sciloom.curation.atomic_write import atomic_dir
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MLP, MoEBlock, MoEConfig
from sciloom.trainer.routing import route
from sciloom.trainer.weights_source import WeightsSource, on_disk

FFN_KEYS = ("gate_proj", "up_proj", "down_proj")


class UpcycleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["copy", "virtual-group", "drop"]
    num_experts: int = Field(gt=0)
    top_k: int = Field(gt=0)
    granularity: int = Field(default=1, gt=0)
    router_init: Literal["random", "uniform"] = "random"
    drop_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 0
    aux_loss_weight: float = Field(default=MoEConfig.model_fields["aux_loss_weight"].default, ge=0)
    z_loss_weight: float = Field(default=MoEConfig.model_fields["z_loss_weight"].default, ge=0)

    @model_validator(mode="after")
    def _check(self) -> UpcycleSpec:
        if self.top_k > self.num_experts:
            raise ValueError(f"top_k {self.top_k} exceeds num_experts {self.num_experts}")
        if self.method == "copy" and self.granularity != 1:
            raise ValueError("granularity applies to virtual-group and drop only; copy experts are whole FFN copies")
        if self.granularity > 1:
            if self.num_experts % self.granularity or self.top_k % self.granularity:
                raise ValueError(
                    f"{self.method} with granularity > 1 needs num_experts ({self.num_experts}) and top_k ({self.top_k}) to be "
                    f"multiples of granularity ({self.granularity}) so top-K selects whole copies"
                )
        return self


def _dense_ffns(dense: CausalLM) -> list[dict[str, Tensor]]:
    if dense.config.moe is not None:
        raise ValueError("upcycling needs a dense model, got an MoE model")
    ffns = []
    for layer in dense.model.layers:
        assert isinstance(layer.mlp, MLP)
        ffns.append({key: getattr(layer.mlp, key).weight.detach() for key in FFN_KEYS})
    return ffns


def _moe_like(dense: CausalLM, moe: MoEConfig) -> CausalLM:
    """An MoE CausalLM with the dense model's non-FFN weights; FFN parameters are left for the caller to set."""
    config = ModelConfig(**{**dense.config.model_dump(), "moe": moe.model_dump()})
    model = CausalLM(config).to(dense.model.embed_tokens.weight.dtype)
    dense_state = dense.state_dict()
    shared = {name: t for name, t in dense_state.items() if ".mlp." not in name}
    missing, _ = model.load_state_dict(shared, strict=False)
    assert all(".mlp." in name for name in missing), missing
    return model


def _set_experts(block: MoEBlock, gate_EID: Tensor, up_EID: Tensor, down_EDI: Tensor) -> None:
    with torch.no_grad():
        block.experts.gate_up_proj.copy_(torch.cat((gate_EID, up_EID), dim=1))
        block.experts.down_proj.copy_(down_EDI)


def _router_rows(num_rows: int, hidden_size: int, router_init: str, std: float, generator: torch.Generator) -> Tensor:
    if router_init == "uniform":
        return torch.zeros(num_rows, hidden_size)
    return std * torch.randn(num_rows, hidden_size, generator=generator)


def _virtual_group_layout(num_experts: int, granularity: int, top_k: int, router_init: str) -> list[list[int]]:
    """Expert indices of each virtual group, chosen so that all-tied top-K picks whole groups in both routers.

    A random router never ties across groups, so its groups are simply contiguous. For a uniform one: A = what our router picks when every score ties (lower indices), B = what torch.topk picks on an all-equal
    softmax row, as transformers' Qwen2-MoE router computes it. Grouping inside A&B, A-B, B-A and the rest
    makes both A and B unions of whole groups; that needs |A&B| to be a multiple of the granularity.
    """
    if router_init == "random":
        return [list(range(start, start + granularity)) for start in range(0, num_experts, granularity)]
    tied_logits = torch.zeros(1, num_experts)
    ours = set(route(tied_logits, top_k, backend="reference").experts_TK[0].tolist())
    theirs = set(torch.topk(torch.softmax(tied_logits, dim=-1), top_k, dim=-1).indices[0].tolist())
    regions = [sorted(ours & theirs), sorted(ours - theirs), sorted(theirs - ours)]
    regions.append(sorted(set(range(num_experts)) - ours - theirs))
    if any(len(region) % granularity for region in regions):
        raise ValueError(
            f"router-init uniform: our tie set {sorted(ours)} and torch.topk's {sorted(theirs)} for E={num_experts}, "
            f"K={top_k} cannot both be unions of groups of {granularity}; use router-init random"
        )
    return [region[i : i + granularity] for region in regions for i in range(0, len(region), granularity)]


def _copy_or_drop(dense: CausalLM, spec: UpcycleSpec) -> CausalLM:
    ffns = _dense_ffns(dense)
    E = spec.num_experts
    moe = MoEConfig(
        num_experts=E, top_k=spec.top_k, expert_intermediate_size=dense.config.intermediate_size,
        score_order="topk_then_softmax", aux_loss_weight=spec.aux_loss_weight, z_loss_weight=spec.z_loss_weight,
    )
    model = _moe_like(dense, moe)
    generator = torch.Generator().manual_seed(spec.seed)
    ratio = spec.drop_ratio if spec.method == "drop" else 0.0
    for layer, ffn in zip(model.model.layers, ffns):
        gate_EID, up_EID, down_EDI = (ffn[key].expand(E, *ffn[key].shape).clone() for key in FFN_KEYS)
        _drop_reinitialise(gate_EID, up_EID, down_EDI, ffn, 1.0, ratio, generator)
        _set_experts(layer.mlp, gate_EID, up_EID, down_EDI)
        with torch.no_grad():
            layer.mlp.gate.weight.copy_(
                _router_rows(E, dense.config.hidden_size, spec.router_init, dense.config.initializer_range, generator)
            )
    return model


def _drop_reinitialise(gate_EID: Tensor, up_EID: Tensor, down_EDI: Tensor, ffn: dict[str, Tensor], down_scale: float,
                       ratio: float, generator: torch.Generator) -> None:
    """Drop-Upcycling in place: per expert, one random set of round(ratio * I_e) intermediate indices (its gate
    rows, up rows and down columns) drawn afresh from normal(mean, std) of the dense matrix as the experts hold it."""
    width = gate_EID.shape[1]
    num_dropped = round(ratio * width)
    if not num_dropped:
        return
    stats = {key: ((ffn[key] * (down_scale if key == "down_proj" else 1.0)).mean(),
                   (ffn[key] * (down_scale if key == "down_proj" else 1.0)).std()) for key in FFN_KEYS}
    for e in range(gate_EID.shape[0]):
        dropped = torch.randperm(width, generator=generator)[:num_dropped]
        for key, weight_E, rows in (("gate_proj", gate_EID, True), ("up_proj", up_EID, True), ("down_proj", down_EDI, False)):
            source = weight_E[e]
            mean, std = stats[key]
            shape = (num_dropped, source.shape[1]) if rows else (source.shape[0], num_dropped)
            fresh = (mean + std * torch.randn(shape, generator=generator)).to(source.dtype)
            if rows:
                source[dropped] = fresh
            else:
                source[:, dropped] = fresh


def _virtual_group(dense: CausalLM, spec: UpcycleSpec) -> CausalLM:
    ffns = _dense_ffns(dense)
    E, G, K = spec.num_experts, spec.granularity, spec.top_k
    intermediate = dense.config.intermediate_size
    if intermediate % G:
        raise ValueError(f"dense intermediate_size {intermediate} is not divisible by granularity {G}")
    shard = intermediate // G
    moe = MoEConfig(
        num_experts=E, top_k=K, expert_intermediate_size=shard, score_order="softmax_then_topk",
        aux_loss_weight=spec.aux_loss_weight, z_loss_weight=spec.z_loss_weight,
    )
    model = _moe_like(dense, moe)
    groups = _virtual_group_layout(E, G, K, spec.router_init)
    scale = E * G / K
    generator = torch.Generator().manual_seed(spec.seed)
    D = dense.config.hidden_size
    for layer, ffn in zip(model.model.layers, ffns):
        gate_EID = ffn["gate_proj"].new_empty(E, shard, D)
        up_EID = torch.empty_like(gate_EID)
        down_EDI = ffn["down_proj"].new_empty(E, D, shard)
        router_ED = torch.empty(E, D)
        group_rows = _router_rows(len(groups), D, spec.router_init, dense.config.initializer_range, generator)
        for group, row in zip(groups, group_rows):
            for g, e in enumerate(group):
                piece = slice(g * shard, (g + 1) * shard)
                gate_EID[e] = ffn["gate_proj"][piece]
                up_EID[e] = ffn["up_proj"][piece]
                down_EDI[e] = ffn["down_proj"][:, piece] * scale
                router_ED[e] = row
        if spec.method == "drop":
            _drop_reinitialise(gate_EID, up_EID, down_EDI, ffn, scale, spec.drop_ratio, generator)
        _set_experts(layer.mlp, gate_EID, up_EID, down_EDI)
        with torch.no_grad():
            layer.mlp.gate.weight.copy_(router_ED)
    return model


def upcycle(dense: CausalLM, spec: UpcycleSpec) -> CausalLM:
    """The MoE model made from `dense` by spec.method (see the module docstring)."""
    if spec.method == "virtual-group" or spec.granularity > 1:
        return _virtual_group(dense, spec)
    return _copy_or_drop(dense, spec)


def innovator_moe_config(dense: ModelConfig, num_disciplines: int, granularity: int, top_k: int, *,
                         aux_loss_weight: float = MoEConfig.model_fields["aux_loss_weight"].default,
                         z_loss_weight: float = MoEConfig.model_fields["z_loss_weight"].default,
                         learned_routed_scale: bool = False) -> MoEConfig:
    """The MoE layer Innovator's expert split makes of a dense model: disciplines x G routed slices + the dense FFN
    as shared expert (the shape alone; trainer/memory_plan.py plans with it before any weight exists)."""
    I = dense.intermediate_size
    if granularity < 1 or I % granularity:
        raise ValueError(f"granularity {granularity} must be >= 1 and divide intermediate_size {I}")
    return MoEConfig(
        num_experts=num_disciplines * granularity, top_k=top_k, expert_intermediate_size=I // granularity,
        shared_expert_intermediate_size=I, score_order="softmax_then_topk", aux_loss_weight=aux_loss_weight,
        z_loss_weight=z_loss_weight, learned_routed_scale=learned_routed_scale,
    )


def assemble_innovator(
    dense: CausalLM,
    induced_ffns: Mapping[str, Sequence[dict[str, Tensor]]],
    granularity: int,
    top_k: int,
    *,
    routed_scale: float = 1.0,
    aux_loss_weight: float = MoEConfig.model_fields["aux_loss_weight"].default,
    z_loss_weight: float = MoEConfig.model_fields["z_loss_weight"].default,
    learned_routed_scale: bool = False,
    into: Path | None = None,
) -> CausalLM:
    """Innovator stage 2 (expert split): D induced FFNs x G slices = D*G routed experts, dense FFN shared.

    With `into`, the MoE is never built in memory: its weights are written to safetensors files in that folder
    one layer at a time (what sharded training loads its slices from) and a meta-device model is returned
    with that folder as its weights source (trainer/weights_source.py).

    induced_ffns: discipline -> per layer {gate_proj, up_proj, down_proj} weights of that discipline's stage-1
    FFN (a trained copy of the dense FFN). Discipline i (in dict order) owns routed experts [i*G, (i+1)*G);
    slice g of its FFN's intermediate dimension is expert i*G + g. The per-layer sequence may be a list or
    trainer/induced_ffn_files.InducedFFNFile, which reads a layer from disk only when asked: the split then
    holds one layer of every discipline at a time.

    Choices the method leaves open, made here:
    - The shared expert is the original dense FFN and passes through exactly: gate weight 0 (factor 0.5),
      down_proj times 2. `general` tokens are served by this shared expert, which is the general expert;
      `general` is therefore expected *not* to be among the induced disciplines and owns no routed group
      (if a caller passes it, it is treated like any discipline). Whether general tokens get a routing
      target in stage 3 is the training loop's choice; with no group of their own, none is natural.
    - Routed-part scaling at the start of stage 3: every routed down_proj is multiplied by `routed_scale`
      (default 1: experts are the raw slices). A router that has learned to send a discipline-d token to
      d's G experts with score about 1/G each (softmax-then-top-K, K = G) then adds about
      routed_scale / G * FFN_d(x) to the dense FFN output: the model starts near the dense one, moved
      towards the induced expert by a fraction 1/G, and stage 4 learns the balance.
    - Router weights start at 0 (uniform scores): stage 3 learns them from the discipline labels, so no
      random preference is baked in.
    - `learned_routed_scale`: each layer also gets a learnable scalar on the routed sum, starting at 1 (on top
      of `routed_scale`); it stays fixed in stage 3 (only routers train) and learns in stage 4.
    """
    if not induced_ffns:
        raise ValueError("assemble_innovator needs at least one induced discipline FFN")
    moe = innovator_moe_config(dense.config, len(induced_ffns), granularity, top_k, aux_loss_weight=aux_loss_weight,
                               z_loss_weight=z_loss_weight, learned_routed_scale=learned_routed_scale)
    dense_ffns = _dense_ffns(dense)
    for name, layers in induced_ffns.items():
        if len(layers) != len(dense_ffns):
            raise ValueError(f"induced FFN {name!r} has {len(layers)} layers, the dense model {len(dense_ffns)}")

    def layer(i: int) -> dict[str, Tensor]:
        # Each induced layer is read once (from disk, for a file): its shapes are checked as it arrives.
        per_discipline = {name: layers[i] for name, layers in induced_ffns.items()}
        for name, ffn in per_discipline.items():
            for key in FFN_KEYS:
                if key not in ffn or ffn[key].shape != dense_ffns[i][key].shape:
                    raise ValueError(f"induced FFN {name!r} layer {i}: {key} missing or not shaped "
                                     f"{tuple(dense_ffns[i][key].shape)}")
        return _innovator_layer(dense_ffns[i], list(per_discipline.values()), granularity, routed_scale,
                                learned_routed_scale)

    if into is None:
        model = _moe_like(dense, moe)
        for i, decoder_layer in enumerate(model.model.layers):
            decoder_layer.mlp.load_state_dict(layer(i))
        return model
    dtype = dense.model.embed_tokens.weight.dtype
    with atomic_dir(into) as tmp:
        rest = {name: t.contiguous() for name, t in dense.state_dict().items() if ".mlp." not in name}
        save_file(rest, tmp / "rest.safetensors")
        for i in range(dense.config.num_layers):
            save_file({f"model.layers.{i}.mlp.{name}": t.to(dtype).contiguous() for name, t in layer(i).items()},
                      tmp / f"layer-{i:05d}.safetensors")
    return innovator_on_disk(dense.config, len(induced_ffns), into, granularity=granularity, top_k=top_k,
                             aux_loss_weight=aux_loss_weight, z_loss_weight=z_loss_weight,
                             learned_routed_scale=learned_routed_scale)


def innovator_on_disk(dense: ModelConfig, num_disciplines: int, folder: Path, *, granularity: int, top_k: int,
                      aux_loss_weight: float, z_loss_weight: float, learned_routed_scale: bool = False) -> CausalLM:
    """The meta-device MoE whose weights `assemble_innovator(..., into=folder)` wrote."""
    moe = innovator_moe_config(dense, num_disciplines, granularity, top_k, aux_loss_weight=aux_loss_weight,
                               z_loss_weight=z_loss_weight, learned_routed_scale=learned_routed_scale)
    with torch.device("meta"):
        model = CausalLM(ModelConfig(**{**dense.model_dump(), "moe": moe.model_dump()}))
    return on_disk(model, WeightsSource(folder, "safetensors"))


def _innovator_layer(dense_ffn: dict[str, Tensor], per_discipline: list[dict[str, Tensor]], G: int,
                     routed_scale: float, learned_routed_scale: bool = False) -> dict[str, Tensor]:
    """One MoE layer of the expert split, by parameter name inside the layer's `mlp`."""
    shard = dense_ffn["gate_proj"].shape[0] // G
    gate_EID = torch.cat([ffn["gate_proj"].reshape(G, shard, -1) for ffn in per_discipline])
    up_EID = torch.cat([ffn["up_proj"].reshape(G, shard, -1) for ffn in per_discipline])
    down_EDI = torch.cat([ffn["down_proj"].reshape(-1, G, shard).transpose(0, 1) for ffn in per_discipline])
    hidden = dense_ffn["gate_proj"].shape[1]
    return {
        "gate.weight": torch.zeros(gate_EID.shape[0], hidden),
        "experts.gate_up_proj": torch.cat((gate_EID, up_EID), dim=1),
        "experts.down_proj": down_EDI * routed_scale,
        "shared_expert.gate_proj.weight": dense_ffn["gate_proj"],
        "shared_expert.up_proj.weight": dense_ffn["up_proj"],
        "shared_expert.down_proj.weight": dense_ffn["down_proj"] * 2,
        "shared_expert_gate.weight": torch.zeros(1, hidden),
        **({"routed_scale": torch.ones(1)} if learned_routed_scale else {}),
    }
