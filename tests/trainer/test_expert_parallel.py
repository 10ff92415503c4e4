"""Expert parallelism on two gloo processes against the single-rank experts holding every expert."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sciloom.trainer.expert_parallel import _source_major_to_expert_major

HERE = Path(__file__).parent
TORCHRUN = Path(sys.executable).with_name("torchrun")


def test_received_rows_are_regrouped_by_expert() -> None:
    # two sources, two local experts: source 0 sent 2 rows to expert 0 and 1 to expert 1; source 1 sent 0 and 3
    counts_SL = torch.tensor([[2, 1], [0, 3]])
    # received order: s0e0 s0e0 s0e1 s1e1 s1e1 s1e1 -> wanted: e0 (s0, s0), e1 (s0, s1, s1, s1)
    assert _source_major_to_expert_major(counts_SL).tolist() == [0, 1, 2, 3, 4, 5]
    counts_SL = torch.tensor([[1, 2], [3, 0]])
    # received: s0e0 | s0e1 s0e1 | s1e0 s1e0 s1e0 -> e0: rows 0, 3, 4, 5; e1: rows 1, 2
    assert _source_major_to_expert_major(counts_SL).tolist() == [0, 3, 4, 5, 1, 2]


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed next to this Python")
def test_dispatch_and_combine_match_the_single_rank_reference(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2",
                          str(HERE / "run_expert_parallel.py"), str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for rank in (0, 1):
        record = json.loads((tmp_path / f"rank{rank}.json").read_text())
        module = record["module"]
        # uneven counts, experts empty on one rank: outputs and every gradient as the full experts give them
        assert module["scale"] > 0.5
        assert max(module[k] for k in ("output", "input_grad", "gate_up_grad", "down_grad")) < 1e-5, module
        # a whole MoE model: logits, expert gradients (owner's = sum over both ranks' tokens), all other gradients
        assert max(record["model"].values()) < 1e-5, record["model"]
