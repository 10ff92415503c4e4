"""fastText training in a fresh process.

The pinned fastText build (fasttext-numpy2-wheel 0.9.2) reads uninitialised memory while training: the
first training in a fresh process is deterministic and finite, but a second training in the same process
can give different weights or stop with "Encountered NaN" (measured: 5 of 12 repeated in-process trainings
differed from the first; 6 of 6 fresh-process trainings were identical). Each training therefore runs this
file as a script in a new interpreter (which imports nothing but fastText) that writes the model file; the
caller loads it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def train_supervised_isolated(input_path: Path, model_path: Path, options: dict[str, Any]) -> None:
    """Train a supervised fastText model from `input_path` in a fresh process and save it to `model_path`."""
    done = subprocess.run([sys.executable, __file__, str(input_path), str(model_path), json.dumps(options)],
                          capture_output=True, text=True)
    if done.returncode != 0 or not model_path.exists():
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        raise RuntimeError(f"fastText training failed: {detail}")


if __name__ == "__main__":
    import fasttext

    fasttext.train_supervised(input=sys.argv[1], **json.loads(sys.argv[3])).save_model(sys.argv[2])
