"""Innovator's four stages end to end on synthetic discipline streams written by the mixer's shard writer."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from streams import VOCAB, write_innovator_streams
from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.hf_io import load_hf
from sciloom.trainer.pipeline import run_training

DISCIPLINES = ["mathematics", "physics", "biology", "general"]
SCIENCE = ["mathematics", "physics", "biology"]


def _config(batch_size: int = 8) -> TrainerConfig:
    stage = {"batch_size": batch_size, "warmup_steps": 2, "checkpoint_every": 10}
    return TrainerConfig.model_validate({
        "dense": {
            "model": {"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64},
            "pretrain": {"steps": 20, "lr": 0.01, **stage},
        },
        "innovator": {
            "granularity": 2, "top_k": 2,
            "expert_induction": {"steps": 6, "lr": 0.005, **stage},
            "routing_warmup": {"steps": 40, "lr": 0.05, **stage},
            "integration": {"steps": 8, "lr": 0.003, **stage},
        },
        "eval_batch_size": 8,
    })


SHARDED_RUN = Path(__file__).with_name("run_sharded_innovator.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("innovator")
    shards = write_innovator_streams(root / "shards", DISCIPLINES, SCIENCE)
    summary = run_training(_config(), shards, root / "trainer", DISCIPLINES, seed=0)
    return root / "trainer", summary


def test_stages_run_in_order_and_routing_warmup_reaches_target(trained: tuple[Path, dict]) -> None:
    out, summary = trained
    report = json.loads((out / "report.json").read_text())
    stages = list(report["stages"])
    assert stages == ["1_expert_induction/biology", "1_expert_induction/mathematics", "1_expert_induction/physics",
                      "2_expert_split", "3_routing_warmup", "4_integration"]
    assert report["stages"]["2_expert_split"]["experts"] == 6
    # Stage 1 trains only the FFN copy: attention, norms and embeddings are frozen.
    ffn_params = report["stages"]["1_expert_induction/physics"]["trainable_parameters"]
    assert ffn_params == 2 * 3 * 32 * 64
    # Stage 3 trains only the routers: 2 layers x [6 experts, 32].
    assert report["stages"]["3_routing_warmup"]["trainable_parameters"] == 2 * 6 * 32
    accuracy = report["routing_accuracy_after_warmup"]
    assert accuracy["accuracy"] >= 0.9, accuracy
    assert set(accuracy["per_discipline"]) == set(SCIENCE)
    assert accuracy["mean_over_disciplines"] == pytest.approx(sum(accuracy["per_discipline"].values()) / len(SCIENCE))
    assert 1 / len(SCIENCE) <= accuracy["majority_baseline"] < accuracy["accuracy"]
    assert summary["held_out_loss_moe"] == pytest.approx(report["held_out"]["moe"]["loss"])
    assert (out / "routing_heatmap.png").stat().st_size > 1000 and (out / "expert_load.png").exists()


def test_exported_moe_loads_in_transformers_with_our_logits(trained: tuple[Path, dict]) -> None:
    from transformers import Qwen2MoeForCausalLM

    out, _ = trained
    ours = load_hf(out / "hf_moe").eval()
    theirs = Qwen2MoeForCausalLM.from_pretrained(out / "hf_moe", torch_dtype=torch.float32).eval()
    input_ids = torch.randint(1, VOCAB, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (ours(input_ids).logits_BTV - theirs(input_ids).logits).abs().max().item()
    assert diff <= 1e-5


def test_rerun_reuses_every_finished_stage(trained: tuple[Path, dict], tmp_path: Path) -> None:
    out, summary = trained
    before = {p: p.stat().st_mtime_ns for p in out.rglob("final.safetensors")}
    shards = out.parent / "shards"
    again = run_training(_config(), shards, out, DISCIPLINES, seed=0)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("final.safetensors")} == before
    assert again["routing_accuracy_after_warmup"] == summary["routing_accuracy_after_warmup"]
    assert again["held_out_loss_moe"] == pytest.approx(summary["held_out_loss_moe"], abs=0)


def test_missing_held_out_stream_is_a_clear_error_before_training(tmp_path: Path) -> None:
    shards = write_innovator_streams(tmp_path / "shards", DISCIPLINES, SCIENCE, documents=8)
    shutil.rmtree(shards / "held_out")
    with pytest.raises(FileNotFoundError, match=f"no held-out stream at {shards / 'held_out'}"):
        run_training(_config(), shards, tmp_path / "trainer", DISCIPLINES, seed=0)
    assert not (tmp_path / "trainer").exists()


def test_a_model_smaller_than_the_shards_vocabulary_is_a_clear_error_before_training(tmp_path: Path) -> None:
    """A recipe training its own 8,000-token BPE and a model of 2,000 embedding rows ran into an IndexError from
    inside torch.embedding at the first batch."""
    from sciloom.trainer.pipeline import VocabularyMismatch

    shards = write_innovator_streams(tmp_path / "shards", DISCIPLINES, SCIENCE, documents=8)
    config = _config()
    config.dense.model = config.dense.model.model_copy(update={"vocab_size": VOCAB // 2})
    with pytest.raises(VocabularyMismatch, match=f"vocabulary of {VOCAB} tokens, but the dense model's embedding has "
                                                 f"{VOCAB // 2} rows: set trainer.dense.model.vocab_size to at least"):
        run_training(config, shards, tmp_path / "trainer", DISCIPLINES, seed=0)
    assert not (tmp_path / "trainer").exists()


def test_an_expert_induced_as_its_own_job_is_reused_by_the_whole_run(trained: tuple[Path, dict],
                                                                     tmp_path: Path) -> None:
    from sciloom.trainer.pipeline import run_expert_induction

    out, summary = trained
    shards = out.parent / "shards"
    alone = run_expert_induction(_config(), shards, tmp_path / "trainer", "physics", seed=0)
    physics = tmp_path / "trainer" / "1_expert_induction" / "physics"
    before = physics.joinpath("final.safetensors").stat().st_mtime_ns
    assert not (tmp_path / "trainer" / "1_expert_induction" / "biology").exists()
    whole = run_training(_config(), shards, tmp_path / "trainer", DISCIPLINES, seed=0)
    assert physics.joinpath("final.safetensors").stat().st_mtime_ns == before  # reused, not retrained
    assert json.loads((physics / "summary.json").read_text()) == alone
    # the same model as the run that induced every expert itself
    assert whole["held_out_loss_moe"] == summary["held_out_loss_moe"]
    with pytest.raises(ValueError, match="no expert-induction stream for 'general'"):
        run_expert_induction(_config(), shards, tmp_path / "trainer", "general", seed=0)


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed next to this Python")
def test_two_process_run_never_builds_the_moe_and_matches_one_process(trained: tuple[Path, dict],
                                                                       tmp_path: Path) -> None:
    """Sharded: the split is written layer by layer and every rank loads only its slices; stages 3-4 leave sharded
    checkpoints. With half the batch per rank it trains the model the one-process run trains."""
    out, summary = trained
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(SHARDED_RUN.parent), *sys.path])}
    run = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(SHARDED_RUN),
                          str(out.parent / "shards"), str(tmp_path / "trainer")],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    sharded = json.loads((tmp_path / "summary.json").read_text())
    split = tmp_path / "trainer" / "2_expert_split" / "moe"
    assert sorted(p.name for p in split.glob("*.safetensors")) == ["layer-00000.safetensors",
                                                                     "layer-00001.safetensors", "rest.safetensors"]
    for stage in ("3_routing_warmup", "4_integration"):
        assert (tmp_path / "trainer" / stage / "final" / ".metadata").is_file()
        assert not (tmp_path / "trainer" / stage / "final.safetensors").exists()
    assert sharded["held_out_loss_moe"] == pytest.approx(summary["held_out_loss_moe"], rel=1e-4)
    assert sharded["held_out_loss_dense"] == pytest.approx(summary["held_out_loss_dense"], rel=1e-4)
    # the export streamed from the sharded checkpoint loads in transformers and computes what the
    # one-process export computes
    from transformers import Qwen2MoeForCausalLM

    ids = torch.randint(0, VOCAB, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = [Qwen2MoeForCausalLM.from_pretrained(folder).eval()(ids).logits
                  for folder in (out / "hf_moe", tmp_path / "trainer" / "hf_moe")]
    # (measured: 0.011 on logits of magnitude 2.55; summation orders differ over ~70 Adam steps)
    assert (logits[0] - logits[1]).abs().max().item() < 1e-2 * logits[0].abs().max().item()
