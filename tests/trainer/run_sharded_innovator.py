"""Under torchrun: the whole trainer phase (run_training) sharded over the processes, half the batch per rank.

usage: run_sharded_innovator.py SHARDS_DIR OUT_DIR — the summary goes to OUT_DIR/../summary.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from test_innovator import DISCIPLINES, _config
from sciloom.trainer.distributed import init_from_environment, shut_down
from sciloom.trainer.pipeline import run_training


def main() -> None:
    shards, out = Path(sys.argv[1]), Path(sys.argv[2])
    summary = run_training(_config(batch_size=4), shards, out, DISCIPLINES, seed=0)
    ctx = init_from_environment()  # the group run_training joined
    if ctx.is_main:
        (out.parent / "summary.json").write_text(json.dumps(summary))
    shut_down(ctx)


if __name__ == "__main__":
    main()
