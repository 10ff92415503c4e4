"""The memory plan against what exists: parameter counts of a really assembled MoE, the optimizer's real state,
the bytes autograd really saves, and the command on the shipped 7B recipe."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.innovator import dense_ffn_weights, is_router_parameter
from sciloom.trainer.memory_plan import (GB, Cluster, TrainingWontFit, activation_bytes, check_fits, plan_stage,
                                         plan_training)
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig
from sciloom.trainer.upcycle import assemble_innovator

REPO = Path(__file__).resolve().parents[2]
DENSE = ModelConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_layers=3, num_attention_heads=4,
                    num_key_value_heads=2)
STAGE = {"steps": 1, "batch_size": 2}
TRAINER = TrainerConfig.model_validate({"dense": {"model": DENSE.model_dump()}, "innovator": {
    "granularity": 4, "top_k": 4, "expert_induction": STAGE, "routing_warmup": STAGE, "integration": STAGE}})
CPU = Cluster(1, 64.0, device="cpu")


def test_parameter_counts_are_those_of_the_model_innovator_assembles() -> None:
    dense = CausalLM(DENSE)
    moe = assemble_innovator(dense, {d: dense_ffn_weights(dense) for d in ("physics", "biology", "medicine")},
                             granularity=4, top_k=4)
    plans = {p.stage: p for p in plan_training(TRAINER, ["physics", "biology", "medicine"], 32, CPU)}
    assert plans["4 integration"].parameters == sum(p.numel() for p in moe.parameters())
    assert plans["1 expert induction (each discipline)"].parameters == sum(p.numel() for p in dense.parameters())
    # routers: one row per routed expert (3 disciplines x 4) of the hidden size, per layer
    assert plans["3 routing warmup"].trainable == 3 * 12 * 64
    assert plans["1 expert induction (each discipline)"].trainable == 3 * 3 * 64 * 128


def test_optimizer_and_gradient_bytes_are_what_adamw_really_holds() -> None:
    moe = assemble_innovator(CausalLM(DENSE), {"physics": dense_ffn_weights(CausalLM(DENSE))}, granularity=4, top_k=2)
    plan = plan_stage("warmup", moe, is_router_parameter, CPU, tokens=16)
    for name, p in moe.named_parameters():
        p.requires_grad_(is_router_parameter(name))
    optimizer = torch.optim.AdamW([p for p in moe.parameters() if p.requires_grad])
    moe(torch.randint(0, 512, (2, 8))).logits_BTV.sum().backward()
    optimizer.step()
    state_bytes = sum(t.numel() * t.element_size() for s in optimizer.state.values() for t in s.values() if t.ndim)
    grad_bytes = sum(p.grad.numel() * p.grad.element_size() for p in moe.parameters() if p.grad is not None)
    weight_bytes = sum(p.numel() * p.element_size() for p in moe.parameters())
    assert plan.optimizer_gb * GB == state_bytes
    assert plan.gradients_gb * GB == grad_bytes
    assert plan.weights_gb * GB == weight_bytes


def saved_activation_bytes(model: CausalLM, ids_BT: torch.Tensor) -> int:
    """Bytes of the distinct storages autograd keeps for backward, parameters excluded."""
    saved: dict[int, int] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        logits_BTV = model(ids_BT).logits_BTV
        torch.nn.functional.cross_entropy(logits_BTV.float().flatten(0, 1), ids_BT.flatten())
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(size for ptr, size in saved.items() if ptr not in weights)


@pytest.mark.parametrize("moe", [None, MoEConfig(num_experts=8, top_k=2, expert_intermediate_size=64,
                                                 shared_expert_intermediate_size=128)], ids=["dense", "moe"])
def test_activation_estimate_is_close_to_the_bytes_autograd_saves(moe) -> None:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=512, hidden_size=128, intermediate_size=256, num_layers=4, num_attention_heads=4,
                         num_key_value_heads=2, moe=moe)
    model = CausalLM(config)
    ids_BT = torch.randint(0, 512, (4, 128))
    estimate = activation_bytes(config, ids_BT.numel(), checkpointing=False, compute_bytes=4)
    measured = saved_activation_bytes(model, ids_BT)
    assert 0.85 < estimate / measured < 1.2, (estimate, measured)
    # checkpointed: only block inputs and the logits stay; the estimate adds one block's recompute on top
    model.activation_checkpointing = True
    measured_ckpt = saved_activation_bytes(model, ids_BT)
    estimate_ckpt = activation_bytes(config, ids_BT.numel(), checkpointing=True, compute_bytes=4)
    assert measured_ckpt < measured / 2
    assert measured_ckpt < estimate_ckpt < measured


def test_checkpointed_blocks_give_the_same_gradients() -> None:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, moe=MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16))
    model = CausalLM(config)
    ids_BT = torch.randint(0, 64, (2, 16))
    grads = []
    for checkpointing in (False, True):
        model.zero_grad()
        model.activation_checkpointing = checkpointing
        out = model(ids_BT)
        (out.logits_BTV.sum() + out.aux_loss).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_a_stage_that_cannot_fit_is_refused_naming_it() -> None:
    plans = plan_training(TRAINER, ["physics"], 32, Cluster(1, 0.001, device="cpu"))
    assert not any(p.fits for p in plans)
    with pytest.raises(TrainingWontFit, match="4 integration"):
        check_fits(plans, Cluster(1, 0.001, device="cpu"))


def sciloom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from sciloom.cli import main; main()", *args], cwd=REPO,
                          capture_output=True, text=True)


def test_the_7b_recipe_fits_eight_80gb_gpus_and_not_eight_24gb_ones() -> None:
    fits = sciloom("plan-training", "recipes/cc_qwen7b.yaml", "--gpus", "8", "--gpu-memory", "80")
    assert fits.returncode == 0, fits.stderr
    assert "4 integration" in fits.stdout and "53.25B" in fits.stdout and "every stage fits" in fits.stdout
    small = sciloom("plan-training", "recipes/cc_qwen7b.yaml", "--gpus", "8", "--gpu-memory", "24")
    assert small.returncode == 2
    assert "out of memory" in small.stderr and "4 integration" in small.stderr


def test_a_given_model_config_that_cannot_be_read_is_named_not_replaced_by_a_guess(tmp_path: Path) -> None:
    """--model-config used to be skipped when missing (the published 7B shape was planned instead), ignored when the
    recipe gives dense.model, and a traceback when it was not JSON or lacked a field."""
    cases = {"missing.json": None, "not-json.json": "xx", "list.json": "[1]",
             "partial.json": '{"model_type": "qwen2", "hidden_size": 64}'}
    expected = {"missing.json": "not a readable JSON file", "not-json.json": "not a readable JSON file",
                "list.json": "expected a JSON object, found list", "partial.json": "field 'num_attention_heads' missing"}
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        result = sciloom("plan-training", "recipes/cc_qwen7b.yaml", "--gpus", "8", "--gpu-memory", "80",
                         "--model-config", str(path))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(f"sciloom: HFModelUnreadable: {path}: {expected[name]}"), result.stderr
    both = sciloom("plan-training", "recipes/demo.yaml", "--gpus", "1", "--gpu-memory", "80",
                   "--model-config", str(tmp_path / "partial.json"))
    assert both.returncode == 2 and "trainer.dense.model already gives the dense model's shape" in both.stderr
