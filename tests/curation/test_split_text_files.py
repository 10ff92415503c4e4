"""Plain-text files that hold many documents (`split_before`): WikiText's articles under ` = Title = ` lines, a
paragraph or a line per document.

Read whole, WikiText's test file was one 1.3 MB document, and the rules rejected it (`gopher_quality:long_doc`): its 62
articles were lost.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from compressed_pieces import assert_pieces_read_as_whole

from sciloom.curation.config import CurationConfig
from sciloom.curation.document import document_id
from sciloom.curation.inputs import InputsConfig, resolve_inputs
from sciloom.curation.pipeline import run_curation
from sciloom.curation.read_text_files import TextFileReader
from sciloom.recipe_errors import describe_validation_error

WIKITEXT_TITLE = r"^ = [^=].* = $"
PARAGRAPHS = ["The committee published its annual report on the water supply.",
              "Engineers said the repairs to the\nnorthern pipeline would finish before winter.",
              "A local bakery has won the national bread award for its sourdough loaf."]


def _read(path: Path, **options) -> tuple[list[dict], TextFileReader]:
    reader = TextFileReader(**options)
    return list(reader.read(str(path))), reader


def test_wikitext_is_read_as_its_articles(shared_data: Path) -> None:
    path = shared_data / "general" / "wikitext-2" / "test.txt"
    docs, reader = _read(path, split_before=WIKITEXT_TITLE)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [number for number, line in enumerate(lines, 1) if re.match(WIKITEXT_TITLE, line.rstrip("\n"))]
    assert len(docs) == len(starts) == 62 and (reader.stats.docs_in, reader.stats.docs_out) == (62, 62)
    assert [d["id"] for d in docs] == [document_id("test", f"{path}:{start}") for start in starts]
    # Each article is the file's lines from its title to the next title: nothing lost, nothing added.
    ends = [*starts[1:], len(lines) + 1]
    assert [d["text"] for d in docs] == ["".join(lines[s - 1:e - 1]).strip() for s, e in zip(starts, ends)]
    assert "".join(lines[:starts[0] - 1]).strip() == ""  # (before the first title: a blank line only)
    assert docs[1]["text"].startswith("= Du Fu =") and {d["source"] for d in docs} == {"test"}


def test_paragraphs_lines_and_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(PARAGRAPHS) + "\n\n\n")
    docs, _ = _read(path, split_before=r"^\s*$")
    assert [d["text"] for d in docs] == PARAGRAPHS
    # Named by their first line that is not blank (the separator before a paragraph is not it).
    assert [d["id"] for d in docs] == [document_id("corpus", f"{path}:{line}") for line in (1, 3, 6)]
    docs, _ = _read(path, split_before="")  # a line each: blank lines are no documents
    assert [d["text"] for d in docs] == "\n".join(PARAGRAPHS).split("\n")
    assert _read(path)[0][0]["text"] == path.read_text()  # without split_before: one document, as before


def test_a_document_over_the_cap_is_counted_and_the_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    huge = "word " * 400 + "\n" + "x" * 3000  # over a 2,048-byte cap, a line without a break among it
    path.write_text("\n\n".join([PARAGRAPHS[0], huge, PARAGRAPHS[1]]) + "\n")
    docs, reader = _read(path, split_before=r"^\s*$", max_record_bytes=2048)
    assert [d["text"] for d in docs] == [PARAGRAPHS[0], PARAGRAPHS[1]]
    assert (reader.stats.docs_in, dict(reader.stats.skipped)) == (3, {"record_too_large": 1})


def test_damage_keeps_the_documents_before_it(tmp_path: Path) -> None:
    whole = ("\n\n".join(f"{p} (copy {i})" for i in range(400) for p in PARAGRAPHS) + "\n").encode()
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(gzip.compress(whole)[: len(gzip.compress(whole)) // 2])
    docs, reader = _read(cut, split_before=r"^\s*$")
    assert 100 < len(docs) < 1200 and dict(reader.stats.skipped) == {"corrupt_stream": 1}
    assert [d["text"] for d in docs] == [f"{p} (copy {i})" for i in range(400) for p in PARAGRAPHS][:len(docs)]
    image = tmp_path / "figure.txt"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    assert _read(image, split_before="")[1].stats.skipped == {"binary_file": 1}
    utf16 = tmp_path / "utf16.txt"
    utf16.write_text("\n\n".join(PARAGRAPHS), encoding="utf-16")
    assert _read(utf16, split_before="")[1].stats.skipped == {"utf16_not_split": 1}
    bom = tmp_path / "bom.txt"
    bom.write_text("\n\n".join(PARAGRAPHS), encoding="utf-8-sig")
    assert [d["text"] for d in _read(bom, split_before=r"^\s*$")[0]] == PARAGRAPHS
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Genève\n\nCôte d'Ivoire et forêts brûlées à Genève, été très chaud.\n".encode("latin-1"))
    docs, reader = _read(latin, split_before=r"^\s*$")
    assert [d["text"] for d in docs] == ["Genève", "Côte d'Ivoire et forêts brûlées à Genève, été très chaud."]
    assert sum(reader.stats.notes.values()) == 2


def test_the_option_is_checked_and_large_split_files_are_tasks_of_their_own(tmp_path: Path) -> None:
    for bad, message in (({"split_before": "(unclosed"}, "not a regular expression"),
                         ({"split_before": "", "format": "jsonl"}, "splits plain-text files")):
        with pytest.raises(ValueError, match=message):
            InputsConfig(paths=["x"], **bad)
    small = [tmp_path / f"{i}.txt" for i in range(100)]
    for path in small:
        path.write_text("\n\n".join(PARAGRAPHS))
    (tmp_path / "big.txt").write_text("\n\n".join(PARAGRAPHS) * 3000)  # over 256 KiB
    whole = resolve_inputs(InputsConfig(paths=[str(tmp_path)]))
    split = resolve_inputs(InputsConfig(paths=[str(tmp_path)], split_before=""))
    assert [t.inputs for t in split if str(tmp_path / "big.txt") in t.inputs] == [(str(tmp_path / "big.txt"),)]
    assert any(str(tmp_path / "big.txt") in t.inputs and len(t.inputs) > 1 for t in whole)
    assert sum(len(t.inputs) for t in split) == 101 and len(split) < 10


def test_a_recipe_error_names_the_field() -> None:
    from pydantic import ValidationError

    try:
        CurationConfig.model_validate({"inputs": [{"paths": ["x"], "split_before": "[a-"}]})
    except ValidationError as error:
        assert "inputs.0.split_before" in describe_validation_error(Path("r.yaml"), error, {})
    else:
        raise AssertionError("a bad regular expression was accepted")


def test_wikitext_is_curated_as_articles(ray_session, shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    from sciloom.curation import inputs

    path = shared_data / "general" / "wikitext-2" / "test.txt"
    kept = {}
    for split in (None, WIKITEXT_TITLE):
        config = CurationConfig.model_validate({"inputs": [{"paths": [str(path)], "split_before": split}]})
        reports = {r.stage: r for r in run_curation(config, tmp_path / str(bool(split)))}
        kept[split] = ds.dataset(tmp_path / str(bool(split)) / "curated", format="parquet").to_table(["text"])
        rules = next(s for s in reports["extract"].steps if s.name == "rules")
        if split is None:
            assert dict(rules.rejected) == {"gopher_quality:long_doc": 1}
        else:
            # WikiText's tokenised punctuation ("1 @,@ 000 ( film )") leaves some articles under Gopher's share of
            # alphabetic words; no article is too long any more.
            assert set(rules.rejected) == {"gopher_quality:alpha_words"} and rules.docs_in == 62
            assert kept[split].num_rows == 62 - rules.rejected.total() >= 40
    assert kept[None].num_rows == 0
    # Read in pieces by several tasks, the run curates the same articles.
    monkeypatch.setattr(inputs, "PIECE_BYTES", 200_000)
    config = CurationConfig.model_validate({"inputs": [{"paths": [str(path)], "split_before": WIKITEXT_TITLE}]})
    reports = {r.stage: r for r in run_curation(config, tmp_path / "pieces")}
    assert reports["extract"].tasks_total >= 6
    pieces = ds.dataset(tmp_path / "pieces" / "curated", format="parquet").to_table(["id", "text"]).sort_by("id")
    whole = ds.dataset(tmp_path / "True" / "curated", format="parquet").to_table(["id", "text"]).sort_by("id")
    assert pieces.equals(whole)


def test_a_large_split_file_is_read_in_pieces_that_together_are_the_file(shared_data: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """A piece holds the documents whose first line starts in its byte range: WikiText's 62 articles (1.3 MB) in
    about 13 pieces, and paragraphs with a document over the cap and a BOM, are read as the whole file is."""
    from sciloom.curation import inputs

    paragraphs = tmp_path / "paragraphs.txt"
    body = "\n\n".join(f"{p} (copy {i})" + (" word" * 600 if i == 7 else "") for i in range(1500) for p in PARAGRAPHS)
    paragraphs.write_bytes(b"\xef\xbb\xbf" + body.encode())
    monkeypatch.setattr(inputs, "PIECE_BYTES", 100_000)
    for path, split, cap, documents in ((shared_data / "general" / "wikitext-2" / "test.txt", WIKITEXT_TITLE,
                                         1 << 20, 62), (paragraphs, r"^\s*$", 2048, 4500 - 3)):
        config = InputsConfig(paths=[str(path)], split_before=split, max_record_bytes=cap)
        tasks = resolve_inputs(config)
        assert len(tasks) >= 3 and [t.piece for t in tasks] == [(k, len(tasks)) for k in range(len(tasks))]
        whole_reader = inputs.reader_for(config)
        whole = list(whole_reader.read(tasks[0].inputs[0]))  # (where the tasks read it: a symlinked data folder)
        assert len(whole) == documents
        reader = inputs.reader_for(config)
        assert [d for t in tasks for d in reader.read(t.inputs[0], piece=t.piece)] == whole
        assert (reader.stats.docs_in, reader.stats.skipped) == (whole_reader.stats.docs_in, whole_reader.stats.skipped)
    assert dict(whole_reader.stats.skipped) == {"record_too_large": 3}  # (the paragraphs')


def test_a_large_compressed_split_file_is_read_in_pieces_of_blocks_of_lines(tmp_path: Path, monkeypatch) -> None:
    """A compressed stream cannot be entered midway: each piece reads all of it and keeps the documents whose first
    line is in its blocks of lines. Together the pieces are the file's documents, ids and counts, also when the
    stream is truncated (counted once)."""
    from sciloom.curation import inputs, read_text_files

    body = "\n\n".join(f"{p} (copy {i})" + (" word" * 600 if i == 7 else "") for i in range(1500) for p in PARAGRAPHS)
    data = gzip.compress(b"\xef\xbb\xbf" + body.encode())
    (tmp_path / "paragraphs.txt.gz").write_bytes(data)
    (tmp_path / "cut.txt.gz").write_bytes(data[:len(data) * 2 // 3])
    monkeypatch.setattr(inputs, "PIECE_BYTES", 20_000)
    monkeypatch.setattr(read_text_files, "COMPRESSED_BLOCK_LINES", 100)
    for name, skipped in (("paragraphs.txt.gz", {"record_too_large": 3}),
                          ("cut.txt.gz", {"record_too_large": 3, "corrupt_stream": 1})):
        config = InputsConfig(paths=[str(tmp_path / name)], split_before=r"^\s*$", max_record_bytes=2048)
        whole = assert_pieces_read_as_whole(config, skipped)
    assert len(whole) > 1000
