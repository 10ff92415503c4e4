"""Induced FFNs through disk: bf16 files read back one layer at a time give the same MoE as the weights in memory."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sciloom.trainer.induced_ffn_files import InducedFFNFile, write_induced_ffn
from sciloom.trainer.innovator import dense_ffn_weights
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.upcycle import assemble_innovator

DENSE = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=3, num_attention_heads=4,
                    num_key_value_heads=2)


def induced_models(seeds: list[int]) -> list[CausalLM]:
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(CausalLM(DENSE))
    return models


def test_file_holds_each_layer_in_bf16_and_reads_it_back(tmp_path: Path) -> None:
    (model,) = induced_models([1])
    path = write_induced_ffn(model, tmp_path / "ffn.safetensors")
    layers = InducedFFNFile(path)
    assert len(layers) == 3
    for i, expected in enumerate(dense_ffn_weights(model)):
        for proj, weight in expected.items():
            assert layers[i][proj].dtype == torch.float32
            assert torch.equal(layers[i][proj], weight.to(torch.bfloat16).float())
    with pytest.raises(IndexError, match="layer 3 of 3"):
        layers[3]


def test_split_from_files_equals_split_from_memory(tmp_path: Path) -> None:
    dense, physics, biology = induced_models([0, 1, 2])
    files = {name: InducedFFNFile(write_induced_ffn(m, tmp_path / f"{name}.safetensors"))
             for name, m in (("physics", physics), ("biology", biology))}
    in_memory = {name: [{k: v.to(torch.bfloat16).float() for k, v in layer.items()} for layer in dense_ffn_weights(m)]
                 for name, m in (("physics", physics), ("biology", biology))}
    from_files = assemble_innovator(dense, files, granularity=4, top_k=4, routed_scale=2.0).state_dict()
    from_memory = assemble_innovator(dense, in_memory, granularity=4, top_k=4, routed_scale=2.0).state_dict()
    assert from_files.keys() == from_memory.keys()
    assert all(torch.equal(from_files[k], from_memory[k]) for k in from_files)
    # and the experts really are the induced weights (not the dense ones): physics' first slice is expert 0
    gate_up = from_files["model.layers.0.mlp.experts.gate_up_proj"]
    assert torch.equal(gate_up[0, :16], in_memory["physics"][0]["gate_proj"][:16])
