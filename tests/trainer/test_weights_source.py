"""Weights on disk: a meta-device model's tensors read from safetensors files and from a sharded checkpoint."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp

from sciloom.trainer.hf_io import load_hf, save_hf
from sciloom.trainer.innovator import dense_ffn_weights
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.upcycle import assemble_innovator
from sciloom.trainer.weights_source import WeightsSource, source_of, tensors

DENSE = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                    num_key_value_heads=2)


def induced(seeds: list[int]) -> dict[str, list[dict[str, torch.Tensor]]]:
    out = {}
    for seed in seeds:
        torch.manual_seed(seed)
        out[f"d{seed}"] = dense_ffn_weights(CausalLM(DENSE))
    return out


@pytest.mark.parametrize("learned", [False, True], ids=["fixed-scale", "learned-scale"])
def test_the_split_written_to_files_holds_the_in_memory_split(tmp_path: Path, learned: bool) -> None:
    torch.manual_seed(0)
    dense = CausalLM(DENSE)
    ffns = induced([1, 2])
    shape = dict(granularity=4, top_k=4, routed_scale=2.0, learned_routed_scale=learned)
    in_memory = assemble_innovator(dense, ffns, **shape)
    on_disk = assemble_innovator(dense, ffns, **shape, into=tmp_path / "moe")
    assert on_disk.model.embed_tokens.weight.is_meta and source_of(on_disk) is not None
    assert on_disk.config == in_memory.config
    names = list(in_memory.state_dict())
    assert ("model.layers.0.mlp.routed_scale" in names) is learned
    from_files = tensors(on_disk, names)
    assert all(torch.equal(from_files[n], in_memory.state_dict()[n]) for n in names)
    # the export streamed from the files, a layer at a time, is the export of the in-memory model
    save_hf(in_memory, tmp_path / "a", max_shard_bytes=30_000)
    save_hf(on_disk, tmp_path / "b", max_shard_bytes=30_000)
    assert (tmp_path / "a" / "model.safetensors.index.json").read_text() == \
        (tmp_path / "b" / "model.safetensors.index.json").read_text()
    a, b = load_hf(tmp_path / "a").state_dict(), load_hf(tmp_path / "b").state_dict()
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_a_checkpoint_folder_reads_back_by_name(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = CausalLM(DENSE)
    dcp.save(model.state_dict(), checkpoint_id=tmp_path / "ckpt")  # one process: no process group needed
    source = WeightsSource(tmp_path / "ckpt", "checkpoint")
    everything = source.read(sorted(model.state_dict()))  # every tensor of the model is in the checkpoint
    assert all(torch.equal(everything[n], t) for n, t in model.state_dict().items())
    got = source.read(["model.layers.1.mlp.up_proj.weight", "lm_head.weight"])
    assert torch.equal(got["lm_head.weight"], model.lm_head.weight)
    assert torch.equal(got["model.layers.1.mlp.up_proj.weight"], model.model.layers[1].mlp.up_proj.weight)
    before = source.fingerprint()
    assert before == WeightsSource(tmp_path / "ckpt", "checkpoint").fingerprint()
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)
    dcp.save(model.state_dict(), checkpoint_id=tmp_path / "ckpt")
    assert source.fingerprint() != before
