"""`build_mixture`: labelled documents → tokenizer → plan → token shards for every training stage.

Order matters: the tokenizer (trained for the demo) and the bucket counts come first, then the plan,
whose infeasibility stops the run before anything is tokenized. Shards are written as one Ray stage
over the labelled parts (resumable: a rerun skips finished parts), and every stream folder gets its
manifest last. The held-out documents (chosen while counting buckets, so plans and budgets use only the
rest) are written once into their own stream. Outputs: out_dir/<stage>/[<discipline>/] shard folders,
out_dir/held_out/, out_dir/tokenizer/, out_dir/plan.{json,png,txt}, out_dir/mixer_report.json.
"""
from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.curation.document import iter_parts
from sciloom.curation.executor import bookkeeping_dir, recorded_settings, run_stage, tasks_dir
from sciloom.curation.ray_runtime import ensure_ray
from sciloom.curation.stage_reader import tasks_over_stage
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.mixer.buckets import NoLabelledParts, count_buckets
from sciloom.mixer.config import STAGE_NAMES, MixerConfig, TokenizerConfig
from sciloom.mixer.held_out import HELD_OUT_FOLDER, HeldOutRule
from sciloom.mixer.indexed_dataset import token_dtype
from sciloom.mixer.manifest import MIXER_REPORT_FILE, build_manifest, content_hash, file_sha256, write_manifest
from sciloom.mixer.plan import MixturePlan, StreamPlan, plan_mixture
from sciloom.mixer.plan_report import write_plan_report
from sciloom.mixer.row_groups import iter_row_group_batches
from sciloom.mixer.shard_task import ShardJob, StreamSpec, part_positions, part_record_path, write_part_shards
from sciloom.mixer.tokenize import TOKENIZER_FILE, DocumentEncoder, train_byte_level_bpe

BUILD_FILE = "build.json"


class MixtureMissedTargets(ValueError):
    """Written streams whose achieved shares fall far below their targets, in a stage with when_short: error."""


# A discipline has missed its target when it got nothing, or less than this fraction of its share in a stream big
# enough for whole documents not to explain it (a few hundred tokens are a handful of documents: chance decides).
MISSED_TARGET_FRACTION = 0.5
MISSED_TARGET_MIN_TOKENS = 10_000


def missed_targets(targets: dict[str, float], achieved: dict[str, float], tokens: int) -> list[str]:
    return [f"{discipline} {achieved.get(discipline, 0.0):.1%} of the tokens against a target of {target:.1%}"
            for discipline, target in targets.items()
            if target > 0 and (achieved.get(discipline, 0.0) == 0 or achieved.get(discipline, 0.0)
                               < MISSED_TARGET_FRACTION * target and target * tokens >= MISSED_TARGET_MIN_TOKENS)]


class MixerBuildExists(ValueError):
    """The output folder holds shards of another build; they are never deleted without the user saying so."""


def corpus_texts(labelled_dir: Path) -> Iterator[str]:
    for path in iter_parts(labelled_dir):
        for batch in iter_row_group_batches(path, ["text"], 1024):
            yield from (t for t in batch.column("text").to_pylist() if t)


def prepare_tokenizer(config: TokenizerConfig, labelled_dir: Path, tokenizer_dir: Path) -> Path:
    """The local tokenizer.json, or the demo BPE (trained once; retrained only when its settings change, and
    never under the shards beside it that were encoded with it: `sciloom mix plan` shares the mixer folder)."""
    if config.path is not None:
        return config.path.resolve()
    assert config.train_bpe is not None
    settings = tokenizer_dir / "training.json"
    corpus = [p.name for p in iter_parts(labelled_dir)]
    if not corpus:  # a BPE trained on nothing would be written and kept as if it were the corpus's
        raise NoLabelledParts(labelled_dir)
    wanted = {"train_bpe": config.train_bpe.model_dump(), "corpus": corpus}
    if not ((tokenizer_dir / TOKENIZER_FILE).is_file() and settings.is_file()
            and json.loads(settings.read_text()) == wanted):
        if (tokenizer_dir / TOKENIZER_FILE).is_file() and _stream_folders(tokenizer_dir.parent):
            raise MixerBuildExists(
                f"{tokenizer_dir}: the shards beside it were encoded with this tokenizer, and its settings or the "
                f"labelled parts changed; retraining it would leave them unreadable. Use another output folder "
                f"(--out-dir), or remove the old build deliberately: rm -r {tokenizer_dir.parent}")
        train_byte_level_bpe(corpus_texts(labelled_dir), config.train_bpe, tokenizer_dir)
        write_json_atomic(settings, wanted)
    return (tokenizer_dir / TOKENIZER_FILE).resolve()


def plan_from_corpus(config: MixerConfig, labelled_dir: Path, tokenizer_file: Path, disciplines: Sequence[str],
                     general_label: str) -> tuple[MixturePlan, HeldOutRule, dict[str, int]]:
    """The plan over the documents training may use, the rule that picks the held-out ones, unusable counts."""
    encoder = DocumentEncoder(tokenizer_file, config.tokenizer)
    counts = count_buckets(labelled_dir, encoder, config.sample_docs_per_bucket, config.held_out)
    plan = plan_mixture(config, counts.train, disciplines, general_label, held_out=counts.held_out)
    return plan, counts.rule, dict(counts.unusable)


def build_mixture(config: MixerConfig, labelled_dir: Path, out_dir: Path, seed: int, recipe_hash: str | None = None,
                  disciplines: Sequence[str] | None = None, general_label: str = DEFAULT_TAXONOMY.general_label,
                  show_progress: bool = True) -> dict[str, Any]:
    disciplines = tuple(disciplines or DEFAULT_TAXONOMY.disciplines)
    labelled_dir, out_dir = Path(labelled_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Before anything is written (the tokenizer included): earlier shards may be feeding a training run.
    inputs = {"mixer": config.model_dump(mode="json"), "seed": seed, "disciplines": list(disciplines),
              "general_label": general_label,
              "labelled_parts": [[p.name, p.stat().st_size] for p in iter_parts(labelled_dir)],
              # what the labels derive from (curation and classification settings, models): parts relabelled in
              # place may keep their names and sizes
              "labelled_from": recorded_settings(labelled_dir)}
    record = _claim_build(out_dir, inputs)
    tokenizer_file = prepare_tokenizer(config.tokenizer, labelled_dir, out_dir / "tokenizer")
    tokenizer_sha = file_sha256(tokenizer_file)
    plan, held_out_rule, unusable = plan_from_corpus(config, labelled_dir, tokenizer_file, disciplines, general_label)
    plan_files = write_plan_report(plan, out_dir)
    plan.raise_if_infeasible()

    recipe_hash = recipe_hash or content_hash(config.model_dump(mode="json"))
    build = {"plan": plan.to_dict(), "tokenizer_sha256": tokenizer_sha, "seq_len": config.seq_len,
             "block_size": config.block_size, "seed": seed, "disciplines": disciplines,
             "held_out_thresholds": held_out_rule.thresholds}
    _check_same_plan(out_dir, record, content_hash(build))

    streams_to_write = [s for s in plan.streams if s.take]  # a stream shrunk to nothing has no folder
    tasks = tasks_over_stage(labelled_dir)
    job = ShardJob(out_dir=out_dir.resolve(), tokenizer_file=tokenizer_file, tokenizer=config.tokenizer,
                   seq_len=config.seq_len, block_size=config.block_size, seed=seed, disciplines=disciplines,
                   general_label=general_label,
                   streams=tuple(StreamSpec(s.folder, s.repeats) for s in streams_to_write), held_out=held_out_rule,
                   positions=part_positions(seed, [t.task_id for t in tasks]))
    ensure_ray()
    stage_report = run_stage("mix", out_dir, tasks, partial(write_part_shards, job), show_progress=show_progress)

    encoder = DocumentEncoder(tokenizer_file, config.tokenizer)

    def folder_manifest(folder: str, extra: dict[str, Any]) -> dict[str, Any]:
        parts = [json.loads(part_record_path(out_dir, folder, t.task_id).read_text()) for t in tasks]
        return build_manifest(
            seq_len=config.seq_len, token_dtype=token_dtype(encoder.vocab_size).__name__,
            vocab_size=encoder.vocab_size, pad_id=encoder.eos_id, disciplines=disciplines,
            tokenizer_sha256=tokenizer_sha, recipe_hash=recipe_hash, parts=parts, extra={**extra, "seed": seed})

    streams = {}
    missed: dict[str, list[str]] = {}
    for stream in streams_to_write:
        manifest = folder_manifest(stream.folder, {"stage": stream.stage, "stream": stream.name,
                                                   "targets": stream.targets, "planned": stream.achieved()})
        manifest["achieved"] = _achieved(manifest, stream)
        write_manifest(out_dir / stream.folder, manifest)
        streams[stream.folder] = {"sequences": manifest["sequences"], "tokens": manifest["tokens"],
                                  "budget": stream.budget, "targets": stream.targets, "achieved": manifest["achieved"]}
        if missing := missed_targets(stream.targets, manifest["achieved"], manifest["tokens"]):
            missed[stream.folder] = missing
            print(f"mixer: {stream.folder} missed its targets: {'; '.join(missing)}", file=sys.stderr)
    manifest = folder_manifest(HELD_OUT_FOLDER, {"stage": HELD_OUT_FOLDER, "stream": HELD_OUT_FOLDER,
                                                 "held_out": config.held_out.model_dump()})
    write_manifest(out_dir / HELD_OUT_FOLDER, manifest)
    held_out = {"folder": HELD_OUT_FOLDER, "sequences": manifest["sequences"], "tokens": manifest["tokens"],
                "documents": manifest["documents"], "documents_by_discipline": manifest["documents_by"]["discipline"],
                "tokens_by_discipline": manifest["tokens_by"]["discipline"]}
    summary = {"tokenizer": str(tokenizer_file), "tokenizer_sha256": tokenizer_sha, "vocab_size": encoder.vocab_size,
               "seq_len": config.seq_len, "recipe_hash": recipe_hash, "streams": streams, "held_out": held_out,
               "documents_unusable": unusable, "plan_notes": plan.notes, "plan_files": {k: str(v) for k, v in plan_files.items()},
               "stage": stage_report.to_dict(), "missed_targets": missed}
    write_json_atomic(out_dir / MIXER_REPORT_FILE, summary)
    failing = {folder: problems for folder, problems in missed.items()
               if config.stages()[folder.split("/")[0]].when_short == "error"}
    if failing:
        raise MixtureMissedTargets(
            "the written shards miss their targets (when_short: error): " + "; ".join(
                f"{folder}: {', '.join(problems)}" for folder, problems in failing.items())
            + f". The shards and {out_dir / MIXER_REPORT_FILE} are written; lower the budget or the weights, or set "
              "when_short: shrink to accept them")
    return summary


def _achieved(manifest: dict[str, Any], stream: StreamPlan) -> dict[str, float]:
    """Actual proportions of the written tokens, per target discipline."""
    by_discipline = manifest["tokens_by"]["discipline"]
    total = sum(by_discipline.values())
    return {d: round(by_discipline.get(d, 0) / total, 6) if total else 0.0 for d in stream.targets}


def _claim_build(out_dir: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    """The folder's build record; a folder holding another build's shards is refused, naming what differs.

    Resuming needs the same inputs: the mixer settings, seed, taxonomy and labelled parts (by name and size).
    """
    path = out_dir / BUILD_FILE
    existing = _stream_folders(out_dir)
    if path.is_file():
        record = json.loads(path.read_text())
        if record.get("inputs_hash") == content_hash(inputs):
            return record
        before = record.get("inputs", {})
        differs = [key for key in inputs if before.get(key) != inputs[key]] or ["the build record's format"]
        if not existing:  # nothing written yet under the old record: nothing to lose
            differs = []
    else:
        differs = ["no build record: shards of an unknown build"] if existing else []
    if differs:
        raise MixerBuildExists(f"{out_dir} holds the shards of another mixer build ({', '.join(differs)} changed); "
                               + _keep_the_old_build(out_dir))
    record = {"inputs": inputs, "inputs_hash": content_hash(inputs)}
    shutil.rmtree(tasks_dir(out_dir), ignore_errors=True)  # markers of a build whose shards are gone
    write_json_atomic(path, record)
    return record


def _stream_folders(out_dir: Path) -> list[Path]:
    """The shard folders of a build in `out_dir` (finished or not)."""
    return [out_dir / name for name in (*STAGE_NAMES, HELD_OUT_FOLDER) if (out_dir / name).exists()]


def preview_dir(out_dir: Path) -> Path:
    """Where `sciloom mix plan` writes its plan: the mixer folder itself, unless it holds a build, whose plan files
    describe its shards (the report reads them) and must not be replaced by a preview of other settings."""
    return bookkeeping_dir(out_dir) / "plan_preview" if _stream_folders(out_dir) else out_dir


def _check_same_plan(out_dir: Path, record: dict[str, Any], build_hash: str) -> None:
    """Same inputs, different plan: the labelled documents changed in place (same part names and sizes)."""
    if record.get("build_hash") in (None, build_hash):
        if record.get("build_hash") is None:
            write_json_atomic(out_dir / BUILD_FILE, {**record, "build_hash": build_hash})
        return
    raise MixerBuildExists(f"{out_dir} holds the shards of another mixer build (the labelled documents changed: "
                           "the plan differs); " + _keep_the_old_build(out_dir))


def _keep_the_old_build(out_dir: Path) -> str:
    return (f"they are kept, as a training run may be reading them. Give this run another run.output_dir (with "
            f"run.reuse_from: {out_dir.parent} and run.phases [mixing, training] it reads that run's labels instead "
            f"of curating again), or remove the old build deliberately: rm -r {out_dir}")
