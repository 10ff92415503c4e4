"""build_mixture end to end on real Ray: shards decode back to the planned documents, resume, infeasibility,
an earlier build kept (tokenizer included), a deleted stream refused before training."""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from tokenizers import Tokenizer
from typer.testing import CliRunner

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.mixer.config import MixerConfig
from sciloom.mixer.held_out import HASH_RANGE, id_hash
from sciloom.mix_commands import register
from sciloom.mixer.manifest import ShardFolderMissing, read_manifest
from sciloom.mixer.pipeline import MixerBuildExists, build_mixture
from sciloom.mixer.plan import InfeasiblePlan
from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.mixer.verify import VerificationFailed, verify
from sciloom.trainer.config import TrainerConfig
from sciloom.trainer.pipeline import run_training
from mixer_test_corpus import write_labelled_corpus

EPOCHS = {"high": 2, "medium": 1, "low": 0}
SHARE, MINIMUM = 0.1, 2


def config(integration_budget: int = 5000) -> MixerConfig:
    weights = {"physics": 1, "mathematics": 1}
    return MixerConfig(tokenizer={"train_bpe": {"vocab_size": 400}}, seq_len=64,
                       held_out={"share": SHARE, "min_documents_per_label": MINIMUM},
                       expert_induction={"token_budget": 1500, "general_ratio": 0.2, "discipline_weights": weights},
                       integration={"token_budget": integration_budget, "general_ratio": 0.5,
                                    "discipline_weights": weights, "source_caps": {"web": 0.6}})


def documents_of(dataset: PackedShardDataset, eos_id: int) -> list[tuple[list[int], int]]:
    """Cut the packed stream back into documents at EOS, with the discipline id each token carries."""
    docs, current, disciplines = [], [], set()
    for i in range(len(dataset)):
        item = dataset[i]
        for token, discipline, keep in zip(item["tokens"], item["discipline_ids"], item["loss_mask"]):
            if not keep:
                continue
            current.append(int(token))
            disciplines.add(int(discipline))
            if token == eos_id:
                assert len(disciplines) == 1  # one discipline per document
                docs.append((current, disciplines.pop()))
                current = []
    assert current == []
    return docs


@pytest.fixture(scope="module")
def built(ray_session, tmp_path_factory) -> tuple[Path, list[dict], dict]:
    root = tmp_path_factory.mktemp("mix")
    corpus = write_labelled_corpus(root / "labelled")
    summary = build_mixture(config(), root / "labelled", root / "mixer", seed=0, show_progress=False)
    return root, corpus, summary


def test_shards_hold_the_planned_documents(built) -> None:
    root, corpus, summary = built
    tokenizer = Tokenizer.from_file(summary["tokenizer"])
    eos_id = tokenizer.token_to_id("<|endoftext|>")
    by_text = {row["text"]: row for row in corpus if row["text"]}
    assert set(summary["streams"]) == {"expert_induction/physics", "expert_induction/mathematics", "integration"}
    for folder, stream in summary["streams"].items():
        dataset = PackedShardDataset(root / "mixer" / folder)
        manifest = read_manifest(root / "mixer" / folder)
        docs = documents_of(dataset, eos_id)
        copies: Counter = Counter()
        tokens_by_source: Counter = Counter()
        for tokens, discipline in docs:
            row = by_text[tokenizer.decode(tokens[:-1])]  # independent reference: decode to the original text
            assert tokens[:-1] == tokenizer.encode(row["text"], add_special_tokens=False).ids
            assert DEFAULT_TAXONOMY.disciplines[discipline] == row["discipline"]
            assert row["discipline"] in stream["targets"]
            copies[row["id"]] += 1
            tokens_by_source[row["source"]] += len(tokens)
        for doc_id, n in copies.items():
            row = next(r for r in corpus if r["id"] == doc_id)
            assert n <= EPOCHS[row["quality_tier"]]  # low tier never, high at most twice
        assert manifest["tokens"] == sum(len(t) for t, _ in docs) == stream["tokens"]
        assert manifest["tokens_by"]["source"] == dict(sorted(tokens_by_source.items()))
        # Tiny streams: a 300-token share is assembled from fractions of ~100-token documents in 3 parts; systematic
        # sampling over the parts keeps each discipline within about one document of its share.
        assert abs(stream["tokens"] - stream["budget"]) / stream["budget"] < 0.1
        for discipline, target in stream["targets"].items():
            assert abs(stream["achieved"][discipline] - target) < 0.06, (folder, stream)
    integration = summary["streams"]["integration"]
    assert integration["tokens"] > 4500
    web = read_manifest(root / "mixer" / "integration")["tokens_by"]["source"].get("web", 0)
    assert web / integration["tokens"] <= 0.6 + 0.05
    assert verify(root / "mixer")["folders"] == 4  # three training streams and held_out
    assert (root / "mixer" / "plan.png").stat().st_size > 1000


def expected_held_out(corpus: list[dict]) -> set[str]:
    """Reference rule, stated by rank: per label, ids hashing below the share or among the MINIMUM smallest,
    never more than half of the label."""
    by_label: dict[str, list[dict]] = {}
    for row in corpus:
        if row["text"]:
            by_label.setdefault(row["discipline"], []).append(row)
    held = set()
    for rows in by_label.values():
        ranked = sorted(rows, key=lambda r: id_hash(r["id"]))
        held |= {r["id"] for rank, r in enumerate(ranked)
                 if (id_hash(r["id"]) < SHARE * HASH_RANGE or rank < MINIMUM) and rank < len(rows) // 2}
    return held


def test_held_out_documents_are_written_once_and_in_no_training_stream(built) -> None:
    root, corpus, summary = built
    tokenizer = Tokenizer.from_file(summary["tokenizer"])
    eos_id = tokenizer.token_to_id("<|endoftext|>")
    by_text = {row["text"]: row for row in corpus if row["text"]}

    def ids_in(folder: str) -> Counter:
        docs = documents_of(PackedShardDataset(root / "mixer" / folder), eos_id)
        return Counter(by_text[tokenizer.decode(tokens[:-1])]["id"] for tokens, _ in docs)

    held = ids_in("held_out")
    assert set(held) == expected_held_out(corpus) and set(held.values()) == {1}  # one copy, whatever its tier
    for folder in summary["streams"]:
        assert not set(ids_in(folder)) & set(held), folder
    per_label = Counter(next(r for r in corpus if r["id"] == i)["discipline"] for i in held)
    assert set(per_label) == {"general", "physics", "mathematics"} and min(per_label.values()) >= MINIMUM
    manifest = read_manifest(root / "mixer" / "held_out")
    assert manifest["documents_by"]["discipline"] == dict(sorted(per_label.items()))
    assert summary["held_out"]["documents"] == len(held)
    plan = json.loads((root / "mixer" / "plan.json").read_text())
    assert {d: row["held_out_documents"] for d, row in plan["held_out"]["by_discipline"].items()} == per_label
    # Budgets were planned on the remaining documents only.
    assert sum(b["documents"] for b in plan["buckets"]) == sum(1 for r in corpus if r["text"]) - len(held)
    assert "held-out documents" in (root / "mixer" / "plan.txt").read_text()


def test_held_out_set_does_not_depend_on_part_layout(built, tmp_path: Path) -> None:
    """The same documents in another order and another number of parts (so other Ray tasks): same held-out set."""
    root, corpus, summary = built
    shuffled = corpus[::-1]
    (tmp_path / "labelled").mkdir()
    for p in range(2):
        pq.write_table(pa.Table.from_pylist(shuffled[p::2]), tmp_path / "labelled" / f"part-{p:05d}.parquet")
    other = build_mixture(config(), tmp_path / "labelled", tmp_path / "mixer", seed=0, show_progress=False)

    def held_ids(mixer_dir: Path, tokenizer_file: str) -> set[str]:
        tokenizer = Tokenizer.from_file(tokenizer_file)
        docs = documents_of(PackedShardDataset(mixer_dir / "held_out"), tokenizer.token_to_id("<|endoftext|>"))
        by_text = {row["text"]: row["id"] for row in corpus if row["text"]}
        return {by_text[tokenizer.decode(tokens[:-1])] for tokens, _ in docs}

    assert held_ids(tmp_path / "mixer", other["tokenizer"]) == held_ids(root / "mixer", summary["tokenizer"])


def test_rerun_resumes_without_rewriting(built) -> None:
    root, _, summary = built
    before = {p: p.stat().st_mtime_ns for p in (root / "mixer").rglob("part-*.bin")}
    again = build_mixture(config(), root / "labelled", root / "mixer", seed=0, show_progress=False)
    assert again["stage"]["tasks_resumed_from_earlier_run"] == 3
    assert again["streams"] == summary["streams"]
    assert {p: p.stat().st_mtime_ns for p in (root / "mixer").rglob("part-*.bin")} == before


def test_infeasible_mixture_stops_before_tokenizing(ray_session, tmp_path: Path) -> None:
    write_labelled_corpus(tmp_path / "labelled")
    with pytest.raises(InfeasiblePlan, match=r"integration: discipline 'physics' needs 250,000 tokens"):
        build_mixture(config(integration_budget=1_000_000), tmp_path / "labelled", tmp_path / "mixer", seed=0,
                      show_progress=False)
    assert not list((tmp_path / "mixer").rglob("part-*"))
    assert "INFEASIBLE" in (tmp_path / "mixer" / "plan.txt").read_text()
    assert json.loads((tmp_path / "mixer" / "plan.json").read_text())["problems"]


def test_a_changed_setting_never_deletes_the_earlier_build(built, tmp_path: Path) -> None:
    """Another seed on the same folder: refused with what differs; every earlier shard file stays as it was."""
    root, _, _ = built
    mixer_dir = tmp_path / "mixer"
    shutil.copytree(root / "mixer", mixer_dir)
    before = {p: p.read_bytes() for p in mixer_dir.rglob("*") if p.is_file()}
    with pytest.raises(MixerBuildExists) as refused:
        build_mixture(config(), root / "labelled", mixer_dir, seed=1, show_progress=False)
    assert "seed changed" in str(refused.value) and f"rm -r {mixer_dir}" in str(refused.value)
    with pytest.raises(MixerBuildExists, match="mixer changed"):
        build_mixture(config(integration_budget=12_345), root / "labelled", mixer_dir, seed=0, show_progress=False)
    assert {p: p.read_bytes() for p in mixer_dir.rglob("*") if p.is_file()} == before
    # Removed deliberately, the folder takes the new build.
    shutil.rmtree(mixer_dir)
    rebuilt = build_mixture(config(), root / "labelled", mixer_dir, seed=1, show_progress=False)
    assert rebuilt["stage"]["tasks_resumed_from_earlier_run"] == 0


def test_mix_plan_never_retrains_the_tokenizer_of_a_build(built, tmp_path: Path) -> None:
    """`sciloom mix plan` on a built mixer folder with other tokenizer settings: refused, the build's tokenizer kept
    (retraining it left every shard beside it encoded with a tokenizer that no longer exists)."""
    root, _, _ = built
    mixer_dir = tmp_path / "mixer"
    shutil.copytree(root / "mixer", mixer_dir)
    tokenizer = (mixer_dir / "tokenizer" / "tokenizer.json").read_bytes()
    changed = config().model_dump(mode="json")
    changed["tokenizer"]["train_bpe"]["vocab_size"] = 420
    (tmp_path / "mixer.yaml").write_text(yaml.safe_dump(changed))
    application = typer.Typer()
    register(application)
    result = CliRunner().invoke(application, ["mix", "plan", str(tmp_path / "mixer.yaml"), "--labelled",
                                              str(root / "labelled"), "--out-dir", str(mixer_dir)])
    assert isinstance(result.exception, MixerBuildExists), result.output
    assert f"rm -r {mixer_dir}" in str(result.exception)
    assert (mixer_dir / "tokenizer" / "tokenizer.json").read_bytes() == tokenizer
    assert verify(mixer_dir)["folders"] == 4



def test_mix_plan_on_a_built_folder_leaves_the_builds_plan_alone(built, tmp_path: Path) -> None:
    """A preview of other ratios used to replace the build's plan.json (which the report reads) with a plan its
    shards do not follow."""
    root, _, _ = built
    mixer_dir = tmp_path / "mixer"
    shutil.copytree(root / "mixer", mixer_dir)
    before = {p: p.read_bytes() for p in mixer_dir.rglob("*") if p.is_file()}
    (tmp_path / "mixer.yaml").write_text(yaml.safe_dump(config(integration_budget=4000).model_dump(mode="json")))
    application = typer.Typer()
    register(application)
    result = CliRunner().invoke(application, ["mix", "plan", str(tmp_path / "mixer.yaml"), "--labelled",
                                              str(root / "labelled"), "--out-dir", str(mixer_dir)])
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in mixer_dir.rglob("*") if p.is_file()} == before
    preview = json.loads((tmp_path / "_mixer" / "plan_preview" / "plan.json").read_text())
    assert preview != json.loads((mixer_dir / "plan.json").read_text())
    assert "this preview is in" in result.output

def test_training_refuses_a_missing_stream_before_training_anything(built, tmp_path: Path) -> None:
    """A stream folder the mixer wrote, deleted whole: refused before dense pretraining, not after it."""
    root, _, _ = built
    mixer_dir = tmp_path / "mixer"
    shutil.copytree(root / "mixer", mixer_dir)
    shutil.rmtree(mixer_dir / "expert_induction" / "physics")
    trainer = TrainerConfig.model_validate(yaml.safe_load((Path(__file__).parents[2] / "recipes" / "demo.yaml")
                                                          .read_text())["trainer"])
    assert trainer.dense.pretrain is not None  # the stage that used to run first
    with pytest.raises(ShardFolderMissing, match=re.escape("expert_induction/physics")):
        run_training(trainer, mixer_dir, tmp_path / "trainer", list(DEFAULT_TAXONOMY.disciplines))
    assert not (tmp_path / "trainer").exists()


def test_verify_of_a_stage_folder_reports_a_deleted_stream_under_it(built, tmp_path: Path) -> None:
    """`shards verify mixer/expert_induction` with one discipline's folder deleted whole: not ok, and the folder named."""
    root, _, _ = built
    mixer_dir = tmp_path / "mixer"
    shutil.copytree(root / "mixer", mixer_dir)
    shutil.rmtree(mixer_dir / "expert_induction" / "physics")
    gone = mixer_dir / "expert_induction" / "physics"
    for checked in (mixer_dir, mixer_dir / "expert_induction"):
        with pytest.raises(VerificationFailed, match=re.escape(f"{gone}: listed in {mixer_dir / 'mixer_report.json'}")):
            verify(checked)
    assert verify(mixer_dir / "integration")["folders"] == 1  # a stream that is whole still verifies on its own
