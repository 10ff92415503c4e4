"""`build_mixture`: labelled documents → tokenizer → plan → token shards for every training stage.

Order matters: the tokenizer (trained for the demo) and the bucket counts come first, then the plan,
whose infeasibility stops the run before anything is tokenized. Shards are written as one Ray stage
over the labelled parts (resumable: a rerun skips finished parts), and every stream folder gets its
manifest last. The held-out documents (chosen while counting buckets, so plans and budgets use only the
rest) are written once into their own stream. Outputs: out_dir/<stage>/[<discipline>/] shard folders,
out_dir/held_out/, out_dir/tokenizer/, out_dir/plan.{json,png,txt}, out_dir/mixer_report.json, and
out_dir/build.json (the build's settings and promised stream folders: another build is refused, never
written over the shards a training run may read).
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.curation.document import iter_parts
from sciloom.curation.executor import run_stage
from sciloom.curation.ray_runtime import ensure_ray
from sciloom.curation.stage_reader import tasks_over_stage
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.mixer.buckets import count_buckets
from sciloom.mixer.build_record import build_record, record_build, refuse_if_built, refuse_other_build
from sciloom.mixer.config import MixerConfig, TokenizerConfig
from sciloom.mixer.held_out import HELD_OUT_FOLDER, HeldOutRule
from sciloom.mixer.indexed_dataset import token_dtype
from sciloom.mixer.manifest import build_manifest, content_hash, file_sha256, write_manifest
from sciloom.mixer.plan import InfeasiblePlan, MixturePlan, StreamPlan, plan_mixture
from sciloom.mixer.plan_report import write_plan_report
from sciloom.mixer.row_groups import iter_row_group_batches
from sciloom.mixer.shard_task import ShardJob, StreamSpec, part_positions, part_record_path, write_part_shards
from sciloom.mixer.tokenize import TOKENIZER_FILE, DocumentEncoder, train_byte_level_bpe

REPORT_FILE = "mixer_report.json"
# A discipline whose written share is below this fraction of its target missed it. The plan meets every
# target; the written shares differ from it by the token estimate and by about one document per stream
# and discipline (systematic sampling, shard_task.copies_per_document), far less than this whenever a
# share holds a few documents. A stream that lost a discipline (0%) is always caught.
MISSED_TARGET_FACTOR = 0.5


def corpus_texts(labelled_dir: Path) -> Iterator[str]:
    for path in iter_parts(labelled_dir):
        for batch in iter_row_group_batches(path, ["text"], 1024):
            yield from (t for t in batch.column("text").to_pylist() if t)


def prepare_tokenizer(config: TokenizerConfig, labelled_dir: Path, out_dir: Path) -> Path:
    """The local tokenizer.json, or the demo BPE in out_dir/tokenizer (trained once; retrained only when its
    settings change, and never under the shards of a build that used the old one)."""
    if config.path is not None:
        return config.path.resolve()
    assert config.train_bpe is not None
    tokenizer_dir = out_dir / "tokenizer"
    settings = tokenizer_dir / "training.json"
    wanted = {"train_bpe": config.train_bpe.model_dump(), "corpus": [p.name for p in iter_parts(labelled_dir)]}
    if not ((tokenizer_dir / TOKENIZER_FILE).is_file() and settings.is_file()
            and json.loads(settings.read_text()) == wanted):
        if (tokenizer_dir / TOKENIZER_FILE).is_file():
            refuse_if_built(out_dir, "changed: the demo tokenizer's settings or the labelled parts it is trained on")
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
    tokenizer_file = prepare_tokenizer(config.tokenizer, labelled_dir, out_dir)
    tokenizer_sha = file_sha256(tokenizer_file)
    plan, held_out_rule, unusable = plan_from_corpus(config, labelled_dir, tokenizer_file, disciplines, general_label)
    streams_to_write = [s for s in plan.streams if s.take]  # a stream shrunk to nothing has no folder
    record = build_record(plan=plan.to_dict(), tokenizer_sha256=tokenizer_sha, seq_len=config.seq_len,
                          block_size=config.block_size, seed=seed, disciplines=disciplines,
                          held_out_thresholds=held_out_rule.thresholds, streams=[s.folder for s in streams_to_write])
    refuse_other_build(out_dir, record)  # before anything of the earlier build is written over, reports included
    plan_files = write_plan_report(plan, out_dir)
    plan.raise_if_infeasible()
    record_build(out_dir, record)
    recipe_hash = recipe_hash or content_hash(config.model_dump(mode="json"))
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

    streams, shortfalls = {}, {}
    for stream in streams_to_write:
        manifest = folder_manifest(stream.folder, {"stage": stream.stage, "stream": stream.name,
                                                   "targets": stream.targets, "planned": stream.achieved()})
        manifest["achieved"] = _achieved(manifest, stream)
        write_manifest(out_dir / stream.folder, manifest)
        streams[stream.folder] = {"sequences": manifest["sequences"], "tokens": manifest["tokens"],
                                  "budget": stream.budget, "targets": stream.targets, "achieved": manifest["achieved"]}
        short = _missed_targets(stream, manifest["achieved"])
        if short:
            streams[stream.folder]["missed_targets"] = short
            shortfalls[stream.folder] = (config.stages()[stream.stage].when_short, short)
    manifest = folder_manifest(HELD_OUT_FOLDER, {"stage": HELD_OUT_FOLDER, "stream": HELD_OUT_FOLDER,
                                                 "held_out": config.held_out.model_dump()})
    write_manifest(out_dir / HELD_OUT_FOLDER, manifest)
    held_out = {"folder": HELD_OUT_FOLDER, "sequences": manifest["sequences"], "tokens": manifest["tokens"],
                "documents": manifest["documents"], "documents_by_discipline": manifest["documents_by"]["discipline"],
                "tokens_by_discipline": manifest["tokens_by"]["discipline"]}
    summary = {"tokenizer": str(tokenizer_file), "tokenizer_sha256": tokenizer_sha, "vocab_size": encoder.vocab_size,
               "seq_len": config.seq_len, "recipe_hash": recipe_hash, "streams": streams, "held_out": held_out,
               "documents_unusable": unusable, "plan_notes": plan.notes, "plan_files": {k: str(v) for k, v in plan_files.items()},
               "stage": stage_report.to_dict()}
    write_json_atomic(out_dir / REPORT_FILE, summary)
    _report_shortfalls(shortfalls)
    return summary


def _missed_targets(stream: StreamPlan, achieved: dict[str, float]) -> list[str]:
    """Target disciplines that got less than MISSED_TARGET_FACTOR of their share of the written tokens."""
    return [f"discipline {d!r} got {achieved[d]:.1%} of the written tokens against a target of {target:.1%}"
            for d, target in stream.targets.items() if target > 0 and achieved[d] < MISSED_TARGET_FACTOR * target]


def _report_shortfalls(shortfalls: dict[str, tuple[str, list[str]]]) -> None:
    """As `when_short` promises: 'error' stops the run, 'shrink' accepts the stream as written and says so."""
    errors = [f"{folder}: {miss}" for folder, (when_short, misses) in shortfalls.items() if when_short == "error"
              for miss in misses]
    for folder, (when_short, misses) in shortfalls.items():
        if when_short == "shrink":
            for miss in misses:
                print(f"NOTE {folder}: {miss} (when_short: shrink accepts it)", file=sys.stderr)
    if errors:
        raise InfeasiblePlan(
            "the written shards miss the mixture's targets (the plan met them; the shards are kept and "
            f"{REPORT_FILE} has the numbers):\n  " + "\n  ".join(errors)
            + "\n  a stream takes whole documents, so a discipline whose share is about a document or less comes "
            "out short or swamps the others: raise the stage's token_budget, or set when_short: shrink to accept "
            "the stream as written")


def _achieved(manifest: dict[str, Any], stream: StreamPlan) -> dict[str, float]:
    """Actual proportions of the written tokens, per target discipline."""
    by_discipline = manifest["tokens_by"]["discipline"]
    total = sum(by_discipline.values())
    return {d: round(by_discipline.get(d, 0) / total, 6) if total else 0.0 for d in stream.targets}

