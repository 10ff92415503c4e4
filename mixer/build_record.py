"""`build.json`: which build a mixer folder holds, and the stream folders that build promised.

A build is fixed by its plan, tokenizer, seed and packing settings. Rerunning the same build resumes it;
a different build is refused while the folder holds another build's outputs, with what differs and how
to remove them deliberately: a training run may be reading those shards, so they are never deleted
silently (and one folder holds one build, the layout training and `shards verify` read).
The record lists every stream folder the build writes, so a folder missing from the disk is noticed by
`shards verify` and by training instead of silently shrinking the model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sciloom.curation.atomic_write import write_json_atomic
from sciloom.mixer.config import STAGE_NAMES
from sciloom.mixer.held_out import HELD_OUT_FOLDER
from sciloom.mixer.manifest import MANIFEST_FILE, content_hash

BUILD_FILE = "build.json"
PLAN_FILE = "plan.json"
# Settings compared field by field, so a refusal says which of them changed.
_COMPARED = {"seed": "seed", "tokenizer_sha256": "tokenizer", "plan_sha256": "plan (mixture settings or labelled "
             "corpus)", "seq_len": "seq_len", "block_size": "block_size", "disciplines": "taxonomy disciplines",
             "held_out_thresholds": "held-out selection"}


class BuildConflict(ValueError):
    """The mixer folder holds another build's outputs; nothing was changed."""


class MissingStream(FileNotFoundError):
    """A stream folder the build promised is not on disk (deleted, or its manifest never written)."""


def build_record(*, plan: dict[str, Any], tokenizer_sha256: str, seq_len: int, block_size: int, seed: int,
                 disciplines: tuple[str, ...], held_out_thresholds: Any, streams: list[str]) -> dict[str, Any]:
    settings = {"plan_sha256": content_hash(plan), "tokenizer_sha256": tokenizer_sha256, "seq_len": seq_len,
                "block_size": block_size, "seed": seed, "disciplines": list(disciplines),
                "held_out_thresholds": held_out_thresholds}
    return {"build_hash": content_hash(settings), **settings, "streams": streams, "held_out": HELD_OUT_FOLDER}


def existing_outputs(out_dir: Path) -> list[Path]:
    """What a build leaves in the mixer folder besides reports: stream folders and task markers."""
    from sciloom.curation.executor import TASKS_DIR  # imports Ray: not for `shards verify` and training

    return [p for p in (*(out_dir / s for s in (*STAGE_NAMES, HELD_OUT_FOLDER)), out_dir / TASKS_DIR) if p.exists()]


def refuse_if_built(out_dir: Path, what_differs: str) -> None:
    """Raise BuildConflict when `out_dir` holds another build's outputs."""
    outputs = existing_outputs(out_dir)
    if outputs:
        raise BuildConflict(
            f"{out_dir} holds the shards of another build ({what_differs}); they are never deleted silently, as a "
            f"training run may read them. Keep them and write elsewhere (another run.output_dir), or remove them "
            f"deliberately with `rm -rf {out_dir}` and run again")


def refuse_other_build(out_dir: Path, record: dict[str, Any]) -> None:
    """Pass for the same build (resumed) or a folder without outputs; else BuildConflict naming what differs."""
    path = out_dir / BUILD_FILE
    earlier = _read_json(path) if path.is_file() else None
    if earlier is None or earlier.get("build_hash") != record["build_hash"]:
        refuse_if_built(out_dir, _differences(earlier, record))


def record_build(out_dir: Path, record: dict[str, Any]) -> None:
    write_json_atomic(out_dir / BUILD_FILE, record)


def _differences(earlier: dict[str, Any] | None, record: dict[str, Any]) -> str:
    if earlier is None:
        return f"no {BUILD_FILE} records which"
    changed = [label for key, label in _COMPARED.items() if key in earlier and earlier[key] != record[key]]
    if "seed" in changed:
        changed[changed.index("seed")] = f"seed {earlier['seed']} -> {record['seed']}"
    return ("changed: " + ", ".join(changed)) if changed else f"{BUILD_FILE} records another build hash"


def promised_folders(root: Path) -> list[str] | None:
    """Stream folders (relative to `root`) the build in `root` promised, or None when `root` records no build.

    build.json lists them; a folder built before it did falls back on plan.json (streams with planned tokens).
    """
    record = root / BUILD_FILE
    if record.is_file():
        data = _read_json(record)
        if "streams" in data:
            return [*data["streams"], data["held_out"]]
    plan = root / PLAN_FILE
    if record.is_file() and plan.is_file():
        streams = _read_json(plan).get("streams", [])
        return [s["folder"] for s in streams if s.get("buckets")] + [HELD_OUT_FOLDER]
    return None


def require_stream(root: Path, folder: str) -> Path:
    """`root/folder`, refusing one the build promised but the disk lacks (and any folder without a manifest)."""
    path = root / folder
    if not (path / MANIFEST_FILE).is_file():
        promised = folder in (promised_folders(root) or [])
        raise MissingStream(f"{path}: {'the build promised this stream but ' if promised else ''}it has no "
                            f"{MANIFEST_FILE} (deleted, or never finished); rebuild the shards (`rm -rf {root}` "
                            f"and run the mixing phase again)")
    return path


def require_promised_streams(root: Path) -> list[str]:
    """Every stream folder the build in `root` promised, each checked on disk (MissingStream for the first gone)."""
    promised = promised_folders(root) or []
    for folder in promised:
        require_stream(root, folder)
    return promised


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
