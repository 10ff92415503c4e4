"""The held-out choice: per label, from id hashes only, at least the minimum, never over half a label; the option
validates."""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from sciloom.mixer.buckets import count_buckets
from sciloom.mixer.config import BpeTrainConfig, HeldOutConfig, MixerConfig
from sciloom.mixer.held_out import HASH_RANGE, HeldOutChooser, id_hash
from sciloom.mixer.tokenize import DocumentEncoder, train_byte_level_bpe
from mixer_test_corpus import write_labelled_corpus

LABEL_SIZES = {"tiny": 1, "pair": 2, "three": 3, "five": 5, "seven": 7, "large": 3000}


def reference_held_out(ids_by_label: dict[str, list[str]], share: float, minimum: int) -> set[str]:
    """The rule stated by rank: below the share or among the `minimum` smallest hashes, within the smaller half."""
    held = set()
    for ids in ids_by_label.values():
        ranked = sorted(ids, key=id_hash)
        held |= {i for rank, i in enumerate(ranked)
                 if (id_hash(i) < share * HASH_RANGE or rank < minimum) and rank < len(ids) // 2}
    return held


@pytest.mark.parametrize(("share", "minimum"), [(0.01, 1), (0.01, 3), (0.25, 1), (0.05, 0)])
def test_choice_matches_the_rule_for_every_label_size(share: float, minimum: int) -> None:
    ids_by_label = {label: [f"{label}-{n}" for n in range(size)] for label, size in LABEL_SIZES.items()}
    chooser = HeldOutChooser(HeldOutConfig(share=share, min_documents_per_label=minimum))
    for label, ids in ids_by_label.items():
        for doc_id in ids:
            chooser.add(id_hash(doc_id), ("web", label, "high"), 10)
    rule, _ = chooser.finish()
    chosen = {i for label, ids in ids_by_label.items() for i in ids if rule.is_held_out(i, label)}
    assert chosen == reference_held_out(ids_by_label, share, minimum)
    for label, ids in ids_by_label.items():
        held = sum(i in chosen for i in ids)
        assert held <= len(ids) // 2  # training keeps at least half of every label: "tiny" keeps its document
        assert held >= min(minimum, len(ids) // 2)  # every label with >= 2 x minimum documents has the minimum
    large = sum(rule.is_held_out(i, "large") for i in ids_by_label["large"])
    assert abs(large - share * 3000) < 4 * (share * 3000) ** 0.5 + minimum  # the share itself holds on a big label


@pytest.mark.parametrize(("share", "minimum"), [(0.01, 3), (0.25, 1), (0.2, 1100)])
def test_choosers_of_parts_merged_choose_what_one_chooser_does(share: float, minimum: int) -> None:
    """The bucket count runs one chooser per part and merges them: same thresholds and moved documents as one pass,
    whatever the split (labels of 3,000 documents exceed the 1,024 hashes each chooser keeps)."""
    config = HeldOutConfig(share=share, min_documents_per_label=minimum)
    rng = random.Random(7)
    documents = [(id_hash(f"{label}-{n}"), ("web", label, rng.choice(["high", "low"])), rng.randrange(1, 500))
                 for label, size in LABEL_SIZES.items() for n in range(size)]
    rng.shuffle(documents)
    whole = HeldOutChooser(config)
    parts = [HeldOutChooser(config) for _ in range(7)]
    for doc in documents:
        whole.add(*doc)
        parts[rng.randrange(7)].add(*doc)
    merged = HeldOutChooser(config)
    for part in parts:
        part.trim()
        merged.merge(part)
    (rule, moved), (merged_rule, merged_moved) = whole.finish(), merged.finish()
    assert merged_rule == rule
    assert sorted(merged_moved, key=repr) == sorted(moved, key=repr)
    assert merged.documents == whole.documents and merged.below_share == whole.below_share


def _rows_by_part(folder: Path) -> list[dict]:
    return [row for path in sorted(folder.glob("part-*.parquet")) for row in pq.read_table(path).to_pylist()]


def _counting_setup(rows: list[dict], tokenizer_dir: Path) -> tuple[MixerConfig, DocumentEncoder]:
    """A mixer config holding out 10% and a byte-level BPE trained on the corpus, as count_buckets needs them."""
    train_byte_level_bpe((r["text"] for r in rows if r["text"]), BpeTrainConfig(vocab_size=300), tokenizer_dir)
    config = MixerConfig.model_validate({"tokenizer": {"train_bpe": {}}, "held_out": {"share": 0.1},
                                         "integration": {"token_budget": 1000, "general_ratio": 1.0,
                                                         "discipline_weights": {}}})
    return config, DocumentEncoder(tokenizer_dir / "tokenizer.json", config.tokenizer)


def test_choice_and_counts_do_not_depend_on_input_order_or_part_layout(ray_session, tmp_path: Path) -> None:
    rows = write_labelled_corpus(tmp_path / "a", parts=3, docs_per_part=40)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    (tmp_path / "b").mkdir()
    for p in range(5):  # other order, other number of parts
        pq.write_table(pa.Table.from_pylist(shuffled[p::5]), tmp_path / "b" / f"part-{p:05d}.parquet")
    config, encoder = _counting_setup(rows, tmp_path / "tok")
    a, b = (count_buckets(tmp_path / name, encoder, 8, config.held_out) for name in ("a", "b"))
    assert a.rule == b.rule
    for side in ("train", "held_out"):
        assert ([(x.key, x.documents, x.bytes) for x in getattr(a, side)]
                == [(x.key, x.documents, x.bytes) for x in getattr(b, side)])
    held = {r["id"] for r in _rows_by_part(tmp_path / "b") if r["text"] and a.rule.is_held_out(r["id"], r["discipline"])}
    assert sum(x.documents for x in a.held_out) == len(held) > 0


def test_counts_read_the_labelling_steps_text_bytes_instead_of_the_text(ray_session, tmp_path: Path) -> None:
    rows = write_labelled_corpus(tmp_path / "plain", parts=3, docs_per_part=40)
    (tmp_path / "counted").mkdir()
    for path in sorted((tmp_path / "plain").glob("part-*.parquet")):
        table = pq.read_table(path)
        nbytes = [len(t.encode()) for t in table.column("text").to_pylist()]
        pq.write_table(table.append_column("text_bytes", pa.array(nbytes, pa.int64())), tmp_path / "counted" / path.name,
                       row_group_size=7)  # samples are read back from several row groups
    config, encoder = _counting_setup(rows, tmp_path / "tok")
    plain, counted = (count_buckets(tmp_path / name, encoder, 8, config.held_out) for name in ("plain", "counted"))
    assert plain.rule == counted.rule and plain.unusable == counted.unusable == {"empty_text": 3}
    for side in ("train", "held_out"):
        assert getattr(plain, side) == getattr(counted, side)  # same documents, bytes and sampled tokens per bucket
    # The byte counts come from the column: a part whose counter disagrees with its text is counted by the counter.
    table = pq.read_table(tmp_path / "counted" / "part-00000.parquet")
    doubled = pc.multiply(table.column("text_bytes"), 2)
    pq.write_table(table.set_column(table.schema.get_field_index("text_bytes"), "text_bytes", doubled),
                   tmp_path / "counted" / "part-00000.parquet")
    skewed = count_buckets(tmp_path / "counted", encoder, 8, config.held_out)
    part0 = sum(len(r["text"].encode()) for r in rows if r["id"].startswith("doc-0-"))
    assert sum(b.bytes for b in skewed.train + skewed.held_out) == sum(b.bytes for b in plain.train + plain.held_out) + part0


@pytest.mark.parametrize(("held_out", "message"), [
    ({"share": 0}, "greater than 0"),
    ({"share": 0.5}, "less than or equal to 0.25"),
    ({"share": 0.05, "min_documents_per_label": -1}, "greater than or equal to 0"),
    ({"share": 0.05, "fraction": 0.1}, "Extra inputs are not permitted"),
    (None, "Field required"),
])
def test_recipe_option_validates(held_out: dict | None, message: str) -> None:
    data = {"tokenizer": {"train_bpe": {}}, "integration": {"token_budget": 10, "general_ratio": 1.0,
                                                            "discipline_weights": {}}}
    if held_out is not None:
        data["held_out"] = held_out
    with pytest.raises(ValidationError, match=message) as error:
        MixerConfig.model_validate(data)
    assert "held_out" in str(error.value)
