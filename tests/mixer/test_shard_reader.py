"""PackedShardDataset returns exactly the packed stream; ShuffledSampler is deterministic, resumable, rank-split."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.mixer.shard_reader import PackedShardDataset, ShuffledSampler


def per_token_reference(docs: list[tuple[np.ndarray, int]], seq_len: int) -> dict[str, np.ndarray]:
    """Token, document, discipline and loss arrays of the whole stream, computed token by token."""
    tokens, doc_ids, disciplines, loss = [], [], [], []
    for d, (t, discipline) in enumerate(docs):
        for token in t:
            tokens.append(token), doc_ids.append(d), disciplines.append(discipline), loss.append(True)
    while len(tokens) % seq_len:
        tokens.append(0), doc_ids.append(-1), disciplines.append(DEFAULT_TAXONOMY.index("general")), loss.append(False)
    return {name: np.array(values).reshape(-1, seq_len) for name, values in
            (("tokens", tokens), ("doc_ids", doc_ids), ("discipline_ids", disciplines), ("loss_mask", loss))}


def test_dataset_matches_the_packed_stream(shard_folder) -> None:
    folder, parts, seq_len = shard_folder
    dataset = PackedShardDataset(folder)
    assert dataset.seq_len == seq_len
    rows = [per_token_reference(docs, seq_len) for docs in parts if docs]
    expected_len = sum(len(r["tokens"]) for r in rows)
    assert len(dataset) == expected_len
    i = 0
    for ref in rows:
        for row in range(len(ref["tokens"])):
            item = dataset[i]
            assert item["tokens"].dtype == np.int64 and item["segment_ids"].dtype == np.int32
            assert item["discipline_ids"].dtype == np.int64 and item["loss_mask"].dtype == bool
            np.testing.assert_array_equal(item["tokens"], ref["tokens"][row])
            np.testing.assert_array_equal(item["discipline_ids"], ref["discipline_ids"][row])
            np.testing.assert_array_equal(item["loss_mask"], ref["loss_mask"][row])
            doc_ids = ref["doc_ids"][row]
            np.testing.assert_array_equal(item["segment_ids"], np.concatenate([[0], np.cumsum(doc_ids[1:] != doc_ids[:-1])]))
            i += 1
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_sampler_is_deterministic_and_covers_each_epoch() -> None:
    first = list(itertools.islice(ShuffledSampler(50, seed=7), 150))
    assert first == list(itertools.islice(ShuffledSampler(50, seed=7), 150))
    assert first != list(itertools.islice(ShuffledSampler(50, seed=8), 150))
    for epoch in range(3):
        assert sorted(first[epoch * 50:(epoch + 1) * 50]) == list(range(50))
    assert first[:50] != first[50:100]  # reshuffled every epoch


@pytest.mark.parametrize("stop", [1, 37, 50, 51, 123])
def test_sampler_resumes_on_exactly_the_next_index(stop: int) -> None:
    reference = list(itertools.islice(ShuffledSampler(50, seed=3, rank=1, world_size=2), 200))
    sampler = ShuffledSampler(50, seed=3, rank=1, world_size=2)
    consumed = list(itertools.islice(iter(sampler), stop))
    state = sampler.state_dict()
    resumed = ShuffledSampler(50, seed=3, rank=1, world_size=2)
    resumed.load_state_dict(state)
    assert consumed + list(itertools.islice(iter(resumed), 200 - stop)) == reference


def test_ranks_split_each_epoch_without_overlap() -> None:
    n, world = 103, 4
    per_rank = [list(itertools.islice(ShuffledSampler(n, seed=1, rank=r, world_size=world), n // world))
                for r in range(world)]
    union = set().union(*map(set, per_rank))
    assert all(len(p) == n // world for p in per_rank)
    assert len(union) == world * (n // world)  # disjoint, equal shares; the 3 left over wait for later epochs


def test_sampler_refuses_state_of_another_configuration() -> None:
    state = ShuffledSampler(50, seed=3).state_dict()
    with pytest.raises(ValueError, match="seed"):
        ShuffledSampler(50, seed=4).load_state_dict(state)
