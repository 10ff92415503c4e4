"""benchmarks/replicate/metrics.py: parameter and FLOP counts against direct counts, document-level routing
accuracy against a hand-computed example, and document numbering against the documents written."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "replicate"))

from metrics import document_index, document_routing_accuracy, flops_per_token, parameter_counts  # noqa: E402

from sciloom.mixer.indexed_dataset import token_dtype  # noqa: E402
from sciloom.mixer.manifest import build_manifest, write_manifest  # noqa: E402
from sciloom.mixer.pack import PackedShardWriter  # noqa: E402
from sciloom.mixer.shard_reader import PackedShardDataset  # noqa: E402
from sciloom.trainer.model import CausalLM, ModelConfig  # noqa: E402
from sciloom.trainer.moe import MoEConfig  # noqa: E402

NAMES = ["mathematics", "physics", "chemistry", "general"]


def _model(moe: MoEConfig | None) -> CausalLM:
    torch.manual_seed(0)
    return CausalLM(ModelConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, moe=moe))


def test_document_routing_accuracy_matches_a_hand_computed_example() -> None:
    # Groups: 0 owned by mathematics (0), 1 by physics (1). general (3) documents are not scored.
    document = np.array([7, 7, 7, 8, 8, 9, 9, 4])
    discipline = np.array([0, 0, 0, 1, 1, 0, 0, 3])
    mass = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7],   # doc 7 (math): 1.4 vs 1.6 -> physics: miss
                     [0.4, 0.6], [0.45, 0.55],            # doc 8 (physics): 0.85 vs 1.15 -> hit, share 0.575
                     [0.6, 0.4], [0.7, 0.3],              # doc 9 (math): hit
                     [1.0, 0.0]])                         # doc 4: general, left out
    got = document_routing_accuracy(document, discipline, mass, [0, 1], NAMES)
    assert got["documents"] == 3
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["accuracy_over_half"] == pytest.approx(2 / 3)
    assert got["majority_baseline"] == pytest.approx(2 / 3)  # two of three documents are mathematics
    assert got["per_discipline"] == {"mathematics": 0.5, "physics": 1.0}
    assert got["mean_over_disciplines"] == pytest.approx(0.75)
    assert got["mean_group_share_by_discipline"]["physics"] == pytest.approx([0.425, 0.575])


def test_active_parameters_equal_a_model_that_holds_only_the_chosen_experts() -> None:
    moe = MoEConfig(num_experts=6, top_k=2, expert_intermediate_size=16, shared_expert_intermediate_size=32)
    model = _model(moe)
    counts = parameter_counts(model)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    only_chosen = _model(moe.model_copy(update={"num_experts": 2}))
    # The router still scores all six experts: 4 more rows of 32 per layer.
    assert counts["active"] == sum(p.numel() for p in only_chosen.parameters()) + 2 * 4 * 32
    dense = _model(None)
    assert parameter_counts(dense)["active"] == parameter_counts(dense)["total"]


@pytest.mark.parametrize("moe", [None, MoEConfig(num_experts=6, top_k=2, expert_intermediate_size=16,
                                                 shared_expert_intermediate_size=32)])
def test_flops_per_token_match_torch_flop_counter(moe: MoEConfig | None) -> None:
    model = _model(moe).eval()
    tokens = 12
    # The math backend runs attention as matmuls the counter sees (it skips the fused CPU kernel), over the full
    # T x T product (causal masking does not skip work): context = T.
    with FlopCounterMode(display=False) as counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(torch.randint(0, 50, (1, tokens)))
    assert flops_per_token(model, context=tokens) == pytest.approx(counter.get_total_flops() / tokens, rel=1e-9)


def test_document_index_numbers_documents_across_sequence_boundaries(tmp_path: Path) -> None:
    lengths = [10, 30, 5]  # at 16 tokens per sequence, document 1 spans three sequences
    with PackedShardWriter(tmp_path / "part-00000", 16, token_dtype(50), pad_id=0, pad_discipline=3) as writer:
        for n, length in enumerate(lengths):
            writer.add_document(np.full(length, n + 1, dtype=np.int64), n)
        part = writer.close()
    write_manifest(tmp_path, build_manifest(seq_len=16, token_dtype="uint16", vocab_size=50, pad_id=0,
                                            disciplines=NAMES, tokenizer_sha256="t", recipe_hash="t", parts=[part]))
    dataset = PackedShardDataset(tmp_path)
    ids = np.concatenate(document_index(dataset))
    tokens = np.concatenate([dataset[i]["tokens"] for i in range(len(dataset))])
    real = tokens > 0  # the tail is padding (token 0): a record of its own
    assert (ids[real] == tokens[real] - 1).all()
    assert len(np.unique(ids[~real])) == 1 and ids[~real][0] == 3
