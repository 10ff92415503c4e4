"""The training loop: loss falls, a killed run resumes bit-identically, sharded (FSDP2) training agrees with one process."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from streams import write_stream

SCRIPT = Path(__file__).with_name("run_small_training.py")
DISCIPLINES = ["physics", "biology", "general"]


def _run(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(SCRIPT.parent), *sys.path])}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def _losses(out_dir: Path) -> list[tuple[int, float]]:
    lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["loss"]) for r in map(json.loads, lines)]


def _kill_once_checkpointed(victim: subprocess.Popen, checkpoint: Path, hang_guard_s: float = 600) -> None:
    """SIGKILL the run (its process group and every process it started) once `checkpoint` exists. The run holds at
    the step after it (--hold-at-step), so the kill lands mid-stage on any machine; the guard only keeps a broken
    run from hanging the suite."""
    deadline = time.monotonic() + hang_guard_s
    try:
        while not checkpoint.is_dir():
            assert victim.poll() is None, "the run ended before it could be killed: " + victim.stdout.read()[-2000:]
            if time.monotonic() > deadline:
                pytest.fail(f"hang guard: {checkpoint.name} did not appear in {hang_guard_s:.0f} s")
            time.sleep(0.05)
    finally:
        # torchrun's ranks run in sessions of their own: a kill of its process group alone left them holding forever.
        started = psutil.Process(victim.pid).children(recursive=True) if victim.poll() is None else []
        os.killpg(victim.pid, signal.SIGKILL)
        for process in started:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        victim.wait(timeout=30)
        _, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, f"processes of the killed run still alive: {[p.pid for p in alive]}"


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stream(tmp_path_factory.mktemp("stream") / "s", DISCIPLINES, [0, 1, 2], documents=60)


def test_killed_run_resumes_with_a_bit_identical_loss_curve(stream: Path, tmp_path: Path) -> None:
    steps = 14
    whole = _run([sys.executable, str(SCRIPT), str(stream), str(tmp_path / "whole"), str(steps), "4"])
    assert whole.wait(timeout=240) == 0, whole.stdout.read()
    reference = _losses(tmp_path / "whole")
    assert len(reference) == steps and reference[-1][1] < reference[0][1] * 0.85, reference

    killed_dir = tmp_path / "killed"
    victim = _run([sys.executable, str(SCRIPT), str(stream), str(killed_dir), str(steps), "4", "--hold-at-step", "7"],
                  start_new_session=True)
    _kill_once_checkpointed(victim, killed_dir / "checkpoints" / "step-0000006")
    assert not (killed_dir / "summary.json").exists(), "killed too late: the stage had already finished"
    logged_before_kill = len(_losses(killed_dir))

    resumed = _run([sys.executable, str(SCRIPT), str(stream), str(killed_dir), str(steps), "4"])
    assert resumed.wait(timeout=240) == 0, resumed.stdout.read()
    assert logged_before_kill < steps
    assert _losses(killed_dir) == reference  # exact float equality, step by step


@pytest.mark.skipif(shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
                    reason="torchrun not installed next to this Python")
@pytest.mark.parametrize("model", [[], ["--moe"], ["--moe", "--no-expert-parallel"]],
                         ids=["dense", "moe-expert-parallel", "moe-fsdp-experts"])
def test_two_process_sharded_training_matches_one_process_with_the_global_batch(
        stream: Path, tmp_path: Path, model: list[str]) -> None:
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    ddp = _run([torchrun, "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(stream), str(tmp_path / "ddp"),
                "5", "2", *model])
    assert ddp.wait(timeout=300) == 0, ddp.stdout.read()
    single = _run([sys.executable, str(SCRIPT), str(stream), str(tmp_path / "single"), "5", "4", *model])
    assert single.wait(timeout=240) == 0, single.stdout.read()

    rank0 = torch.load(tmp_path / "ddp" / "weights-rank0.pt")
    rank1 = torch.load(tmp_path / "ddp" / "weights-rank1.pt")
    from safetensors.torch import load_file

    reference = load_file(tmp_path / "single" / "final.safetensors")
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), f"ranks disagree on {name}"
        # The key bias's true gradient is zero (softmax ignores a shift shared by all keys): Adam turns its
        # rounding noise into full-size steps, so it is the one tensor that cannot agree across summation orders.
        if name in reference and not name.endswith("k_proj.bias"):
            assert torch.allclose(value, reference[name], atol=1e-5), name
    ddp_curve = [loss for _, loss in _losses(tmp_path / "ddp")]
    single_curve = [loss for _, loss in _losses(tmp_path / "single")]
    assert ddp_curve == pytest.approx(single_curve, rel=1e-5)


def test_a_finished_stage_is_reused_only_for_the_same_settings_data_and_start(stream: Path, tmp_path: Path) -> None:
    from sciloom.mixer.shard_reader import PackedShardDataset
    from sciloom.trainer.batches import BatchStream
    from sciloom.trainer.model import CausalLM, ModelConfig
    from sciloom.trainer.objectives import LanguageModeling
    from sciloom.trainer.optim_config import OptimConfig
    from sciloom.cli import exit_code_for
    from sciloom.trainer.train_loop import TrainedWithOtherSettings, train_stage

    tiny = ModelConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_layers=1, num_attention_heads=2,
                       num_key_value_heads=1, max_position_embeddings=64)
    config = OptimConfig(steps=2, batch_size=2, lr=1e-2, warmup_steps=0, checkpoint_every=10)
    other_stream = write_stream(tmp_path / "other", DISCIPLINES, [0, 1, 2], documents=61)

    def run(seed: int, stream_dir: Path) -> tuple[dict, dict[str, torch.Tensor]]:
        torch.manual_seed(seed)
        model = CausalLM(tiny)
        summary = train_stage("s", model, lambda name: True, BatchStream(PackedShardDataset(stream_dir), 2, seed=0),
                              LanguageModeling(), config, tmp_path / "stage", show_progress=False)
        return summary, {k: v.clone() for k, v in model.state_dict().items()}

    first, trained = run(0, stream)
    again, reloaded = run(0, stream)
    assert again == first and all(torch.equal(trained[k], reloaded[k]) for k in trained)
    with pytest.raises(TrainedWithOtherSettings, match=r"changed: data\)") as refused:
        run(0, other_stream)
    assert exit_code_for(refused.value) == 2  # `sciloom run` prints it as one line, not a traceback
    with pytest.raises(TrainedWithOtherSettings, match=r"changed: start_weights\)"):
        run(1, stream)


def test_a_stage_stopped_before_its_first_checkpoint_starts_again_under_new_settings(stream: Path,
                                                                                     tmp_path: Path) -> None:
    """A run whose model was too small for the shards' vocabulary stopped at its first batch; its rerun with the
    right model was refused ("trained with other settings") though the folder held no training at all."""
    from sciloom.mixer.shard_reader import PackedShardDataset
    from sciloom.trainer.batches import BatchStream
    from sciloom.trainer.model import CausalLM, ModelConfig
    from sciloom.trainer.objectives import LanguageModeling
    from sciloom.trainer.optim_config import OptimConfig
    from sciloom.trainer.train_loop import train_stage

    config = OptimConfig(steps=2, batch_size=2, lr=1e-2, warmup_steps=0, checkpoint_every=10)

    def run(vocab_size: int, folder: Path) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = CausalLM(ModelConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64))
        train_stage("s", model, lambda name: True, BatchStream(PackedShardDataset(stream), 2, seed=0),
                    LanguageModeling(), config, folder, show_progress=False)
        return model.state_dict()

    with pytest.raises(IndexError):
        run(8, tmp_path / "stage")  # token ids up to 63
    assert (tmp_path / "stage" / "stage_config.json").exists()
    rerun, fresh = run(64, tmp_path / "stage"), run(64, tmp_path / "fresh")
    assert all(torch.equal(rerun[name], fresh[name]) for name in fresh)
    assert _losses(tmp_path / "stage") == _losses(tmp_path / "fresh") and len(_losses(tmp_path / "fresh")) == 2


TORCHRUN = Path(sys.executable).with_name("torchrun")
needs_torchrun = pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed next to this Python")


@needs_torchrun
def test_each_rank_holds_half_of_every_weight_and_of_its_adamw_state(tmp_path: Path) -> None:
    run = _run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2",
                str(SCRIPT.with_name("run_sharded_state.py")), str(tmp_path)])
    assert run.wait(timeout=300) == 0, run.stdout.read()
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    full = ranks[0]["full"]
    for name, shape in full.items():
        rows = [rank["held"][name][0] for rank in ranks]
        # FSDP2 shards dim 0: the two ranks' rows add up to the whole, neither holds more than half rounded up
        assert sum(rows) == shape[0] and max(rows) == (shape[0] + 1) // 2, (name, rows, shape)
        assert all(rank["held"][name][1:] == shape[1:] for rank in ranks)
        assert all(rank["adam"][name] == rank["held"][name] for rank in ranks), name
    assert all(rank["untouched_model_changed"] for rank in ranks)  # the step reached the plain model
    gathered = [torch.load(tmp_path / f"gathered-rank{r}.pt") for r in (0, 1)]
    assert all(torch.equal(gathered[0][k], gathered[1][k]) for k in gathered[0])


@needs_torchrun
def test_killed_sharded_run_resumes_with_a_bit_identical_loss_curve(stream: Path, tmp_path: Path) -> None:
    steps = 10

    def torchrun(out: Path, *extra: str) -> subprocess.Popen:
        # an MoE with expert parallelism: expert shards are DTensors outside FSDP, resumed through the same checkpoint
        return _run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(stream), str(out),
                     str(steps), "2", "--moe", *extra], start_new_session=True)

    whole = torchrun(tmp_path / "whole")
    assert whole.wait(timeout=300) == 0, whole.stdout.read()
    reference = _losses(tmp_path / "whole")

    killed_dir = tmp_path / "killed"
    victim = torchrun(killed_dir, "--hold-at-step", "7")
    _kill_once_checkpointed(victim, killed_dir / "checkpoints" / "step-0000006")  # torchrun and both ranks
    assert not (killed_dir / "summary.json").exists(), "killed too late: the stage had already finished"
    checkpoint = killed_dir / "checkpoints" / "step-0000006"
    # each rank wrote its own shards; nothing gathered the model into one file
    assert len(list(checkpoint.glob("*.distcp"))) == 2 and not (checkpoint / "model.safetensors").exists()

    resumed = torchrun(killed_dir)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    assert _losses(killed_dir) == reference  # exact float equality, step by step
    final = [torch.load(d / "weights-rank0.pt") for d in (tmp_path / "whole", killed_dir)]
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])
