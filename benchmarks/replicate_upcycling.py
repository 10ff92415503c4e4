"""Does upcycling keep general ability while learning science? Five arms from one dense start (issue 12).

Driven through the product's own stages, never a parallel path:
1. labelled real text (classifiers/reference_corpus.py over ../shared/data: the labelled corpus, S2ORC, MMLU,
   unarXive, BBC, WikiText-2) written as the classifiers' labelled Parquet parts;
2. the mixer (mixer.pipeline.build_mixture) makes the stage streams and the document-level held-out set; a
   second build with the same tokenizer and held-out rule makes a general-only pretraining stream;
3. the trainer: a dense Qwen2-style model pretrained on general text only (train_loop.train_stage), then five
   arms from that start on the same number of tokens:
   (a) dense continued pretraining, (b) copy upcycling, (c) virtual-group upcycling with weight scaling,
   (d) fine-grained Drop-Upcycling (trainer.upcycle.upcycle), each trained on the integration stream;
   (e) Innovator's four stages with the shared expert (trainer.innovator.run_stages).
   MoE arms hold D+1 FFNs' worth of expert parameters (D = science disciplines with experts) and use 2 per token.
4. measured on the held-out documents: general loss (retention = dense start's / arm's), loss per science
   discipline (gain over the dense start), for Innovator document-level routing accuracy (metrics.py) after the
   routing warmup and after integration next to its majority baseline and the per-token figure
   (trainer.evaluate.routing_accuracy); ablations of Innovator's open choices (recipe `ablations`).

Outputs in --out: results.json, results.md (the tables and which findings reproduce), loss_curves,
general_vs_science and routing_<arm> plots as PNG and SVG. Stage folders are cached in --work: a rerun reuses
every finished stage (train_stage's own reuse), so a killed run resumes.

  .venv/bin/python benchmarks/replicate_upcycling.py --smoke                         # CI, ~1-2 min
  nice -n 10 .venv/bin/python benchmarks/replicate_upcycling.py --scale medium --out runs/replicate/medium
  .venv/bin/python benchmarks/replicate_upcycling.py --scale full --threads 2 --out runs/replicate/full
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.torch import load_model

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "replicate"))

from metrics import document_routing, flops_per_token, parameter_counts  # noqa: E402

from sciloom.classifiers.reference_corpus import discipline_records  # noqa: E402
from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY  # noqa: E402
from sciloom.curation.atomic_write import atomic_path, write_json_atomic, write_text_atomic  # noqa: E402
from sciloom.curation.ray_runtime import ensure_ray  # noqa: E402
from sciloom.mixer.config import MixerConfig  # noqa: E402
from sciloom.mixer.pipeline import build_mixture  # noqa: E402
from sciloom.mixer.shard_reader import PackedShardDataset  # noqa: E402
from sciloom.trainer.batches import BatchStream, dataset_batches, held_out_dataset  # noqa: E402
from sciloom.trainer.config import DenseStart, InnovatorConfig, TrainerConfig  # noqa: E402
from sciloom.trainer.distributed import ParallelContext  # noqa: E402
from sciloom.trainer.evaluate import evaluate_held_out, routing_accuracy  # noqa: E402
from sciloom.trainer.innovator import expert_groups, induction_disciplines, run_stages  # noqa: E402
from sciloom.trainer.model import CausalLM, ModelConfig  # noqa: E402
from sciloom.trainer.objectives import LanguageModeling  # noqa: E402
from sciloom.trainer.optim_config import OptimConfig  # noqa: E402
from sciloom.trainer.train_loop import train_stage  # noqa: E402
from sciloom.trainer.upcycle import UpcycleSpec, upcycle  # noqa: E402

GENERAL = DEFAULT_TAXONOMY.general_label
SCIENCE_STAGES = ("expert_induction", "routing_warmup", "integration")
# Innovator's open choices, each one run_stages option away from the default (trainer/innovator.py).
ABLATIONS: dict[str, dict[str, Any]] = {
    "routed_scale_G": {"routed_scale": "G"},
    "routed_scale_learned": {"learned_routed_scale": True},
    "warmup_group_mass": {"warmup_loss": "group_mass"},
    "balance_within_groups": {"balance": "within_groups"},
    "balance_none": {"balance": "none"},
}
BASELINE_ARMS = ("dense_cpt", "copy", "virtual_group", "drop")
MIN_STREAM_SEQUENCES = 32


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_documents_per_label: int = Field(gt=0)
    max_general_documents: int = Field(gt=0)
    max_chars: int = Field(gt=0)


class StepsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = Field(ge=1)
    lr: float = Field(gt=0)
    warmup_steps: int = Field(ge=0)


class InnovatorSteps(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granularity: int = Field(ge=1)
    top_k: int = Field(ge=1)
    aux_loss_weight: float = Field(ge=0)
    z_loss_weight: float = Field(ge=0)
    expert_induction: StepsConfig
    routing_warmup: StepsConfig
    integration: StepsConfig


class BaselineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = Field(gt=0)
    warmup_steps: int = Field(ge=0)


class ReplicateConfig(BaseModel):
    """benchmarks/replicate/replicate_upcycling.yaml after its scale's overrides."""

    model_config = ConfigDict(extra="forbid")
    data: DataConfig
    mixer: dict[str, Any] = Field(description="MixerConfig without token budgets, plus `pretraining`")
    model: dict[str, Any] = Field(description="ModelConfig without vocab_size")
    batch_size: int = Field(ge=1)
    pretrain: StepsConfig
    innovator: InnovatorSteps
    baselines: BaselineConfig
    drop_ratio: float = Field(ge=0, le=1)
    ablations: list[Literal[tuple(ABLATIONS)]]  # type: ignore[valid-type]
    scales: dict[str, dict[str, Any]]

    @property
    def seq_len(self) -> int:
        return int(self.mixer["seq_len"])

    def optim(self, steps: StepsConfig | None = None, *, total: int | None = None, lr: float | None = None,
              warmup: int | None = None) -> OptimConfig:
        steps_n = total if total is not None else steps.steps
        return OptimConfig(steps=steps_n, batch_size=self.batch_size, lr=lr if lr is not None else steps.lr,
                           warmup_steps=warmup if warmup is not None else steps.warmup_steps,
                           checkpoint_every=max(steps_n, 1), log_every=1)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: Path, scale: str) -> ReplicateConfig:
    raw = yaml.safe_load(path.read_text())
    if scale not in raw.get("scales", {}):
        raise ValueError(f"{path}: no scale {scale!r} under `scales` (has {', '.join(raw.get('scales', {}))})")
    return ReplicateConfig(**deep_merge(raw, raw["scales"][scale]))


# ---------------------------------------------------------------- data: labelled text -> the mixer's streams

def _rank(doc_id: str) -> bytes:
    return hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"sciloom-replica").digest()


def write_labelled(cfg: ReplicateConfig, folder: Path) -> dict[str, int]:
    """The labelled Parquet parts the mixer reads (the classifiers' output columns), capped per label by id hash."""
    counts_file = folder / "counts.json"
    if counts_file.is_file():
        return json.loads(counts_file.read_text())
    by_label: dict[str, list[tuple[str, str, str]]] = {}
    per_source: dict[str, int] = {}
    for source, text, label in discipline_records(DATA, DEFAULT_TAXONOMY):
        per_source[source] = per_source.get(source, 0) + 1
        by_label.setdefault(label, []).append((f"{source}/{per_source[source]}", text[:cfg.data.max_chars], source))
    rows = []
    for label, docs in sorted(by_label.items()):
        cap = cfg.data.max_general_documents if label == GENERAL else cfg.data.max_documents_per_label
        rows += [(doc_id, text, source, label) for doc_id, text, source in sorted(docs, key=lambda d: _rank(d[0]))[:cap]]
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(2):  # two parts: the mixer's Ray stage has two tasks
        chosen = rows[part::2]
        table = pa.table({"id": [r[0] for r in chosen], "text": [r[1] for r in chosen], "source": [r[2] for r in chosen],
                          "discipline": [r[3] for r in chosen], "quality_tier": ["high"] * len(chosen)})
        with atomic_path(folder / f"part-{part:05d}.parquet") as tmp:
            pq.write_table(table, tmp)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    write_json_atomic(counts_file, counts)
    return counts


def stream_steps(cfg: ReplicateConfig, disciplines: int) -> dict[str, int]:
    """Optimizer steps per stage; the baselines get Innovator's total (the same tokens)."""
    inn = cfg.innovator
    steps = {"expert_induction": inn.expert_induction.steps, "routing_warmup": inn.routing_warmup.steps,
             "integration": inn.integration.steps, "pretraining": cfg.pretrain.steps}
    steps["baseline"] = disciplines * steps["expert_induction"] + steps["routing_warmup"] + steps["integration"]
    return steps


def build_streams(cfg: ReplicateConfig, labelled: Path, work: Path, seed: int) -> tuple[Path, Path]:
    """The science mixture (stage streams + held-out) and the general-only pretraining stream, both by the mixer."""
    science = sorted(d for d in DEFAULT_TAXONOMY.disciplines if d != GENERAL)
    steps = stream_steps(cfg, len(science))
    weights = {d: 1.0 for d in science}
    mixer = {k: v for k, v in cfg.mixer.items() if k != "pretraining"}
    budgets = {"expert_induction": steps["expert_induction"], "routing_warmup": steps["routing_warmup"],
               "integration": steps["baseline"]}
    for stage in SCIENCE_STAGES:
        # At least MIN_STREAM_SEQUENCES: a budget of a few sequences can fall short of one whole document (smoke).
        mixer[stage] = {**mixer[stage], "discipline_weights": weights,
                        "token_budget": max(budgets[stage] * cfg.batch_size, MIN_STREAM_SEQUENCES) * cfg.seq_len}
    ensure_ray(num_cpus=1)
    main_dir, pretrain_dir = work / "mixer", work / "mixer_pretraining"
    build_mixture(MixerConfig(**mixer), labelled, main_dir, seed, show_progress=False)
    pretraining = {"tokenizer": {"path": str(main_dir / "tokenizer" / "tokenizer.json")}, "seq_len": cfg.seq_len,
                   "held_out": cfg.mixer["held_out"],
                   "integration": {**cfg.mixer["pretraining"], "discipline_weights": {},
                                   "token_budget": max(steps["pretraining"] * cfg.batch_size,
                                                       MIN_STREAM_SEQUENCES) * cfg.seq_len}}
    build_mixture(MixerConfig(**pretraining), labelled, pretrain_dir, seed, show_progress=False)
    # The same held-out rule over the same labelled parts: both builds hold out the same documents.
    held = [PackedShardDataset(d / "held_out").manifest["documents_by"]["discipline"] for d in (main_dir, pretrain_dir)]
    assert held[0] == held[1], held
    return main_dir, pretrain_dir


# ---------------------------------------------------------------- training

def pretrain_dense(cfg: ReplicateConfig, pretrain_dir: Path, work: Path, vocab: int, seed: int) -> CausalLM:
    torch.manual_seed(seed)
    dense = CausalLM(ModelConfig(**cfg.model, vocab_size=vocab))
    stream = BatchStream(PackedShardDataset(pretrain_dir / "integration"), cfg.batch_size, seed)
    train_stage("dense pretraining (general only)", dense, lambda name: True, stream, LanguageModeling(),
                cfg.optim(cfg.pretrain), work / "0_dense_pretraining", show_progress=False)
    return dense


def baseline_model(name: str, dense: CausalLM, cfg: ReplicateConfig, disciplines: int, seed: int) -> CausalLM:
    """Same expert parameters as Innovator's MoE ((D+1) FFNs) and the same active ones (2 FFNs' worth)."""
    G = cfg.innovator.granularity
    inn = cfg.innovator
    common = {"aux_loss_weight": inn.aux_loss_weight, "z_loss_weight": inn.z_loss_weight, "seed": seed}
    if name == "dense_cpt":
        return copy.deepcopy(dense)
    if name == "copy":
        return upcycle(dense, UpcycleSpec(method="copy", num_experts=disciplines + 1, top_k=2, **common))
    method = "virtual-group" if name == "virtual_group" else "drop"
    return upcycle(dense, UpcycleSpec(method=method, num_experts=(disciplines + 1) * G, top_k=2 * G, granularity=G,
                                      drop_ratio=cfg.drop_ratio, **common))


def trainer_config(cfg: ReplicateConfig, vocab: int) -> TrainerConfig:
    inn = cfg.innovator
    return TrainerConfig(
        dense=DenseStart(model=ModelConfig(**cfg.model, vocab_size=vocab)), eval_batch_size=16,
        innovator=InnovatorConfig(granularity=inn.granularity, top_k=inn.top_k, aux_loss_weight=inn.aux_loss_weight,
                                  z_loss_weight=inn.z_loss_weight, expert_induction=cfg.optim(inn.expert_induction),
                                  routing_warmup=cfg.optim(inn.routing_warmup), integration=cfg.optim(inn.integration)))


def run_innovator(cfg: ReplicateConfig, dense: CausalLM, mixer_dir: Path, out: Path, vocab: int, seed: int,
                  options: dict[str, Any], reuse_from: Path | None) -> tuple[CausalLM, CausalLM, dict[str, Any]]:
    """(model after the routing warmup, after integration, run_stages' report). Stages an ablation shares with the
    default run are copied from it first, and train_stage reuses them (it checks settings, data and start weights)."""
    options = {k: (cfg.innovator.granularity if v == "G" else v) for k, v in options.items()}
    if reuse_from is not None:
        shared = ["1_expert_induction"] + (["3_routing_warmup"] if set(options) == {"balance"} else [])
        for folder in shared:
            if not (out / folder).exists() and (reuse_from / folder).exists():
                shutil.copytree(reuse_from / folder, out / folder)
    held = held_out_dataset(mixer_dir)
    moe, report = run_stages(trainer_config(cfg, vocab), copy.deepcopy(dense), mixer_dir, out,
                             list(DEFAULT_TAXONOMY.disciplines), seed, ParallelContext(),
                             lambda: dataset_batches(held, 16), **options)
    warm = copy.deepcopy(moe)
    load_model(warm, str(out / "3_routing_warmup" / "final.safetensors"))
    return warm, moe, report


# ---------------------------------------------------------------- measurement

def evaluate(model: CausalLM, held: PackedShardDataset, science: list[str]) -> dict[str, Any]:
    disciplines = list(DEFAULT_TAXONOMY.disciplines)
    ev = evaluate_held_out(model, dataset_batches(held, 16), disciplines)
    losses = ev["loss_per_discipline"]
    out = {"loss": ev["loss"], "general_loss": losses[GENERAL], "loss_per_discipline": losses,
           "science_loss_mean": float(np.mean([losses[d] for d in science])),
           "tokens_per_discipline": ev["tokens_per_discipline"]}
    if "routing_counts" in ev:
        out["routing_counts"] = ev["routing_counts"]
    return out


def routing(model: CausalLM, held: PackedShardDataset, group_E: torch.Tensor) -> dict[str, Any]:
    token = routing_accuracy(model, dataset_batches(held, 16), group_E, list(DEFAULT_TAXONOMY.disciplines))
    return {"document": document_routing(model, held, group_E), "token": token}


def describe(model: CausalLM, seq_len: int) -> dict[str, Any]:
    return {**parameter_counts(model), "flops_per_token": flops_per_token(model, context=(seq_len + 1) / 2)}


def metrics_curve(stage_dir: Path) -> list[float]:
    path = stage_dir / "metrics.jsonl"
    return [json.loads(line)["loss"] for line in path.read_text().splitlines() if line] if path.exists() else []


def flattening(curve: list[float]) -> dict[str, float]:
    """Mean training loss over the last tenth of the steps and the tenth before it."""
    tenth = max(len(curve) // 10, 1)
    return {"last_tenth": float(np.mean(curve[-tenth:])), "tenth_before": float(np.mean(curve[-2 * tenth:-tenth] or curve))}


# ---------------------------------------------------------------- outputs

def save_figure(fig, out: Path, name: str) -> list[str]:
    import matplotlib.pyplot as plt

    paths = []
    for fmt in ("png", "svg"):
        path = out / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=110)
        paths.append(str(path))
    plt.close(fig)
    return paths


def plot_all(results: dict[str, Any], curves: dict[str, tuple[int, list[float]]], out: Path) -> list[str]:
    """loss_curves, general_vs_science, routing_<arm> (expert level) and routing_innovator_documents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    tokens_per_step = results["tokens_per_step"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, (offset, curve) in curves.items():
        steps = np.arange(1, len(curve) + 1) + offset
        smooth = np.convolve(curve, np.ones(10) / 10, mode="valid") if len(curve) >= 10 else np.array(curve)
        ax.plot(steps[len(steps) - len(smooth):] * tokens_per_step, smooth, label=name)
    ax.set_xlabel("training tokens of the arm (Innovator: its integration stage starts after induction + warmup)")
    ax.set_ylabel("training loss on the integration stream (10-step mean)")
    ax.set_title("loss curves per arm (same token budget)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    files += save_figure(fig, out, "loss_curves")

    fig, ax = plt.subplots(figsize=(6, 5))
    start = results["dense_start"]
    ax.scatter([start["general_loss"]], [start["science_loss_mean"]], marker="*", s=150, c="k", label="dense start")
    for name, arm in results["arms"].items():
        ax.scatter([arm["eval"]["general_loss"]], [arm["eval"]["science_loss_mean"]], s=50, label=name)
    for name, arm in results.get("ablations", {}).items():
        ax.scatter([arm["eval"]["general_loss"]], [arm["eval"]["science_loss_mean"]], s=25, marker="x", label=f"innovator: {name}")
    ax.set_xlabel("held-out general loss (lower = more retained)")
    ax.set_ylabel("held-out science loss, mean over disciplines")
    ax.set_title("general vs science loss per arm")
    ax.legend(fontsize=7)
    fig.tight_layout()
    files += save_figure(fig, out, "general_vs_science")

    disciplines = list(DEFAULT_TAXONOMY.disciplines)
    for name, arm in results["arms"].items():
        if "routing_counts" not in arm["eval"]:
            continue
        counts = np.array(arm["eval"]["routing_counts"], dtype=float)
        keep = counts.sum(1) > 0
        share = counts[keep] / counts[keep].sum(1, keepdims=True)
        fig, ax = plt.subplots(figsize=(max(6, counts.shape[1] * 0.35), 1 + 0.45 * int(keep.sum())))
        image = ax.imshow(share, aspect="auto", cmap="viridis")
        ax.set_yticks(range(int(keep.sum())), [d for d, k in zip(disciplines, keep) if k])
        owners = arm.get("expert_owners")
        ax.set_xticks(range(counts.shape[1]), [f"{e}:{owners[e][:4]}" if owners else str(e) for e in range(counts.shape[1])],
                      rotation=90, fontsize=7)
        ax.set_xlabel("routed expert" + (" (index:owning discipline)" if owners else ""))
        ax.set_title(f"{name}: share of each discipline's routed slots per expert (held-out, all layers)", fontsize=9)
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        files += save_figure(fig, out, f"routing_{name}")

    inn = results["arms"].get("innovator")
    if inn is not None:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
        for ax, when in zip(axes, ("routing_after_warmup", "routing_after_integration")):
            doc = inn[when]["document"]
            rows = list(doc["mean_group_share_by_discipline"])
            image = ax.imshow(np.array([doc["mean_group_share_by_discipline"][d] for d in rows]), vmin=0, vmax=1,
                              aspect="auto", cmap="viridis")
            ax.set_yticks(range(len(rows)), rows)
            ax.set_xticks(range(len(doc["group_owners"])), [o[:8] for o in doc["group_owners"]], rotation=90, fontsize=8)
            ax.set_xlabel("expert group (owning discipline)")
            ax.set_title(f"{when.replace('_', ' ')}: document accuracy {doc['accuracy']:.3f}\n(majority baseline "
                         f"{doc['majority_baseline']:.3f})", fontsize=9)
        fig.colorbar(image, ax=axes)
        fig.suptitle("Innovator: mean share of a held-out document's routing mass per expert group", fontsize=10)
        files += save_figure(fig, out, "routing_innovator_documents")
    return files


def curves_of(results: dict[str, Any], work: Path) -> dict[str, tuple[int, list[float]]]:
    """Training-loss curves on the integration stream per arm, with the step at which each starts."""
    curves = {name: (0, metrics_curve(work / "arms" / name)) for name in BASELINE_ARMS}
    offset = len(results["experts_for"]) * results["steps"]["expert_induction"] + results["steps"]["routing_warmup"]
    curves["innovator"] = (offset, metrics_curve(work / "arms" / "innovator" / "4_integration"))
    return curves


def write_outputs(results: dict[str, Any], work: Path, out: Path) -> None:
    results["plots"] = plot_all(results, curves_of(results, work), out)
    write_json_atomic(out / "results.json", results)
    table = markdown(results)
    write_text_atomic(out / "results.md", table)
    print(table)
    print(f"results: {out / 'results.json'}, {out / 'results.md'}, plots: {', '.join(results['plots'])}")


def fmt_params(n: int) -> str:
    return f"{n / 1e6:.2f}M"


def markdown(results: dict[str, Any]) -> str:
    start = results["dense_start"]
    science = results["science_disciplines"]
    lines = [f"# Upcycling replication, scale `{results['scale']}`", "",
             f"Command: `{results['command']}`  ", f"Wall time {results['wall_seconds'] / 60:.1f} min, "
             f"{results['threads']} thread(s). Held-out: {results['held_out']['documents']} documents "
             f"({results['held_out']['documents_by_discipline']}). Dense start pretrained on general text only for "
             f"{results['steps']['pretraining']} steps: training loss {start['pretraining_flattening']['tenth_before']:.3f} "
             f"-> {start['pretraining_flattening']['last_tenth']:.3f} over its last two tenths.", "",
             "| arm | total params | active params | FLOPs/token (fwd) | training tokens | general loss | retention "
             "| mean science loss | science gain | doc routing warmup / integration (majority) | token routing (all top-K in "
             "group) warmup / integration (majority) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [("dense start", start)] + [(name, arm) for name, arm in results["arms"].items()]
    for name, arm in rows:
        ev = arm["eval"] if "eval" in arm else arm
        shape = arm["shape"]
        routing_cell = token_cell = "-"
        if "routing_after_warmup" in arm:
            w, i = arm["routing_after_warmup"], arm["routing_after_integration"]
            routing_cell = (f"{w['document']['accuracy']:.3f} / {i['document']['accuracy']:.3f} "
                            f"({w['document']['majority_baseline']:.3f})")
            token_cell = (f"{w['token']['accuracy']:.3f} / {i['token']['accuracy']:.3f} "
                          f"({w['token']['majority_baseline']:.3f})")
        lines.append(f"| {name} | {fmt_params(shape['total'])} | {fmt_params(shape['active'])} | "
                     f"{shape['flops_per_token'] / 1e6:.2f}M | {arm.get('training_tokens', 0):,} | {ev['general_loss']:.4f} | "
                     f"{start['general_loss'] / ev['general_loss']:.4f} | {ev['science_loss_mean']:.4f} | "
                     f"{start['science_loss_mean'] - ev['science_loss_mean']:+.4f} | {routing_cell} | {token_cell} |")
    lines += ["", "Loss per discipline on held-out documents (lower is better):", "",
              "| arm | " + " | ".join(science + [GENERAL]) + " |", "|---" * (len(science) + 2) + "|"]
    for name, arm in rows:
        ev = arm["eval"] if "eval" in arm else arm
        lines.append(f"| {name} | " + " | ".join(f"{ev['loss_per_discipline'][d]:.3f}" for d in science + [GENERAL]) + " |")
    if results.get("ablations"):
        lines += ["", "Innovator ablations (one option changed from the default run; stages they share are reused):", "",
                  "| variant | general loss | retention | mean science loss | doc routing warmup / integration | "
                  "token routing warmup / integration |", "|---|---|---|---|---|---|"]
        for name, arm in [("default", results["arms"]["innovator"])] + list(results["ablations"].items()):
            ev, w, i = arm["eval"], arm["routing_after_warmup"], arm["routing_after_integration"]
            lines.append(f"| {name} | {ev['general_loss']:.4f} | {start['general_loss'] / ev['general_loss']:.4f} | "
                         f"{ev['science_loss_mean']:.4f} | {w['document']['accuracy']:.3f} / {i['document']['accuracy']:.3f} | "
                         f"{w['token']['accuracy']:.3f} / {i['token']['accuracy']:.3f} |")
        for name, arm in results["ablations"].items():
            if "learned_routed_scale_per_layer" in arm:
                lines += ["", f"{name}: the routed scale each layer learned in integration (from 1): "
                              f"{arm['learned_routed_scale_per_layer']}"]
    lines += ["", "Rank by mean science loss: " + ", ".join(results["ranking"]["science"]),
              "", "Rank by general retention: " + ", ".join(results["ranking"]["retention"]),
              "", "## The papers' findings at this scale", ""]
    lines += [f"- {finding}" for finding in results["findings"]]
    return "\n".join(lines) + "\n"


def findings(results: dict[str, Any]) -> list[str]:
    """Each claim with its numbers and whether it reproduced here (computed, not written by hand)."""
    start, arms = results["dense_start"], results["arms"]

    def retention(name: str) -> float:
        return start["general_loss"] / arms[name]["eval"]["general_loss"]

    def sci(name: str) -> float:
        return arms[name]["eval"]["science_loss_mean"]

    yes = {True: "REPRODUCED", False: "NOT reproduced"}
    inn_ret, cpt_ret = retention("innovator"), retention("dense_cpt")
    out = [f"{yes[inn_ret >= 0.99 and cpt_ret < inn_ret]}: Innovator keeps general ability (retention {inn_ret:.4f}, "
           f"target >= 0.99) while dense continued pretraining loses more (retention {cpt_ret:.4f}).",
           f"{yes[sci('innovator') < sci('dense_cpt')]}: Innovator learns science better than dense continued "
           f"pretraining at equal tokens (mean science loss {sci('innovator'):.4f} vs {sci('dense_cpt'):.4f}).",
           f"{yes[all(sci(m) < sci('dense_cpt') for m in ('copy', 'virtual_group', 'drop'))]}: upcycled MoEs beat "
           f"continued dense training at equal tokens (NVIDIA): science loss copy {sci('copy'):.4f}, virtual-group "
           f"{sci('virtual_group'):.4f}, drop {sci('drop'):.4f} vs dense {sci('dense_cpt'):.4f}; overall held-out loss "
           + ", ".join(f"{m} {arms[m]['eval']['loss']:.4f}" for m in arms) + ".",
           f"{yes[sci('virtual_group') < sci('copy')]}: virtual-group fine-grained upcycling beats copy upcycling "
           f"({sci('virtual_group'):.4f} vs {sci('copy'):.4f}).",
           f"{yes[sci('drop') < sci('virtual_group')]}: Drop-Upcycling's partial re-initialisation helps "
           f"({sci('drop'):.4f} vs virtual-group {sci('virtual_group'):.4f})."]
    w = arms["innovator"]["routing_after_warmup"]["document"]
    i = arms["innovator"]["routing_after_integration"]["document"]
    out.append(f"{yes[w['accuracy'] >= 0.9 and i['accuracy'] >= 0.8]}: document-level routing accuracy after the "
               f"warmup {w['accuracy']:.3f} (target 0.90) and after integration {i['accuracy']:.3f} (target 0.80); "
               f"majority baseline {w['majority_baseline']:.3f}; own group holds over half the mass for "
               f"{w['accuracy_over_half']:.3f} / {i['accuracy_over_half']:.3f} of the documents.")
    return out


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=REPO / "benchmarks" / "replicate" / "replicate_upcycling.yaml")
    parser.add_argument("--scale", default="medium", help="a key of the recipe's `scales` (smoke, medium, full)")
    parser.add_argument("--smoke", action="store_true", help="--scale smoke in a temporary folder (CI)")
    parser.add_argument("--out", type=Path, default=None, help="results, table and plots (default runs/replicate/<scale>)")
    parser.add_argument("--work", type=Path, default=None, help="shards and stage caches (default <out>/work)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replot", action="store_true",
                        help="rewrite the table and plots from <out>/results.json and the stage folders; train nothing")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.smoke:
        args.scale = "smoke"
        smoke_dir = tempfile.TemporaryDirectory(prefix="sciloom-replicate-smoke-")
        args.out = args.out or Path(smoke_dir.name)
    args.out = (args.out or REPO / "runs" / "replicate" / args.scale).resolve()
    work = (args.work or args.out / "work").resolve()
    if args.replot:
        write_outputs(json.loads((args.out / "results.json").read_text()), work, args.out)
        return
    try:
        cfg = load_config(args.recipe, args.scale)
    except (ValidationError, ValueError, OSError, yaml.YAMLError) as error:
        print(f"error: {args.recipe}: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    if not DATA.is_dir():
        print(f"error: the real data is not at {DATA} (../shared/data beside the repository)", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    labelled_counts = write_labelled(cfg, work / "labelled")
    mixer_dir, pretrain_dir = build_streams(cfg, work / "labelled", work, args.seed)
    held = held_out_dataset(mixer_dir)
    vocab = held.vocab_size
    experts_for = induction_disciplines(mixer_dir)
    science = [d for d in experts_for if d in held.manifest["documents_by"]["discipline"]]
    steps = stream_steps(cfg, len(experts_for))
    tokens_per_step = cfg.batch_size * cfg.seq_len
    print(f"data: {labelled_counts}; experts for {experts_for}; held-out {held.manifest['documents']} documents; "
          f"steps {steps}", file=sys.stderr)

    dense = pretrain_dense(cfg, pretrain_dir, work, vocab, args.seed)
    results: dict[str, Any] = {
        "scale": args.scale, "command": " ".join(["benchmarks/replicate_upcycling.py"] + sys.argv[1:]),
        "threads": args.threads, "seed": args.seed, "labelled_documents": labelled_counts, "experts_for": experts_for,
        "science_disciplines": science, "steps": steps, "tokens_per_step": tokens_per_step,
        "held_out": {"documents": held.manifest["documents"],
                     "documents_by_discipline": held.manifest["documents_by"]["discipline"]},
        "dense_start": {**evaluate(dense, held, science), "shape": describe(dense, cfg.seq_len),
                        "pretraining_flattening": flattening(metrics_curve(work / "0_dense_pretraining"))},
        "arms": {}, "ablations": {}}
    for name in BASELINE_ARMS:
        arm_started = time.perf_counter()
        model = baseline_model(name, dense, cfg, len(experts_for), args.seed)
        shape = describe(model, cfg.seq_len)
        stream = BatchStream(PackedShardDataset(mixer_dir / "integration"), cfg.batch_size, args.seed + 200)
        train_stage(f"arm {name}", model, lambda n: True, stream, LanguageModeling(),
                    cfg.optim(total=steps["baseline"], lr=cfg.baselines.lr, warmup=cfg.baselines.warmup_steps),
                    work / "arms" / name, show_progress=False)
        results["arms"][name] = {"shape": shape, "training_tokens": steps["baseline"] * tokens_per_step,
                                 "eval": evaluate(model, held, science),
                                 "seconds": round(time.perf_counter() - arm_started, 1)}
        print(f"{name}: {json.dumps({k: v for k, v in results['arms'][name]['eval'].items() if 'loss' in k and k != 'loss_per_discipline'})}",
              file=sys.stderr)

    group_E = expert_groups(experts_for, cfg.innovator.granularity, list(DEFAULT_TAXONOMY.disciplines))
    owners = [DEFAULT_TAXONOMY.disciplines[d] for d in group_E.tolist()]
    default_dir = work / "arms" / "innovator"
    variants = [("innovator", {})] + [(name, ABLATIONS[name]) for name in cfg.ablations]
    for name, options in variants:
        arm_started = time.perf_counter()
        out_dir = default_dir if name == "innovator" else work / "ablations" / name
        warm, moe, report = run_innovator(cfg, dense, mixer_dir, out_dir, vocab, args.seed, options,
                                          None if name == "innovator" else default_dir)
        entry = {"options": options, "shape": describe(moe, cfg.seq_len), "expert_owners": owners,
                 "training_tokens": steps["baseline"] * tokens_per_step,
                 "router_only_tokens": steps["routing_warmup"] * tokens_per_step,
                 "eval": evaluate(moe, held, science), "routing_after_warmup": routing(warm, held, group_E),
                 "routing_after_integration": routing(moe, held, group_E),
                 "stage_final_losses": {k: v.get("final_loss") for k, v in report["stages"].items() if isinstance(v, dict)},
                 "seconds": round(time.perf_counter() - arm_started, 1)}
        if moe.config.moe.learned_routed_scale:
            entry["learned_routed_scale_per_layer"] = [round(layer.mlp.routed_scale.item(), 4) for layer in moe.model.layers]
        results["arms" if name == "innovator" else "ablations"][name] = entry
        doc = entry["routing_after_warmup"]["document"], entry["routing_after_integration"]["document"]
        print(f"{name}: general {entry['eval']['general_loss']:.4f} science {entry['eval']['science_loss_mean']:.4f} "
              f"doc routing {doc[0]['accuracy']:.3f} / {doc[1]['accuracy']:.3f}", file=sys.stderr)

    arms = results["arms"]
    results["ranking"] = {
        "science": sorted(arms, key=lambda a: arms[a]["eval"]["science_loss_mean"]),
        "retention": sorted(arms, key=lambda a: arms[a]["eval"]["general_loss"])}
    results["findings"] = findings(results)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    write_outputs(results, work, args.out)


if __name__ == "__main__":
    main()
