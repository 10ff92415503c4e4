"""compile_for_training: the compiled model computes what the eager one does (logits, losses, gradients)."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch._dynamo.utils import counters

from sciloom.trainer.compile import compile_for_training
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig

CONFIG = ModelConfig(
    vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4, num_key_value_heads=2,
    moe=MoEConfig(num_experts=8, top_k=2, expert_intermediate_size=16, shared_expert_intermediate_size=32),
)


def _loss_and_grads(model: CausalLM, ids_BT: torch.Tensor, segment_ids_BT: torch.Tensor | None):
    model.zero_grad(set_to_none=True)
    out = model(ids_BT[:, :-1], None if segment_ids_BT is None else segment_ids_BT[:, :-1])
    loss = F.cross_entropy(out.logits_BTV.flatten(0, 1), ids_BT[:, 1:].flatten()) + out.aux_loss
    loss.backward()
    return out, {name: p.grad.clone() for name, p in model.named_parameters()}


def test_compiled_model_matches_eager_forward_and_backward() -> None:
    torch.manual_seed(0)
    eager = CausalLM(CONFIG).train()
    compiled = compile_for_training(copy.deepcopy(eager))
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # checkpoints keep their names
    ids_BT = torch.randint(0, CONFIG.vocab_size, (2, 25), generator=torch.Generator().manual_seed(1))
    segment_ids_BT = torch.tensor([[0] * 10 + [1] * 15, [0] * 25])
    counters.clear()
    for segments in (None, segment_ids_BT):
        out_eager, grads_eager = _loss_and_grads(eager, ids_BT, segments)
        out_compiled, grads_compiled = _loss_and_grads(compiled, ids_BT, segments)
        torch.testing.assert_close(out_compiled.logits_BTV, out_eager.logits_BTV, atol=1e-5, rtol=0)
        torch.testing.assert_close(out_compiled.aux_loss, out_eager.aux_loss, atol=1e-5, rtol=0)
        for left, right in zip(out_compiled.experts, out_eager.experts):
            assert torch.equal(left, right)
        for name, grad in grads_eager.items():
            torch.testing.assert_close(grads_compiled[name], grad, atol=1e-5, rtol=0, msg=name)
    # The comparison above is only meaningful if Inductor really compiled graphs.
    assert counters["stats"]["unique_graphs"] > 0
