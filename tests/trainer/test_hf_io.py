"""Hugging Face interop: our logits equal transformers' on the same weights, in both directions."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2MoeConfig, Qwen2MoeForCausalLM

from sciloom.trainer.hf_io import HFModelUnreadable, load_hf, save_hf
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig

TOL = 1e-5
COMMON = dict(
    vocab_size=71, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, rope_parameters={"rope_type": "default", "rope_theta": 5000.0},
)


def randomize_(model: torch.nn.Module, seed: int) -> None:
    """Scale every weight up (norm weights around 1, biases non-zero) so a mapping error shows in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            centre = 1.0 if "norm" in name else 0.0
            p.copy_(centre + 0.15 * torch.randn(p.shape, generator=g))


def hf_dense(tie: bool = False) -> Qwen2ForCausalLM:
    model = Qwen2ForCausalLM(Qwen2Config(**COMMON, tie_word_embeddings=tie))
    randomize_(model, seed=0)
    return model.eval()


def hf_moe(norm_topk_prob: bool) -> Qwen2MoeForCausalLM:
    config = Qwen2MoeConfig(
        **COMMON, num_experts=8, num_experts_per_tok=3, moe_intermediate_size=16,
        shared_expert_intermediate_size=40, norm_topk_prob=norm_topk_prob,
    )
    model = Qwen2MoeForCausalLM(config)
    randomize_(model, seed=1)
    return model.eval()


def max_diff(ours: CausalLM, theirs: torch.nn.Module, seed: int = 0) -> float:
    ids = torch.randint(0, 71, (2, 17), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return (ours.eval()(ids).logits_BTV - theirs(ids).logits).abs().max().item()


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_dense_roundtrip_matches_transformers(tmp_path, tie):
    theirs = hf_dense(tie)
    theirs.save_pretrained(tmp_path / "hf")
    ours = load_hf(tmp_path / "hf")
    assert ours.config.tie_word_embeddings is tie and ours.config.rope_theta == 5000.0
    assert max_diff(ours, theirs) < TOL
    save_hf(ours, tmp_path / "ours")
    reloaded = Qwen2ForCausalLM.from_pretrained(tmp_path / "ours").eval()
    assert reloaded.config.model_type == "qwen2"
    assert max_diff(ours, reloaded, seed=1) < TOL


@pytest.mark.parametrize("norm_topk_prob", [False, True])
def test_moe_roundtrip_matches_transformers(tmp_path, norm_topk_prob):
    theirs = hf_moe(norm_topk_prob)
    theirs.save_pretrained(tmp_path / "hf")
    ours = load_hf(tmp_path / "hf")
    assert ours.config.moe.normalizes_top_k is norm_topk_prob
    assert max_diff(ours, theirs) < TOL
    save_hf(ours, tmp_path / "ours")
    # We write the same tensors under the same names as transformers' own save_pretrained.
    names = {}
    for folder in ("hf", "ours"):
        with safe_open(tmp_path / folder / "model.safetensors", "pt") as f:
            names[folder] = set(f.keys())
    assert names["ours"] == names["hf"]
    reloaded = Qwen2MoeForCausalLM.from_pretrained(tmp_path / "ours").eval()
    assert reloaded.config.norm_topk_prob is norm_topk_prob
    assert max_diff(ours, reloaded, seed=1) < TOL


def test_topk_then_softmax_exports_as_normalized_top_k(tmp_path):
    moe = MoEConfig(num_experts=8, top_k=2, expert_intermediate_size=16, shared_expert_intermediate_size=24,
                    score_order="topk_then_softmax")
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))
    randomize_(ours, seed=2)
    save_hf(ours, tmp_path)
    reloaded = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert reloaded.config.norm_topk_prob is True
    assert max_diff(ours, reloaded) < TOL


def test_moe_without_shared_expert_exports_an_inert_one(tmp_path):
    moe = MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16, shared_expert_intermediate_size=0)
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))
    randomize_(ours, seed=3)
    save_hf(ours, tmp_path)
    reloaded = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert reloaded.model.layers[0].mlp.shared_expert.down_proj.weight.abs().max().item() == 0.0
    assert max_diff(ours, reloaded) < TOL


def test_sharded_checkpoint_loads(tmp_path):
    theirs = hf_dense()
    theirs.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert max_diff(load_hf(tmp_path), theirs) < TOL


def test_unsupported_configs_are_rejected(tmp_path):
    hf_dense().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(ValueError, match="model_type 'llama' is not qwen2"):
        load_hf(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "use_sliding_window": True}))
    with pytest.raises(ValueError, match="sliding-window"):
        load_hf(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(ValueError, match="missing"):
        load_hf(tmp_path)
    with pytest.raises(HFModelUnreadable, match="absent: no config.json"):
        load_hf(tmp_path / "absent")


def test_exported_aux_loss_coefficient_means_the_same_in_transformers(tmp_path):
    """transformers' Qwen2-MoE adds router_aux_loss_coef * its load-balancing loss; on a one-layer model (where its
    pooling over layers and our mean over layers agree) that product must equal our weighted loss."""
    moe = MoEConfig(num_experts=8, top_k=3, expert_intermediate_size=16, aux_loss_weight=0.02, z_loss_weight=0.0)
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=1,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))
    randomize_(ours, seed=5)
    save_hf(ours, tmp_path)
    theirs = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(0, 71, (2, 17), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        ours_aux = ours.eval()(ids).aux_loss
        out = theirs(ids, output_router_logits=True)
    assert theirs.config.router_aux_loss_coef == pytest.approx(0.02 / 3)
    assert (theirs.config.router_aux_loss_coef * out.aux_loss).item() == pytest.approx(ours_aux.item(), rel=1e-5)


def test_loss_weights_and_special_tokens_survive_export_and_import(tmp_path):
    moe = MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16, aux_loss_weight=0.03, z_loss_weight=0.002)
    config = ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, bos_token_id=None, eos_token_id=70, moe=moe)
    save_hf(CausalLM(config), tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["eos_token_id"] == 70 and written["router_z_loss_coef"] == 0.002
    loaded = load_hf(tmp_path).config
    assert loaded.eos_token_id == 70 and loaded.bos_token_id is None
    assert loaded.moe.aux_loss_weight == pytest.approx(0.03) and loaded.moe.z_loss_weight == pytest.approx(0.002)


def test_export_is_sharded_with_an_index_that_transformers_reads(tmp_path):
    moe = MoEConfig(num_experts=8, top_k=3, expert_intermediate_size=16, shared_expert_intermediate_size=40)
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))
    randomize_(ours, seed=7)
    save_hf(ours, tmp_path, max_shard_bytes=20_000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    files = sorted(tmp_path.glob("model-*.safetensors"))
    assert len(files) > 2 and not (tmp_path / "model.safetensors").exists()
    held = {}
    for file in files:
        with safe_open(file, "pt") as f:
            held.update({name: (file.name, f.get_tensor(name)) for name in f.keys()})
    # every tensor is in the file the index names, every file's tensor is indexed, and the sizes add up
    assert index["weight_map"] == {name: file for name, (file, _) in held.items()}
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for _, t in held.values())
    for file in files:  # no file over the limit, unless a single tensor exceeds it
        tensors = [t for in_file, t in held.values() if in_file == file.name]
        assert len(tensors) == 1 or sum(t.numel() * t.element_size() for t in tensors) <= 20_000
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["Qwen2MoeForCausalLM"]
    theirs = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert max_diff(ours, theirs) < TOL
    assert max_diff(load_hf(tmp_path), theirs) < TOL
    # a later export that fits in one file leaves no stale shard or index behind
    save_hf(ours, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("model*")) == ["model.safetensors"]
    assert max_diff(load_hf(tmp_path), theirs) < TOL


def test_dense_export_names_its_architecture(tmp_path):
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2))
    save_hf(ours, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["Qwen2ForCausalLM"]


def test_a_learned_routed_scale_is_folded_into_the_exported_experts(tmp_path):
    """Qwen2-MoE has no routed scale: the export multiplies each layer's expert down_proj by it, and transformers
    then computes our logits; a scale of 1 is the plain block."""
    moe = MoEConfig(num_experts=8, top_k=3, expert_intermediate_size=16, shared_expert_intermediate_size=40,
                    learned_routed_scale=True)
    ours = CausalLM(ModelConfig(vocab_size=71, hidden_size=32, intermediate_size=48, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))
    randomize_(ours, seed=5)
    plain = CausalLM(ours.config.model_copy(update={"moe": moe.model_copy(update={"learned_routed_scale": False})}))
    ids = torch.randint(0, 71, (2, 17), generator=torch.Generator().manual_seed(0))

    def ours_minus_plain() -> float:
        return (ours.eval()(ids).logits_BTV - plain.eval()(ids).logits_BTV).abs().max().item()

    with torch.no_grad():
        for layer in ours.model.layers:
            layer.mlp.routed_scale.fill_(1.0)
        plain.load_state_dict({k: v for k, v in ours.state_dict().items() if not k.endswith("routed_scale")})
        assert ours_minus_plain() == 0.0
        for layer, scale in zip(ours.model.layers, (1.7, -0.4)):
            layer.mlp.routed_scale.fill_(scale)
        assert ours_minus_plain() > 1e-2  # the scale changes the function
    save_hf(ours, tmp_path)
    reloaded = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert max_diff(ours, reloaded) < TOL
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        assert not any(name.endswith("routed_scale") for name in f.keys())
