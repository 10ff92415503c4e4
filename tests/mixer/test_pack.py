"""Packing: documents longer than a sequence continue in the next one, nothing is lost, failures leave no files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sciloom.mixer.indexed_dataset import read_index
from sciloom.mixer.pack import PackedShardWriter
from sciloom.mixer.segments import expand_sequence, read_segments, seg_path


def test_long_document_spans_sequences_and_segments_restart(tmp_path: Path) -> None:
    seq_len = 8
    docs = [(np.arange(1, 4), 1), (np.arange(10, 30), 2), (np.arange(40, 42), 3)]  # 3 + 20 + 2 = 25 tokens
    with PackedShardWriter(tmp_path / "p", seq_len, np.uint16, pad_id=0, pad_discipline=8) as writer:
        for tokens, discipline in docs:
            writer.add_document(tokens, discipline)
        writer.add_document(np.zeros(0, dtype=np.int64), 5)  # an empty document adds nothing
        described = writer.close()
    assert described["sequences"] == 4 and described["tokens"] == 25 and described["padding_tokens"] == 7
    assert described["documents"] == 3
    shard = read_index(tmp_path / "p")
    flat = np.concatenate([shard.sequence(i) for i in range(len(shard))])
    np.testing.assert_array_equal(flat[:25], np.concatenate([t for t, _ in docs]))
    assert np.all(flat[25:] == 0)
    records = read_segments(seg_path(tmp_path / "p"), seq_len, 32, num_disciplines=9)
    rows = [expand_sequence(records, i, seq_len) for i in range(4)]
    np.testing.assert_array_equal(rows[0][0], [0, 0, 0, 1, 1, 1, 1, 1])  # doc 0, then doc 1 starts
    np.testing.assert_array_equal(rows[1][0], [0] * 8)  # doc 1 continues: segment 0 of this row
    np.testing.assert_array_equal(rows[2][0], [0] * 7 + [1])  # doc 1 ends, doc 2 starts
    np.testing.assert_array_equal(rows[3][0], [0] + [1] * 7)  # doc 2 ends, then padding
    np.testing.assert_array_equal(rows[3][1], [3] + [8] * 7)
    np.testing.assert_array_equal(rows[3][2], [True] + [False] * 7)
    assert all(row[2].all() for row in rows[:3])


def test_failure_inside_the_writer_leaves_no_files(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with PackedShardWriter(tmp_path / "p", 8, np.uint16, pad_id=0, pad_discipline=0) as writer:
            writer.add_document(np.arange(1, 20), 0)
            raise RuntimeError("worker died")
    assert list(tmp_path.iterdir()) == []


def test_writer_without_documents_writes_nothing(tmp_path: Path) -> None:
    with PackedShardWriter(tmp_path / "p", 8, np.uint16, pad_id=0, pad_discipline=0) as writer:
        described = writer.close()
    assert described["sequences"] == 0 and described["files"] == {}
    assert list(tmp_path.iterdir()) == []


def test_a_bucket_spread_thinly_over_many_parts_still_gets_its_share() -> None:
    """One long paper per crawl part and a stream that wants a quarter of them: every part's share is under half a
    document. Rounding each part to the nearest whole document gave 0 copies everywhere (0% of the target); an
    independent draw per part gives 100 +- 8.7 (binomial); the parts' evenly spread sampling starts give 100 +- 1."""
    from sciloom.mixer.shard_task import copies_per_document, part_positions

    key = ("crawl", "physics", "high")
    positions = part_positions(0, [f"{part:05d}" for part in range(400)])
    copies = [copies_per_document(0, "routing_warmup", [f"paper-{part}"], [key], [20_000], {key: 0.25},
                                  positions[f"{part:05d}"])[0] for part in range(400)]
    assert set(copies) == {0, 1}
    assert abs(sum(copies) - 100) <= 1
    # Within one part, whole copies first and the share held to within one document, as before.
    sizes = [1000] * 20
    within = copies_per_document(3, "integration", [f"d{i}" for i in range(20)], [key] * 20, sizes, {key: 1.5}, 0.3)
    assert all(c in (1, 2) for c in within) and abs(sum(c - 1 for c in within) - 10) <= 1
    # The buckets of one discipline share the draw: two tiers wanting 0.3 and 0.4 copies of one document each give
    # 0.7 documents per part, so 70 of 100 parts give one and none gives two.
    tiers = [("crawl", "physics", "high"), ("crawl", "physics", "medium")]
    positions = part_positions(1, [str(part) for part in range(100)])
    extra = [sum(copies_per_document(1, "routing_warmup", [f"h{part}", f"m{part}"], tiers, [500, 500],
                                     dict(zip(tiers, (0.3, 0.4))), positions[str(part)])) for part in range(100)]
    assert max(extra) == 1 and abs(sum(extra) - 70) <= 1


def test_missed_targets_name_the_discipline_and_both_shares() -> None:
    from sciloom.mixer.pipeline import missed_targets

    targets = {"general": 0.2, "physics": 0.1, "mathematics": 0.1, "biology": 0.6}
    achieved = {"general": 0.25, "physics": 0.0, "mathematics": 0.04, "biology": 0.71}
    assert missed_targets(targets, achieved, tokens=1_000_000) == [
        "physics 0.0% of the tokens against a target of 10.0%", "mathematics 4.0% of the tokens against a target of 10.0%"]
    # In a stream of a few thousand tokens a share off by half is a handful of documents; nothing at all is not.
    assert missed_targets(targets, achieved, tokens=5_000) == ["physics 0.0% of the tokens against a target of 10.0%"]
