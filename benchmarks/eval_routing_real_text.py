"""Routing accuracy after Innovator's stage 3 (science-aware routing warmup) on real text, held out by document.

Data (../shared/data, never copied into the repo), loaded and labelled by classifiers/reference_corpus.py (MAG fields, arXiv categories, MMLU subjects through classifiers.taxonomy's DEFAULT_TAXONOMY; BBC news and
WikiText-2 as `general`). Documents are split by a hash of their normalised text (classifiers.train.split_of), so
a held-out document and its exact copies are never trained on. Science disciplines with too few training
documents get no experts (their documents are left out and listed).

Pipeline, all with the project's own code: a byte-level BPE (mixer.tokenize) trained on the train side; shard
folders written by the mixer's PackedShardWriter + manifest (`integration/` = science + general,
`expert_induction/<d>/`, `routing_warmup/` = science, `held_out/` = held-out science documents); then the
trainer: dense pretraining → stage 1 expert induction per discipline → stage 2 split (assemble_innovator) →
stage 3 routing warmup (RoutingWarmup objective, routers only), each through train_loop.train_stage.

Evaluation on the held-out documents: trainer.evaluate.routing_accuracy (the fraction of a discipline's tokens
whose top-K experts all lie in its group), per layer and per discipline; and, from the same forward passes, by
position of the token inside the document piece the model sees (the context it has), "top-1 expert in group",
and the same numbers on a sample of training sequences (fit vs generalisation).

Stages are cached in --work (train_stage reuses a finished stage with the same settings, data and start weights):
rerunning with another --warmup-tag, or after changing the stage-3 objective, retrains only stage 3 on the same
dense model and experts. Shards are written once per --work folder; use a new one when the data or mapping changes.
--probe adds linear probes (see linear_probe_accuracy) that separate what the router can reach from what its
features hold.

Run (default: hidden 128, 4 layers, 7.6M parameters, 14 experts G=2 K=2; pretraining 600 steps, induction
30 steps x 7 disciplines, warmup 300 steps, batch 8 x 256 tokens; ~10 min on a quiet core, 21 min measured with
the machine's 2 cores shared by 4 jobs):
  .venv/bin/python benchmarks/eval_routing_real_text.py --work /tmp/routing_real [--probe] [--out report.json]
Larger: --hidden 256 --layers 6 --pretrain-steps 1500 --warmup-steps 600 (and --threads 2 on a quiet machine).

Measured 2026-11-23 with the MMLU mapping before 502e05f (anatomy, virology were biology); 54,354 held-out tokens
of 219 documents; always routing into the largest discipline's group would score 0.335. Held-out routing accuracy
(all top-K in group / top-1 in group), mean over the 4 layers:
  group-mass loss (before)              0.213 / 0.340   per layer 0.066 0.209 0.232 0.345
  per-expert separation loss (after)    0.338 / 0.343   per layer 0.318 0.340 0.345 0.348
  (after) by position in the document piece: 0-15 0.226, 16-63 0.298, 64+ 0.384
  (after) on the whole training stream (--train-sample 782, 199,196 tokens): 0.351, so no overfitting
  (after) linear probes fitted on that stream (--probe), held-out top-1, layers 0-3: router input 0.371 0.387 0.388
  0.389; prefix mean of router inputs 0.418 0.442 0.445 0.445; prefix bag of token ids (no model) 0.439
  pretraining 250 instead of 600 steps: 0.311; demo size (hidden 64, 2 layers, 100 pretraining steps): 0.326
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY  # noqa: E402
from sciloom.classifiers.train import split_of  # noqa: E402
from sciloom.classifiers.reference_corpus import Record, bbc, mmlu, s2orc, unarxive, wikitext  # noqa: E402
from sciloom.mixer.config import BpeTrainConfig, TokenizerConfig  # noqa: E402
from sciloom.mixer.indexed_dataset import token_dtype  # noqa: E402
from sciloom.mixer.manifest import build_manifest, file_sha256, write_manifest  # noqa: E402
from sciloom.mixer.pack import PackedShardWriter  # noqa: E402
from sciloom.mixer.shard_reader import PackedShardDataset  # noqa: E402
from sciloom.mixer.tokenize import DocumentEncoder, train_byte_level_bpe  # noqa: E402
from sciloom.trainer.batches import BatchStream, collate  # noqa: E402
from sciloom.trainer.evaluate import routing_accuracy  # noqa: E402
from sciloom.trainer.innovator import dense_ffn_weights, expert_groups, is_ffn_parameter, is_router_parameter  # noqa: E402
from sciloom.trainer.losses import next_token_targets  # noqa: E402
from sciloom.trainer.model import CausalLM, ModelConfig  # noqa: E402
from sciloom.trainer.objectives import LanguageModeling, RoutingWarmup  # noqa: E402
from sciloom.trainer.optim_config import OptimConfig  # noqa: E402
from sciloom.trainer.train_loop import train_stage  # noqa: E402
from sciloom.trainer.upcycle import assemble_innovator  # noqa: E402

POSITION_BUCKETS = ((0, 16), (16, 64), (64, 1 << 30))
BAG_BUCKETS = 1024


def labelled_documents() -> list[Record]:
    tax = DEFAULT_TAXONOMY
    return s2orc(DATA, tax) + mmlu(DATA, tax) + unarxive(DATA, tax) + bbc(DATA, tax) + wikitext(DATA, tax)


def split_documents(records: list[Record], held_out_fraction: float) -> tuple[list[Record], list[Record]]:
    train, held = [], []
    for record in records:
        (held if split_of(record[1], held_out_fraction, 0.0, 100_000) == "test" else train).append(record)
    return train, held


def write_stream(folder: Path, docs: list[Record], encoder: DocumentEncoder, seq_len: int, disciplines: list[str],
                 seed: int) -> Path:
    """One shard folder of `docs` in a seeded random order, written by the mixer's shard writer."""
    if (folder / "manifest.json").is_file():
        return folder
    order = list(docs)
    random.Random(seed).shuffle(order)
    dtype = token_dtype(encoder.vocab_size)
    labels = np.array([disciplines.index(label) for _, _, label in order])
    tokens, lengths = encoder.encode_batch_flat([text for _, text, _ in order])
    with PackedShardWriter(folder / "part-00000", seq_len, dtype, pad_id=encoder.eos_id,
                           pad_discipline=disciplines.index(DEFAULT_TAXONOMY.general_label)) as writer:
        writer.add_documents(tokens, lengths, labels)
        part = writer.close()
    write_manifest(folder, build_manifest(seq_len=seq_len, token_dtype=np.dtype(dtype).name,
                                          vocab_size=encoder.vocab_size, pad_id=encoder.eos_id,
                                          disciplines=disciplines, tokenizer_sha256=file_sha256(encoder.tokenizer_file),
                                          recipe_hash="eval_routing_real_text", parts=[part]))
    return folder


def build_shards(args: argparse.Namespace, work: Path) -> tuple[Path, list[str], dict]:
    """Shards under work/shards, written once: a rerun reads them (and their description) back unchanged."""
    disciplines = list(DEFAULT_TAXONOMY.disciplines)
    general = DEFAULT_TAXONOMY.general_label
    shards = work / "shards"
    if (shards / "data.json").is_file():
        return shards, disciplines, json.loads((shards / "data.json").read_text())
    train, held = split_documents(labelled_documents(), args.held_out_fraction)
    train_counts = Counter(label for _, _, label in train)
    experts_for = sorted(d for d, n in train_counts.items() if d != general and n >= args.min_train_docs)
    science_train = [r for r in train if r[2] in experts_for]
    science_held = [r for r in held if r[2] in experts_for]
    general_train = [r for r in train if r[2] == general]
    random.Random(args.seed).shuffle(general_train)
    # General text is far larger than the science side: cap it so pretraining sees mostly science.
    science_chars = sum(len(t) for _, t, _ in science_train)
    kept_general, chars = [], 0
    for record in general_train:
        if chars >= args.general_ratio * science_chars:
            break
        kept_general.append(record)
        chars += len(record[1])
    tok_dir = work / "tokenizer"
    if not (tok_dir / "tokenizer.json").is_file():
        train_byte_level_bpe((t for _, t, _ in science_train + kept_general),
                             BpeTrainConfig(vocab_size=args.vocab_size, min_frequency=2), tok_dir)
    encoder = DocumentEncoder(tok_dir / "tokenizer.json", TokenizerConfig(path=tok_dir / "tokenizer.json"))
    write_stream(shards / "integration", science_train + kept_general, encoder, args.seq_len, disciplines, args.seed)
    for d in experts_for:
        write_stream(shards / "expert_induction" / d, [r for r in science_train if r[2] == d], encoder, args.seq_len,
                     disciplines, args.seed + 1)
    write_stream(shards / "routing_warmup", science_train, encoder, args.seq_len, disciplines, args.seed + 2)
    write_stream(shards / "held_out", science_held, encoder, args.seq_len, disciplines, args.seed + 3)
    data = {"experts_for": experts_for, "no_experts (too few train docs)":
            {d: n for d, n in train_counts.items() if d != general and d not in experts_for},
            "train_docs": dict(Counter(r[2] for r in science_train)), "held_out_docs": dict(Counter(r[2] for r in science_held)),
            "general_train_docs": len(kept_general), "vocab_size": encoder.vocab_size}
    for name in ("integration", "routing_warmup", "held_out"):
        data[f"{name}_tokens"] = PackedShardDataset(shards / name).manifest["tokens"]
    (shards / "data.json").write_text(json.dumps(data, indent=2))
    return shards, disciplines, data


def optim(steps: int, lr: float, batch_size: int) -> OptimConfig:
    return OptimConfig(steps=steps, lr=lr, batch_size=batch_size, warmup_steps=min(steps // 10, 50),
                       checkpoint_every=max(steps, 1), log_every=10)


def train_innovator(args: argparse.Namespace, shards: Path, disciplines: list[str], experts_for: list[str],
                    work: Path) -> tuple[CausalLM, torch.Tensor, dict]:
    """Dense pretraining, stage 1 per discipline, stage 2 split, stage 3 warmup (the pieces of innovator.run_stages)."""
    torch.manual_seed(args.seed)
    vocab = PackedShardDataset(shards / "integration").vocab_size
    dense = CausalLM(ModelConfig(vocab_size=vocab, hidden_size=args.hidden, intermediate_size=4 * args.hidden,
                                 num_layers=args.layers, num_attention_heads=args.hidden // 32,
                                 num_key_value_heads=max(args.hidden // 64, 1), max_position_embeddings=args.seq_len))
    seconds = {}
    run = f"h{args.hidden}_l{args.layers}_p{args.pretrain_steps}"

    def stage(name: str, model: CausalLM, trainable, folder: Path, objective, config: OptimConfig, out: Path, seed: int):
        started = time.perf_counter()
        summary = train_stage(name, model, trainable, BatchStream(PackedShardDataset(folder), config.batch_size, seed),
                              objective, config, out, show_progress=False)
        seconds[name] = round(time.perf_counter() - started, 1)
        return summary

    stage("dense pretraining", dense, lambda name: True, shards / "integration", LanguageModeling(),
          optim(args.pretrain_steps, args.pretrain_lr, args.batch_size), work / run / "0_dense", args.seed)
    induced = {}
    for offset, d in enumerate(experts_for, start=1):
        expert = copy.deepcopy(dense)
        stage(f"expert induction: {d}", expert, is_ffn_parameter, shards / "expert_induction" / d, LanguageModeling(),
              optim(args.induction_steps, args.induction_lr, args.batch_size), work / run / "1_induction" / d,
              args.seed + offset)
        induced[d] = dense_ffn_weights(expert)
    moe = assemble_innovator(dense, induced, granularity=args.granularity, top_k=args.top_k)
    group_E = expert_groups(experts_for, args.granularity, disciplines)
    warm = stage("routing warmup", moe, is_router_parameter, shards / "routing_warmup", RoutingWarmup(group_E),
                 optim(args.warmup_steps, args.warmup_lr, args.batch_size),
                 work / run / f"3_warmup_{args.warmup_tag}_s{args.warmup_steps}_lr{args.warmup_lr}", args.seed + 100)
    return moe, group_E, {"seconds": seconds, "warmup_final_loss": warm["final_loss"]}


def document_batches(dataset: PackedShardDataset, indices: list[int], batch_size: int):
    for first in range(0, len(indices), batch_size):
        yield collate([dataset[i] for i in indices[first:first + batch_size]])


@torch.no_grad()
def routing_breakdown(model: CausalLM, batches, group_E: torch.Tensor, disciplines: list[str]) -> dict:
    """Per layer: all-top-K-in-group and top-1-in-group, overall, per discipline and per position bucket."""
    model.eval()
    rows: list[dict[str, torch.Tensor]] = []
    for batch in batches:
        inputs_BT, _, _ = next_token_targets(batch)
        segments_BT = batch["segment_ids"][:, :-1]
        out = model(inputs_BT, segments_BT)
        # Position inside the document piece the model attends over (positions restart at each segment).
        _, position_BT = piece_positions(segments_BT)
        disc_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
        scored_N = torch.isin(disc_N, group_E)
        in_group_LNK = torch.stack([group_E[e] == disc_N.unsqueeze(1) for e in out.experts])
        rows.append({"disc": disc_N[scored_N], "pos": position_BT.reshape(-1)[scored_N],
                     "all": in_group_LNK.all(-1)[:, scored_N].double(), "top1": in_group_LNK[:, :, 0][:, scored_N].double()})
    disc_N = torch.cat([r["disc"] for r in rows])
    pos_N = torch.cat([r["pos"] for r in rows])
    all_LN = torch.cat([r["all"] for r in rows], dim=1)
    top1_LN = torch.cat([r["top1"] for r in rows], dim=1)
    out = {"tokens": int(disc_N.numel()), "all_per_layer": all_LN.mean(1).tolist(),
           "top1_per_layer": top1_LN.mean(1).tolist(), "all": float(all_LN.mean()), "top1": float(top1_LN.mean())}
    out["per_discipline"] = {disciplines[d]: {"tokens": int((disc_N == d).sum()),
                                              "all_per_layer": all_LN[:, disc_N == d].mean(1).tolist(),
                                              "top1_per_layer": top1_LN[:, disc_N == d].mean(1).tolist()}
                             for d in disc_N.unique().tolist()}
    # Routing every token into the largest discipline's group scores this share: the floor a router must beat.
    out["majority_group_baseline"] = max(part["tokens"] for part in out["per_discipline"].values()) / out["tokens"]
    out["macro_all"] = float(np.mean([np.mean(part["all_per_layer"]) for part in out["per_discipline"].values()]))
    out["per_position"] = {}
    for low, high in POSITION_BUCKETS:
        keep = (pos_N >= low) & (pos_N < high)
        out["per_position"][f"{low}-{high if high < 1 << 30 else ''}"] = {
            "tokens": int(keep.sum()), "all_per_layer": all_LN[:, keep].mean(1).tolist(),
            "top1_per_layer": top1_LN[:, keep].mean(1).tolist()}
    return out


def piece_positions(segments_BT: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(index of the first token of each token's document piece, position inside that piece), per token."""
    starts_BT = torch.ones_like(segments_BT, dtype=torch.bool)
    starts_BT[:, 1:] = segments_BT[:, 1:] != segments_BT[:, :-1]
    index_BT = torch.arange(segments_BT.shape[1]).expand_as(segments_BT)
    start_index_BT = torch.cummax(torch.where(starts_BT, index_BT, 0), dim=1).values
    return start_index_BT, index_BT - start_index_BT


def piece_prefix_mean(x_BTD: torch.Tensor, start_BT: torch.Tensor, position_BT: torch.Tensor) -> torch.Tensor:
    """[B*T, D]: per token, the mean of x over its document piece up to and including it."""
    sums_BTD = torch.cumsum(x_BTD, dim=1)
    before_BTD = torch.cat([torch.zeros_like(sums_BTD[:, :1]), sums_BTD[:, :-1]], dim=1)
    piece_sum_BTD = sums_BTD - before_BTD.gather(1, start_BT.unsqueeze(-1).expand_as(x_BTD))
    return (piece_sum_BTD / (position_BT + 1).unsqueeze(-1)).reshape(-1, x_BTD.shape[-1])


@torch.no_grad()
def router_inputs(model: CausalLM, batches, group_E: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor],
                                                                            torch.Tensor, torch.Tensor]:
    """For the tokens routing scores: per MoE layer, the hidden state its router reads (the MoE block's input) and
    the mean of those hidden states over the document piece up to and including the token; the bag of token ids
    of that prefix (ids folded into BAG_BUCKETS, mean of one-hots), which no model has processed; the labels."""
    model.eval()
    captured: list[torch.Tensor] = []
    hooks = [layer.mlp.register_forward_pre_hook(lambda module, inputs: captured.append(inputs[0].detach()))
             for layer in model.model.layers]
    token_features: list[list[torch.Tensor]] = [[] for _ in hooks]
    prefix_features: list[list[torch.Tensor]] = [[] for _ in hooks]
    bags, labels = [], []
    try:
        for batch in batches:
            captured.clear()
            inputs_BT, _, _ = next_token_targets(batch)
            segments_BT = batch["segment_ids"][:, :-1]
            model(inputs_BT, segments_BT)
            start_BT, position_BT = piece_positions(segments_BT)
            disc_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
            scored_N = torch.isin(disc_N, group_E)
            for layer, x in enumerate(captured):
                x_BTD = x.reshape(*inputs_BT.shape, -1).double()
                token_features[layer].append(x_BTD.reshape(-1, x_BTD.shape[-1])[scored_N].float())
                prefix_features[layer].append(piece_prefix_mean(x_BTD, start_BT, position_BT)[scored_N].float())
            one_hot_BTV = torch.nn.functional.one_hot(inputs_BT % BAG_BUCKETS, BAG_BUCKETS).double()
            bags.append(piece_prefix_mean(one_hot_BTV, start_BT, position_BT)[scored_N].float())
            labels.append(disc_N[scored_N])
    finally:
        for hook in hooks:
            hook.remove()
    return ([torch.cat(f) for f in token_features], [torch.cat(f) for f in prefix_features], torch.cat(bags),
            torch.cat(labels))


def fit_softmax_regression(X_ND: torch.Tensor, y_N: torch.Tensor, classes: int) -> torch.Tensor:
    """Multinomial logistic regression (bias as the last row), L-BFGS to convergence, a whisper of L2."""
    Xb_ND = torch.cat([X_ND, torch.ones(len(X_ND), 1)], dim=1)
    W = torch.zeros(Xb_ND.shape[1], classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([W], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xb_ND @ W, y_N) + 1e-4 * W[:-1].square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return W.detach()


def linear_probe_accuracy(model: CausalLM, train_batches, held_batches, group_E: torch.Tensor) -> dict[str, list[float]]:
    """Per layer: held-out top-1 accuracy of multinomial logistic regressions fitted to convergence (L-BFGS) on
    training tokens, (a) on the router's own input: a linear router is the same function class, so this is about
    what stage 3 can reach on these features; (b) on the mean of the router inputs over the document so far: what
    a linear head gets when the whole prefix is summarised for it (how much the tokens' own states leave out)."""
    owners = group_E.unique()
    train_token, train_prefix, train_bag, train_y = router_inputs(model, train_batches, group_E)
    held_token, held_prefix, held_bag, held_y = router_inputs(model, held_batches, group_E)
    train_c, held_c = torch.searchsorted(owners, train_y), torch.searchsorted(owners, held_y)
    out: dict[str, list[float]] = {"router_input": [], "document_prefix_mean": [], "prefix_token_bag (no model)": []}
    for name, train_X, held_X in (("router_input", train_token, held_token),
                                  ("document_prefix_mean", train_prefix, held_prefix),
                                  ("prefix_token_bag (no model)", [train_bag], [held_bag])):
        for X, Z in zip(train_X, held_X, strict=True):
            mean, std = X.mean(0), X.std(0) + 1e-6
            W = fit_softmax_regression((X - mean) / std, train_c, len(owners))
            Zb = torch.cat([(Z - mean) / std, torch.ones(len(Z), 1)], dim=1)
            out[name].append(float(((Zb @ W).argmax(1) == held_c).double().mean()))
    return out


def table(name: str, result: dict, layers: int) -> str:
    head = f"{name:26s} {'tokens':>7s} " + " ".join(f"{'L' + str(i):>11s}" for i in range(layers)) + f" {'mean':>11s}"
    lines = [head, f"{'':26s} {'':>7s} " + " ".join(f"{'allK/top1':>11s}" for _ in range(layers + 1))]

    def row(label: str, part: dict) -> str:
        cells = [f"{a:5.3f}/{t:5.3f}" for a, t in zip(part["all_per_layer"], part["top1_per_layer"], strict=True)]
        mean = f"{np.mean(part['all_per_layer']):5.3f}/{np.mean(part['top1_per_layer']):5.3f}"
        return f"{label:26s} {part['tokens']:7d} " + " ".join(f"{c:>11s}" for c in cells) + f" {mean:>11s}"

    lines.append(row("all disciplines", {"tokens": result["tokens"], "all_per_layer": result["all_per_layer"],
                                         "top1_per_layer": result["top1_per_layer"]}))
    for d, part in result["per_discipline"].items():
        lines.append(row(d, part))
    for bucket, part in result["per_position"].items():
        lines.append(row(f"position {bucket}", part))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None,
                        help="working folder (shards, tokenizer, stage caches); required unless --smoke")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--pretrain-lr", type=float, default=3e-3)
    parser.add_argument("--induction-steps", type=int, default=30)
    parser.add_argument("--induction-lr", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--warmup-lr", type=float, default=0.02)
    parser.add_argument("--warmup-tag", default="default", help="names the stage-3 cache folder")
    parser.add_argument("--granularity", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--held-out-fraction", type=float, default=0.2)
    parser.add_argument("--min-train-docs", type=int, default=20, help="fewer training documents: no experts")
    parser.add_argument("--general-ratio", type=float, default=1.0, help="general chars per science char (pretraining)")
    parser.add_argument("--train-sample", type=int, default=160, help="training sequences also scored (fit check)")
    parser.add_argument("--probe", action="store_true", help="also fit a linear probe on the router inputs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny model and a few steps of every stage in a temporary folder: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        smoke_work = tempfile.TemporaryDirectory(prefix="sciloom-eval-routing-smoke-")
        args.work = Path(smoke_work.name)
        args.hidden, args.layers, args.seq_len, args.vocab_size, args.batch_size = 32, 2, 64, 512, 4
        args.pretrain_steps, args.induction_steps, args.warmup_steps, args.train_sample = 3, 2, 3, 8
    elif args.work is None:
        parser.error("--work is required (or --smoke)")
    if not DATA.is_dir():
        sys.exit(f"real evaluation data not found at {DATA}")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    shards, disciplines, data = build_shards(args, args.work)
    print(json.dumps(data), file=sys.stderr)
    moe, group_E, training = train_innovator(args, shards, disciplines, data["experts_for"], args.work)

    held = PackedShardDataset(shards / "held_out")
    held_indices = list(range(len(held)))
    accuracy = routing_accuracy(moe, document_batches(held, held_indices, 16), group_E, disciplines)
    breakdown = routing_breakdown(moe, document_batches(held, held_indices, 16), group_E, disciplines)
    warm = PackedShardDataset(shards / "routing_warmup")
    train_indices = np.random.default_rng(args.seed).choice(len(warm), min(args.train_sample, len(warm)), replace=False)
    on_train = routing_breakdown(moe, document_batches(warm, sorted(train_indices.tolist()), 16), group_E, disciplines)
    probe = linear_probe_accuracy(moe, document_batches(warm, sorted(train_indices.tolist()), 16),
                                  document_batches(held, held_indices, 16), group_E) if args.probe else None
    # Two implementations of the same number: the breakdown must agree with trainer.evaluate.routing_accuracy.
    assert abs(accuracy["accuracy"] - breakdown["all"]) < 1e-9, (accuracy["accuracy"], breakdown["all"])

    model_params = sum(p.numel() for p in moe.parameters())
    report = {"args": {k: str(v) for k, v in vars(args).items()}, "data": data, "training": training,
              "routing_accuracy": accuracy, "held_out": breakdown, "train_sample": on_train, "linear_probe_top1_per_layer": probe,
              "moe_parameters": model_params, "experts": int(group_E.numel()),
              "chance_all_topk_in_group": 1 / float(np.prod([(group_E.numel() - i) / (args.granularity - i)
                                                              for i in range(args.top_k)]))
              if args.top_k <= args.granularity else 0.0,
              "wall_seconds": round(time.perf_counter() - started, 1)}
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"model: hidden {args.hidden}, {args.layers} layers, {group_E.numel()} experts (G={args.granularity}, "
          f"K={args.top_k}), {model_params / 1e6:.2f}M parameters; steps pretrain {args.pretrain_steps}, induction "
          f"{args.induction_steps} x {len(data['experts_for'])}, warmup {args.warmup_steps} (final loss "
          f"{training['warmup_final_loss']:.3f}); stage seconds {training['seconds']}")
    print(f"held-out routing accuracy (trainer.evaluate.routing_accuracy): {accuracy['accuracy']:.3f} "
          f"(target 0.9; chance {report['chance_all_topk_in_group']:.4f}); per layer "
          + " ".join(f"{a:.3f}" for a in accuracy["per_layer"]))
    print(f"held-out: macro mean over disciplines {breakdown['macro_all']:.3f}; always routing into the largest "
          f"discipline's group would score {breakdown['majority_group_baseline']:.3f}")
    print(table("HELD-OUT", breakdown, args.layers))
    print(table("TRAIN SAMPLE", on_train, args.layers))
    if probe:
        for name, per_layer in probe.items():
            print(f"linear probe on {name} (held-out top-1 discipline accuracy, fitted on the train sample): "
                  + " ".join(f"L{i} {a:.3f}" for i, a in enumerate(per_layer)))
    print(f"wall time {report['wall_seconds']} s")


if __name__ == "__main__":
    main()
