"""Upcycling: function preservation checked in transformers, Drop-Upcycling's re-initialisation, Innovator assembly."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError
from transformers import Qwen2MoeForCausalLM

from sciloom.trainer.hf_io import save_hf
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.upcycle import UpcycleSpec, assemble_innovator, upcycle

VOCAB = 67


def dense_model(seed: int = 0, intermediate_size: int = 48) -> CausalLM:
    config = ModelConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=intermediate_size, num_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)
    model = CausalLM(config)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            centre = 1.0 if "norm" in name else 0.0
            p.copy_(centre + 0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def token_ids(seed: int = 0, shape=(3, 29)) -> torch.Tensor:
    return torch.randint(0, VOCAB, shape, generator=torch.Generator().manual_seed(seed))


def logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(ids)
    return out.logits_BTV if hasattr(out, "logits_BTV") else out.logits


@pytest.mark.parametrize("experts,granularity,top_k", [(8, 2, 4), (16, 4, 4), (8, 1, 2), (12, 3, 6)])
def test_virtual_group_uniform_preserves_dense_logits_in_transformers(tmp_path, experts, granularity, top_k):
    dense = dense_model()
    spec = UpcycleSpec(method="virtual-group", num_experts=experts, granularity=granularity, top_k=top_k,
                       router_init="uniform")
    moe = upcycle(dense, spec).eval()
    ids = token_ids()
    expected = logits(dense, ids)
    assert (logits(moe, ids) - expected).abs().max().item() <= 1e-4
    save_hf(moe, tmp_path)
    theirs = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert (logits(theirs, ids) - expected).abs().max().item() <= 1e-4


def test_contiguous_groups_would_break_under_torch_topk_ties():
    """Why the layout matters: torch.topk's tie set for E=8, K=2 straddles the contiguous pairs {4,5}, {6,7}."""
    tie_set = set(torch.topk(torch.softmax(torch.zeros(1, 8), -1), 2).indices[0].tolist())
    contiguous_pairs = [{0, 1}, {2, 3}, {4, 5}, {6, 7}]
    assert not any(tie_set == pair for pair in contiguous_pairs)


def test_virtual_group_random_router_drifts_and_the_drift_comes_from_the_selected_probability_mass(capsys):
    dense = dense_model()
    spec = UpcycleSpec(method="virtual-group", num_experts=8, granularity=2, top_k=4, router_init="random", seed=1)
    moe = upcycle(dense, spec).eval()
    ids = token_ids()
    drift = (logits(moe, ids) - logits(dense, ids)).abs()
    with torch.no_grad():
        out = moe(ids)
    # The selected copies' probability mass times E/K is the per-token factor on each FFN output.
    factors = []
    for logits_TE, experts_TK in zip(out.router_logits, out.experts):
        mass_T = torch.softmax(logits_TE, -1).gather(1, experts_TK).sum(-1)
        factors.append(mass_T * spec.num_experts / spec.top_k)
    factor = torch.cat(factors)
    with capsys.disabled():
        print(f"\nvirtual-group random router: logit drift max {drift.max():.3e} mean {drift.mean():.3e}; "
              f"FFN scale factor range [{factor.min():.4f}, {factor.max():.4f}]")
    assert drift.max().item() > 1e-4 and (factor - 1).abs().max().item() > 1e-4
    # Whole copies are selected: each token's experts hold every shard K/G times.
    shard_E = torch.empty(8, dtype=torch.long)
    for e in range(8):
        weights = moe.model.layers[0].mlp.experts.gate_up_proj[e, :24]
        shard_E[e] = next(g for g in range(2) if torch.equal(weights, dense.model.layers[0].mlp.gate_proj.weight[g * 24:(g + 1) * 24]))
    counts = F.one_hot(shard_E[out.experts[0]], 2).sum(1)
    assert (counts == 2).all()


def test_copy_preserves_dense_logits_for_any_router(tmp_path):
    dense = dense_model()
    moe = upcycle(dense, UpcycleSpec(method="copy", num_experts=4, top_k=2, router_init="random", seed=3)).eval()
    ids = token_ids(1)
    save_hf(moe, tmp_path)
    theirs = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert (logits(theirs, ids) - logits(dense, ids)).abs().max().item() <= 1e-4


def test_drop_reinitialises_one_index_set_per_expert_from_the_dense_statistics():
    I = 400
    dense = dense_model(intermediate_size=I)
    ratio = 0.25
    moe = upcycle(dense, UpcycleSpec(method="drop", num_experts=4, top_k=2, drop_ratio=ratio, seed=5))
    ffn = dense.model.layers[1].mlp
    experts = moe.model.layers[1].mlp.experts
    index_sets = []
    for e in range(4):
        gate, up = experts.gate_up_proj[e].detach().split(I)
        down = experts.down_proj[e].detach()
        changed = [
            set(torch.nonzero((gate != ffn.gate_proj.weight).any(1)).flatten().tolist()),
            set(torch.nonzero((up != ffn.up_proj.weight).any(1)).flatten().tolist()),
            set(torch.nonzero((down != ffn.down_proj.weight).any(0)).flatten().tolist()),
        ]
        assert changed[0] == changed[1] == changed[2] and len(changed[0]) == round(ratio * I)
        index_sets.append(frozenset(changed[0]))
        dropped = sorted(changed[0])
        for fresh, original in ((gate[dropped], ffn.gate_proj.weight), (down[:, dropped], ffn.down_proj.weight)):
            assert abs(fresh.mean() - original.mean()) < 0.01
            assert abs(fresh.std() / original.std() - 1) < 0.05
    assert len(set(index_sets)) == 4


def test_drop_ratio_zero_is_copy():
    dense = dense_model()
    spec = dict(num_experts=4, top_k=2, seed=7)
    a = upcycle(dense, UpcycleSpec(method="drop", drop_ratio=0.0, **spec)).state_dict()
    b = upcycle(dense, UpcycleSpec(method="copy", **spec)).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fine_grained_drop_reinitialises_a_fraction_of_each_fine_grained_expert():
    """Drop-Upcycling on virtual-group experts: per expert, round(r * I/G) of its own intermediate indices
    (gate rows, up rows, down columns alike) drawn from normal(mean, std) of the dense matrix as the experts
    hold it (W_down times the weight scale s = E*G/K); everything else is the virtual-group expert."""
    I, E, G, K, ratio = 400, 8, 2, 4, 0.25
    dense = dense_model(intermediate_size=I)
    base = upcycle(dense, UpcycleSpec(method="virtual-group", num_experts=E, granularity=G, top_k=K, seed=5))
    moe = upcycle(dense, UpcycleSpec(method="drop", num_experts=E, granularity=G, top_k=K, drop_ratio=ratio, seed=5))
    assert moe.config.moe.expert_intermediate_size == I // G
    scale = E * G / K
    ffn = dense.model.layers[1].mlp
    experts, reference = moe.model.layers[1].mlp.experts, base.model.layers[1].mlp.experts
    index_sets = []
    for e in range(E):
        gate, up = experts.gate_up_proj[e].detach().split(I // G)
        ref_gate, ref_up = reference.gate_up_proj[e].detach().split(I // G)
        down, ref_down = experts.down_proj[e].detach(), reference.down_proj[e].detach()
        changed = [
            set(torch.nonzero((gate != ref_gate).any(1)).flatten().tolist()),
            set(torch.nonzero((up != ref_up).any(1)).flatten().tolist()),
            set(torch.nonzero((down != ref_down).any(0)).flatten().tolist()),
        ]
        assert changed[0] == changed[1] == changed[2] and len(changed[0]) == round(ratio * I / G)
        index_sets.append(frozenset(changed[0]))
    # The fresh values of all experts together: their statistics are the dense ones (down scaled by s).
    dropped = [sorted(ids) for ids in index_sets]
    fresh_gate = torch.cat([experts.gate_up_proj[e, :I // G][d].detach().flatten() for e, d in enumerate(dropped)])
    fresh_down = torch.cat([experts.down_proj[e][:, d].detach().flatten() for e, d in enumerate(dropped)])
    for fresh, original in ((fresh_gate, ffn.gate_proj.weight.double()), (fresh_down, ffn.down_proj.weight.double() * scale)):
        assert abs(fresh.double().mean() - original.mean()) < 0.05 * original.std()
        assert abs(fresh.double().std() / original.std() - 1) < 0.03
    assert len(set(index_sets)) == E


def test_fine_grained_drop_ratio_zero_is_virtual_group():
    dense = dense_model()
    spec = dict(num_experts=8, granularity=2, top_k=4, seed=7)
    a = upcycle(dense, UpcycleSpec(method="drop", drop_ratio=0.0, **spec)).state_dict()
    b = upcycle(dense, UpcycleSpec(method="virtual-group", **spec)).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_invalid_specs_are_rejected():
    with pytest.raises(ValidationError, match="multiples of granularity"):
        UpcycleSpec(method="virtual-group", num_experts=8, granularity=3, top_k=3)
    with pytest.raises(ValidationError, match="granularity applies to virtual-group and drop only"):
        UpcycleSpec(method="copy", num_experts=8, granularity=2, top_k=2)
    with pytest.raises(ValidationError, match="drop_ratio"):
        UpcycleSpec(method="drop", num_experts=8, top_k=2, drop_ratio=1.5)
    with pytest.raises(ValidationError, match="drop with granularity > 1 needs"):
        UpcycleSpec(method="drop", num_experts=8, granularity=2, top_k=3)
    with pytest.raises(ValueError, match="not divisible by granularity"):
        upcycle(dense_model(intermediate_size=50), UpcycleSpec(method="virtual-group", num_experts=8, granularity=4, top_k=4))
    with pytest.raises(ValueError, match="needs a dense model"):
        upcycle(upcycle(dense_model(), UpcycleSpec(method="copy", num_experts=2, top_k=1)),
                UpcycleSpec(method="copy", num_experts=2, top_k=1))


def induced(dense: CausalLM, seed: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        {key: getattr(layer.mlp, key).weight.detach() + 0.05 * torch.randn(getattr(layer.mlp, key).weight.shape, generator=g)
         for key in ("gate_proj", "up_proj", "down_proj")}
        for layer in dense.model.layers
    ]


def test_innovator_assembly_splits_each_discipline_and_keeps_the_dense_ffn_shared(tmp_path):
    dense = dense_model()
    disciplines = ["physics", "biology", "chemistry"]
    ffns = {name: induced(dense, seed) for seed, name in enumerate(disciplines)}
    G = 4
    moe = assemble_innovator(dense, ffns, granularity=G, top_k=G, routed_scale=0.5).eval()
    groups = {name: range(i * G, (i + 1) * G) for i, name in enumerate(disciplines)}  # discipline-major layout
    assert moe.config.moe.num_experts == 12
    x_TD = torch.randn(10, 64, generator=torch.Generator().manual_seed(9))
    for i, layer in enumerate(moe.model.layers):
        block = layer.mlp
        dense_y = dense.model.layers[i].mlp(x_TD)
        shared_y = torch.sigmoid(block.shared_expert_gate(x_TD)) * block.shared_expert(x_TD)
        assert torch.equal(shared_y, dense_y)  # sigmoid(0) * (2 W_down) is exact
        for name in disciplines:
            w = ffns[name][i]
            full = F.linear(F.silu(F.linear(x_TD, w["gate_proj"])) * F.linear(x_TD, w["up_proj"]), w["down_proj"])
            pieces = 0
            for e in groups[name]:
                gate_up = block.experts.gate_up_proj[e]
                h_gate, h_up = F.linear(x_TD, gate_up).chunk(2, dim=-1)
                pieces = pieces + F.linear(F.silu(h_gate) * h_up, block.experts.down_proj[e])
            assert (pieces - 0.5 * full).abs().max().item() < 1e-5
    # The zero router ties every score (each router picks its own tie set), so give it stage-3-like weights first.
    with torch.no_grad():
        for layer in moe.model.layers:
            layer.mlp.gate.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(11))
    ids = token_ids(2)
    save_hf(moe, tmp_path)
    theirs = Qwen2MoeForCausalLM.from_pretrained(tmp_path).eval()
    assert (logits(theirs, ids) - logits(moe, ids)).abs().max().item() < 1e-5


def test_innovator_rejects_mismatched_induced_ffns():
    dense = dense_model()
    bad = induced(dense, 0)[:1]
    with pytest.raises(ValueError, match="has 1 layers"):
        assemble_innovator(dense, {"physics": bad}, granularity=2, top_k=2)
    with pytest.raises(ValueError, match="at least one"):
        assemble_innovator(dense, {}, granularity=2, top_k=2)


def cli_app():
    import typer

    from sciloom.upcycle_command import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A group, so the command is invoked by name as under `sciloom`."""

    register(app)
    return app


def test_upcycle_command_writes_a_folder_transformers_loads(tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from typer.testing import CliRunner

    dense_hf = Qwen2ForCausalLM(Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=48, num_hidden_layers=2,
                                            num_attention_heads=4, num_key_value_heads=2))
    dense_hf.load_state_dict(dense_model().state_dict())  # same names; weights large enough for the FFN to matter
    dense_hf.save_pretrained(tmp_path / "dense")
    (tmp_path / "dense" / "tokenizer.json").write_text("{}")
    args = ["upcycle", "--dense", str(tmp_path / "dense"), "--out", str(tmp_path / "moe"), "--method", "virtual-group",
            "--experts", "8", "--granularity", "2", "--top-k", "4", "--router-init", "uniform"]
    runner = CliRunner(env={"COLUMNS": "400"})  # no rich line wrapping inside error messages
    result = runner.invoke(cli_app(), args)
    assert result.exit_code == 0, result.output
    assert "logit drift vs dense" in result.output
    moe_hf = Qwen2MoeForCausalLM.from_pretrained(tmp_path / "moe").eval()
    assert moe_hf.config.num_experts == 8 and moe_hf.config.moe_intermediate_size == 24
    assert (tmp_path / "moe" / "tokenizer.json").is_file() and not (tmp_path / "moe.partial").exists()
    ids = token_ids(4)
    assert (logits(moe_hf, ids) - logits(dense_hf.eval(), ids)).abs().max().item() <= 1e-4

    again = runner.invoke(cli_app(), args)
    assert again.exit_code != 0 and "not empty" in again.output
    bad = runner.invoke(cli_app(), [*args[:3], "--out", str(tmp_path / "other"), *args[5:7], "--experts", "8",
                                         "--granularity", "3", "--top-k", "3"])
    assert bad.exit_code != 0 and "multiples of granularity" in bad.output


def test_upcycle_names_the_file_of_a_dense_folder_it_cannot_read(tmp_path):
    """A damaged folder used to end in a traceback (KeyError, AttributeError, SafetensorError) or in torch's
    thirteen-line size-mismatch report, with exit code 1 as if the data had failed."""
    import json
    import shutil

    from transformers import Qwen2Config, Qwen2ForCausalLM
    from typer.testing import CliRunner

    good = tmp_path / "good"
    Qwen2ForCausalLM(Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                                 num_attention_heads=4, num_key_value_heads=2)).save_pretrained(good)
    config = json.loads((good / "config.json").read_text())

    def damaged(name, edit):
        folder = tmp_path / name
        shutil.copytree(good, folder)
        edit(folder)
        return folder

    cases = {
        "list": (lambda f: (f / "config.json").write_text("[1]"), "config.json: expected a JSON object, found list"),
        "no heads": (lambda f: (f / "config.json").write_text(json.dumps(
            {k: v for k, v in config.items() if k != "num_attention_heads"})), "field 'num_attention_heads' missing"),
        "truncated": (lambda f: (f / "model.safetensors").write_bytes((good / "model.safetensors").read_bytes()[:1000]),
                      "model.safetensors: not readable as safetensors"),
        "wider": (lambda f: (f / "config.json").write_text(json.dumps({**config, "hidden_size": 64})),
                  f"weight(s) not of the shape config.json gives, e.g. lm_head.weight [{VOCAB}, 32] "
                  f"(config.json: [{VOCAB}, 64])"),
    }
    runner = CliRunner(env={"COLUMNS": "400"})
    for name, (edit, expected) in cases.items():
        folder = damaged(name, edit)
        result = runner.invoke(cli_app(), ["upcycle", "--dense", str(folder), "--out", str(tmp_path / f"out-{name}"),
                                           "--method", "copy", "--experts", "4", "--top-k", "2"])
        assert result.exit_code == 2, (name, result.output)
        assert result.output.startswith(f"error: {folder}") and expected in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / f"out-{name}").exists()
