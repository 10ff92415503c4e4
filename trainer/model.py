"""A Qwen2-style decoder-only language model, dense or Mixture-of-Experts, in one readable file.

Architecture (identical to Hugging Face `Qwen2ForCausalLM` / `Qwen2MoeForCausalLM`, so weights map 1:1):
token embedding -> N x [RMSNorm -> grouped-query attention with RoPE (q/k/v with bias) -> residual,
RMSNorm -> feed-forward (dense SwiGLU, or the MoE block of trainer/moe.py) -> residual] -> RMSNorm -> lm_head.

Parameter names are the Hugging Face names (`model.layers.{i}.self_attn.q_proj.weight`, ...), so
trainer/hf_io.py maps state dicts without renaming.

Shape suffixes: B batch, T sequence, D hidden, H attention heads, K key/value heads (in attention only),
d head dimension, V vocabulary, E experts.

Packed sequences: `segment_ids_BT` marks which document each token belongs to. Positions restart at 0 at
each document start and attention never crosses a document boundary, so a packed row computes exactly what
running each document on its own would.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from sciloom.trainer.moe import MLP, MoEBlock, MoEConfig

__all__ = ["CausalLM", "CausalLMOutput", "ModelConfig", "MoEConfig"]


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    intermediate_size: int = Field(gt=0, description="dense FFN width (the MoE layers use moe.* sizes)")
    num_layers: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_key_value_heads: int = Field(gt=0)
    max_position_embeddings: int = Field(default=32768, gt=0)
    rope_theta: float = Field(default=10000.0, gt=0)
    rms_norm_eps: float = Field(default=1e-6, gt=0)
    tie_word_embeddings: bool = False
    initializer_range: float = Field(default=0.02, gt=0)
    bos_token_id: int | None = Field(default=None, ge=0, description="exported to config.json; Qwen2 uses none")
    eos_token_id: int | None = Field(default=None, ge=0, description="exported to config.json (generation stops on it)")
    moe: MoEConfig | None = None

    @model_validator(mode="after")
    def _check_heads(self) -> ModelConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} must be divisible by num_attention_heads {self.num_attention_heads}"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads {self.num_attention_heads} must be a multiple of "
                f"num_key_value_heads {self.num_key_value_heads} (grouped-query attention)"
            )
        if self.head_dim % 2:
            raise ValueError(f"head dimension {self.head_dim} must be even for rotary embeddings")
        return self

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass
class CausalLMOutput:
    logits_BTV: Tensor
    aux_loss: Tensor  # mean over MoE layers of weighted load-balancing + z losses (0 for dense)
    router_logits: list[Tensor]  # per MoE layer, [B*T, E]
    experts: list[Tensor]  # per MoE layer, [B*T, K] selected experts


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x_BTD: Tensor) -> Tensor:
        # Statistics in float32 even under bf16, as Qwen2 does; the scale multiplies in the input dtype.
        x32_BTD = x_BTD.float()
        x32_BTD = x32_BTD * torch.rsqrt(x32_BTD.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32_BTD.to(x_BTD.dtype)


def rotary_cos_sin(positions_BT: Tensor, head_dim: int, theta: float, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """cos/sin tables [B, T, d] for the rotate-half RoPE convention of Qwen2 (frequencies in float32)."""
    inv_freq_half = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float, device=positions_BT.device) / head_dim))
    freqs_BTh = positions_BT[..., None].float() * inv_freq_half
    angles_BTd = torch.cat((freqs_BTh, freqs_BTh), dim=-1)
    return angles_BTd.cos().to(dtype), angles_BTd.sin().to(dtype)


def apply_rotary(x_BHTd: Tensor, cos_BTd: Tensor, sin_BTd: Tensor) -> Tensor:
    x1, x2 = x_BHTd.chunk(2, dim=-1)
    rotated_BHTd = torch.cat((-x2, x1), dim=-1)
    return x_BHTd * cos_BTd[:, None] + rotated_BHTd * sin_BTd[:, None]


class Attention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        D = config.hidden_size
        self.q_proj = nn.Linear(D, self.num_heads * self.head_dim, bias=True)
        self.k_proj = nn.Linear(D, self.num_kv_heads * self.head_dim, bias=True)
        self.v_proj = nn.Linear(D, self.num_kv_heads * self.head_dim, bias=True)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, D, bias=False)

    def forward(self, x_BTD: Tensor, cos_BTd: Tensor, sin_BTd: Tensor, mask_B1TT: Tensor | None) -> Tensor:
        B, T, _ = x_BTD.shape
        q_BHTd = self.q_proj(x_BTD).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
        k_BKTd = self.k_proj(x_BTD).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v_BKTd = self.v_proj(x_BTD).view(B, T, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q_BHTd = apply_rotary(q_BHTd, cos_BTd, sin_BTd)
        k_BKTd = apply_rotary(k_BKTd, cos_BTd, sin_BTd)
        # Without documents to separate, is_causal lets SDPA pick its fused causal kernel.
        out_BHTd = F.scaled_dot_product_attention(
            q_BHTd, k_BKTd, v_BKTd, attn_mask=mask_B1TT, is_causal=mask_B1TT is None, enable_gqa=True
        )
        return self.o_proj(out_BHTd.transpose(1, 2).reshape(B, T, self.num_heads * self.head_dim))


class DecoderLayer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp: MLP | MoEBlock = (
            MLP(config.hidden_size, config.intermediate_size)
            if config.moe is None
            else MoEBlock(config.hidden_size, config.moe, config.initializer_range)
        )

    def forward(
        self, x_BTD: Tensor, cos_BTd: Tensor, sin_BTd: Tensor, mask_B1TT: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor] | None]:
        """Returns the new residual stream and, for an MoE layer, (aux_loss, router_logits_TE, experts_TK)."""
        x_BTD = x_BTD + self.self_attn(self.input_layernorm(x_BTD), cos_BTd, sin_BTd, mask_B1TT)
        h_BTD = self.post_attention_layernorm(x_BTD)
        if isinstance(self.mlp, MLP):
            return x_BTD + self.mlp(h_BTD), None
        B, T, D = h_BTD.shape
        moe_out = self.mlp(h_BTD.reshape(B * T, D))
        return x_BTD + moe_out.y_TD.view(B, T, D), (moe_out.aux_loss, moe_out.router_logits_TE, moe_out.experts_TK)


class DecoderStack(nn.Module):
    """Named `model` inside CausalLM so parameter names match Hugging Face's (`model.layers.0...`)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


def positions_and_mask(segment_ids_BT: Tensor) -> tuple[Tensor, Tensor]:
    """Per-document positions [B, T] and the causal, document-blocked attention mask [B, 1, T, T] (True = attend).

    Documents are maximal runs of equal segment ids, so a repeated id further along a row is still a new document.
    """
    B, T = segment_ids_BT.shape
    index_T = torch.arange(T, device=segment_ids_BT.device)
    starts_BT = torch.ones_like(segment_ids_BT, dtype=torch.bool)
    starts_BT[:, 1:] = segment_ids_BT[:, 1:] != segment_ids_BT[:, :-1]
    document_BT = starts_BT.cumsum(dim=1)
    start_index_BT = torch.where(starts_BT, index_T, 0).cummax(dim=1).values
    positions_BT = index_T - start_index_BT
    causal_TT = torch.ones(T, T, dtype=torch.bool, device=segment_ids_BT.device).tril()
    same_document_BTT = document_BT[:, :, None] == document_BT[:, None, :]
    return positions_BT, (same_document_BTT & causal_TT)[:, None]


class CausalLM(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.model = DecoderStack(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        # Recompute each block in backward instead of keeping its activations (trainer/sharding.py turns it on).
        self.activation_checkpointing = False
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def _init_weights(self, module: nn.Module) -> None:
        """Qwen2's initialisation: normal(0, initializer_range) weights, zero biases; RMSNorm weights stay 1.

        Routed experts initialise themselves the same way (GroupedExperts gets the same std)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(self, input_ids_BT: Tensor, segment_ids_BT: Tensor | None = None) -> CausalLMOutput:
        B, T = input_ids_BT.shape
        x_BTD = self.model.embed_tokens(input_ids_BT)
        if segment_ids_BT is None:
            positions_BT = torch.arange(T, device=input_ids_BT.device).expand(B, T)
            mask_B1TT = None
        else:
            if segment_ids_BT.shape != input_ids_BT.shape:
                raise ValueError(f"segment_ids shape {tuple(segment_ids_BT.shape)} != input_ids shape {(B, T)}")
            positions_BT, mask_B1TT = positions_and_mask(segment_ids_BT)
        cos_BTd, sin_BTd = rotary_cos_sin(positions_BT, self.config.head_dim, self.config.rope_theta, x_BTD.dtype)

        aux_loss = x_BTD.new_zeros((), dtype=torch.float32)
        router_logits: list[Tensor] = []
        experts: list[Tensor] = []
        checkpointing = self.activation_checkpointing and torch.is_grad_enabled()
        for layer in self.model.layers:
            if checkpointing:
                x_BTD, moe_stats = checkpoint(layer, x_BTD, cos_BTd, sin_BTd, mask_B1TT, use_reentrant=False)
            else:
                x_BTD, moe_stats = layer(x_BTD, cos_BTd, sin_BTd, mask_B1TT)
            if moe_stats is not None:
                aux_loss = aux_loss + moe_stats[0]
                router_logits.append(moe_stats[1])
                experts.append(moe_stats[2])
        if router_logits:
            # The mean, as transformers applies its coefficient (one loss over all layers' router logits): a weight
            # of 0.01 then means the same on a 2-layer and a 28-layer model. Megatron-Core instead adds each layer's
            # loss with its coefficient (a sum): its moe_aux_loss_coeff equals our weight / num MoE layers.
            aux_loss = aux_loss / len(router_logits)
        logits_BTV = self.lm_head(self.model.norm(x_BTD))
        return CausalLMOutput(logits_BTV=logits_BTV, aux_loss=aux_loss, router_logits=router_logits, experts=experts)
