"""The check both compressed readers' piece tests make: read in its pieces, a file is what it is read whole."""
from __future__ import annotations

from sciloom.curation import inputs
from sciloom.curation.inputs import InputsConfig, reader_for, resolve_inputs


def assert_pieces_read_as_whole(config: InputsConfig, skipped: dict[str, int]) -> list[dict]:
    """The file of `config` is planned into several pieces, each with documents of its own; together they are the
    whole file's documents (ids included), its skips (`skipped`) and its document count. Returns the documents."""
    tasks = resolve_inputs(config)
    assert 1 < len(tasks) <= inputs.COMPRESSED_MAX_PIECES
    assert [t.piece for t in tasks] == [(k, len(tasks)) for k in range(len(tasks))]
    whole_reader = reader_for(config)
    whole = list(whole_reader.read(tasks[0].inputs[0]))
    reader = reader_for(config)
    pieces = [list(reader.read(t.inputs[0], piece=t.piece)) for t in tasks]
    assert all(pieces)  # every piece has documents of its own
    assert sorted((d for piece in pieces for d in piece), key=lambda d: d["id"]) == sorted(whole, key=lambda d: d["id"])
    assert dict(reader.stats.skipped) == dict(whole_reader.stats.skipped) == skipped
    assert reader.stats.docs_in == whole_reader.stats.docs_in
    return whole
