"""The decoder itself: packed documents, the MoE block against a float64 reference, losses, config checks."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig


def tiny_config(moe: MoEConfig | None = None, **overrides) -> ModelConfig:
    fields = dict(
        vocab_size=61, hidden_size=32, intermediate_size=48, num_layers=2,
        num_attention_heads=4, num_key_value_heads=2, moe=moe,
    )
    return ModelConfig(**{**fields, **overrides})


def moe_config(**overrides) -> MoEConfig:
    fields = dict(num_experts=6, top_k=2, expert_intermediate_size=16, shared_expert_intermediate_size=24)
    return MoEConfig(**{**fields, **overrides})


def randomized(model: CausalLM, seed: int = 0) -> CausalLM:
    """Weights large enough that logits and routing depend visibly on every parameter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            centre = 1.0 if "norm" in name else 0.0
            p.copy_(centre + 0.15 * torch.randn(p.shape, generator=g))
    return model


@pytest.mark.parametrize("moe", [None, moe_config()], ids=["dense", "moe"])
def test_packed_documents_equal_separate_runs(moe):
    torch.manual_seed(0)
    model = randomized(CausalLM(tiny_config(moe))).eval()
    lengths = [5, 9, 1, 7]
    docs = [torch.randint(0, 61, (n,)) for n in lengths]
    # A repeated segment id (0 again at the end) must still start a new document.
    segment_ids = torch.cat([torch.full((n,), i % 3) for i, n in enumerate(lengths)])
    packed = model(torch.cat(docs)[None], segment_ids[None]).logits_BTV[0]
    separate = torch.cat([model(doc[None]).logits_BTV[0] for doc in docs])
    assert (packed - separate).abs().max().item() < 1e-5
    # Without segment ids the same row is one long document: later documents see earlier ones.
    unpacked = model(torch.cat(docs)[None]).logits_BTV[0]
    assert (unpacked[lengths[0]:] - separate[lengths[0]:]).abs().max().item() > 1e-3


def reference_moe_float64(block, x_TD: torch.Tensor, cfg: MoEConfig) -> torch.Tensor:
    """Token-by-token float64 evaluation of Qwen2-MoE's formula, independent of routing/permute code."""
    x = x_TD.double()
    logits_TE = x @ block.gate.weight.double().T
    gate_up = block.experts.gate_up_proj.double()
    down = block.experts.down_proj.double()
    inter = cfg.expert_intermediate_size
    out = []
    for t in range(x.shape[0]):
        top = sorted(range(cfg.num_experts), key=lambda e: -logits_TE[t, e].item())[: cfg.top_k]
        if cfg.score_order == "topk_then_softmax":
            weights = torch.softmax(logits_TE[t, top], dim=0)
        else:
            weights = torch.softmax(logits_TE[t], dim=0)[top]
            if cfg.renormalize:
                weights = weights / weights.sum()
        y = torch.zeros_like(x[t])
        for w, e in zip(weights, top):
            h = gate_up[e] @ x[t]
            y += w * (down[e] @ (F.silu(h[:inter]) * h[inter:]))
        shared = block.shared_expert
        y += torch.sigmoid(block.shared_expert_gate.weight.double() @ x[t]) * (
            shared.down_proj.weight.double()
            @ (F.silu(shared.gate_proj.weight.double() @ x[t]) * (shared.up_proj.weight.double() @ x[t]))
        )
        out.append(y)
    return torch.stack(out)


@pytest.mark.parametrize(
    "score_order,renormalize",
    [("softmax_then_topk", False), ("softmax_then_topk", True), ("topk_then_softmax", False)],
)
def test_moe_block_matches_float64_reference(score_order, renormalize):
    cfg = moe_config(score_order=score_order, renormalize=renormalize, num_experts=8, top_k=3)
    model = randomized(CausalLM(tiny_config(cfg)), seed=1)
    block = model.model.layers[0].mlp
    x_TD = torch.randn(23, 32, generator=torch.Generator().manual_seed(2))
    ours = block(x_TD).y_TD
    assert (ours.double() - reference_moe_float64(block, x_TD, cfg)).abs().max().item() < 1e-5


def test_aux_loss_is_weighted_mean_of_switch_and_z_losses_over_layers():
    cfg = moe_config(aux_loss_weight=0.1, z_loss_weight=0.01)
    model = randomized(CausalLM(tiny_config(cfg)), seed=3)
    out = model(torch.randint(0, 61, (2, 13)))
    expected = torch.zeros((), dtype=torch.float64)
    for logits_TE, experts_TK in zip(out.router_logits, out.experts):
        probs_TE = torch.softmax(logits_TE.double(), dim=-1)
        counts_E = torch.bincount(experts_TK.reshape(-1), minlength=cfg.num_experts).double()
        switch = cfg.num_experts * (counts_E / experts_TK.numel() * probs_TE.mean(0)).sum()
        z = torch.logsumexp(logits_TE.double(), dim=-1).square().mean()
        expected += (cfg.aux_loss_weight * switch + cfg.z_loss_weight * z) / len(out.router_logits)
    assert len(out.router_logits) == 2 and out.router_logits[0].shape == (26, cfg.num_experts)
    assert out.experts[0].shape == (26, cfg.top_k)
    assert abs(out.aux_loss.item() - expected.item()) < 1e-5


def test_every_parameter_gets_a_gradient():
    model = randomized(CausalLM(tiny_config(moe_config())), seed=4)
    out = model(torch.randint(0, 61, (2, 9)))
    (out.logits_BTV.logsumexp(-1).mean() + out.aux_loss).backward()
    without_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without_grad == []


def test_dense_model_has_zero_aux_loss_and_no_router_outputs():
    out = CausalLM(tiny_config()).eval()(torch.randint(0, 61, (1, 4)))
    assert out.aux_loss.item() == 0.0 and out.router_logits == [] and out.experts == []
    assert out.logits_BTV.shape == (1, 4, 61)


def test_tied_embeddings_share_one_tensor():
    model = CausalLM(tiny_config(tie_word_embeddings=True))
    assert model.lm_head.weight is model.model.embed_tokens.weight


def test_config_errors_are_clear():
    with pytest.raises(ValidationError, match="multiple of num_key_value_heads"):
        tiny_config(num_key_value_heads=3)
    with pytest.raises(ValidationError, match="divisible by num_attention_heads"):
        tiny_config(hidden_size=30)
    with pytest.raises(ValidationError, match="top_k 7 exceeds num_experts 6"):
        moe_config(top_k=7)
    with pytest.raises(ValidationError, match="extra"):
        ModelConfig(**tiny_config().model_dump(), dropout=0.1)


def test_segment_ids_shape_mismatch_is_an_error():
    model = CausalLM(tiny_config())
    with pytest.raises(ValueError, match="segment_ids shape"):
        model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 5, dtype=torch.long))
