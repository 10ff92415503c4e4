"""`sciloom dedup`: one verdict per input line, same ids and order, bad lines counted, containment included.

Ties between copies go to the smallest id (as in the pipeline), hence the `x-` ids of the copies.
"""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from sciloom.dedup_command import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("version")(lambda: None)  # a second command keeps `dedup` a named subcommand
    return app


def test_dedup_command_reports_clusters_and_keeps(shared_data) -> None:
    paths = sorted((shared_data / "general" / "bbc-news" / "entertainment").glob("*.txt"))[:6]
    texts = [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]
    words = texts[1].split()
    records = [{"id": f"e{i}", "text": t} for i, t in enumerate(texts)]
    records += [{"id": "x-copy", "text": texts[0].lower()},
                {"id": "x-near", "text": " ".join(words[:-2] + ["new", "ending"])},
                {"id": "x-excerpt", "text": " ".join(texts[2].split()[5:105])}]
    lines = [json.dumps(r) for r in records] + ["not json", json.dumps({"id": "no-text", "text": None})]
    result = CliRunner().invoke(_app(), ["dedup"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in records] + [None, "no-text"]
    verdict = {o["id"]: (o["keep"], o["cluster"], o["reason"]) for o in out}
    assert all(verdict[f"e{i}"] == (True, f"e{i}", None) for i in range(6))
    assert verdict["x-copy"] == (False, "e0", "exact_duplicate")
    assert verdict["x-near"] == (False, "e1", "fuzzy_duplicate")
    # The excerpt names the article it was cut from, and sits in that article's cluster.
    assert verdict["x-excerpt"] == (False, "e2", "contained")
    assert {o["id"]: o["duplicate_of"] for o in out if o["id"] and o["id"].startswith("x-")} == {
        "x-copy": "e0", "x-near": "e1", "x-excerpt": "e2"}
    assert all(o["duplicate_of"] is None for o in out if o["keep"])
    assert out[-2]["keep"] is None and out[-2]["reason"] == "malformed_json"
    assert out[-1]["keep"] is None and out[-1]["reason"] == "missing_text_field"
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["unreadable"] == {"malformed_json": 1, "missing_text_field": 1}
    assert summary["verdicts"] == {"contained": 1, "exact_duplicate": 1, "fuzzy_duplicate": 1, "kept": 6}


def test_dedup_command_without_containment_keeps_the_excerpt(shared_data) -> None:
    (path,) = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:1]
    text = " ".join(path.read_text(encoding="latin-1").split())
    lines = [json.dumps({"id": "a", "text": text}), json.dumps({"id": "b", "text": " ".join(text.split()[:80])})]
    result = CliRunner().invoke(_app(), ["dedup", "--no-containment"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["keep"] for line in result.stdout.splitlines()] == [True, True]


def test_a_repeated_id_is_counted_not_merged_into_the_first_ones_cluster() -> None:
    # Clusters are named by id: a second "a" with other text would otherwise read as a member of the first's cluster.
    first, other = "the first text about rivers and their floods " * 10, "an unrelated note on sorting algorithms " * 10
    lines = [json.dumps({"id": "a", "text": first}), json.dumps({"id": "a", "text": other}),
             json.dumps({"id": 7, "text": other}), json.dumps({"id": "7", "text": first + " more"})]
    result = CliRunner().invoke(_app(), ["dedup"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["id"], o["keep"], o["reason"]) for o in out] == [
        ("a", True, None), ("a", None, "duplicate_id"), (7, True, None), ("7", None, "duplicate_id")]
    assert json.loads(result.stderr.strip().splitlines()[-1])["unreadable"] == {"duplicate_id": 2}


def test_out_of_range_options_name_their_option_on_one_line() -> None:
    """An out-of-range option used to end in a pydantic ValidationError traceback (exit 1)."""
    result = CliRunner(env={"COLUMNS": "400"}).invoke(_app(), ["dedup", "--threshold", "1.5",
                                                               "--containment-threshold", "2"], input='{"id": 1}\n')
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("--threshold: Input should be less than 1; --containment-threshold: Input should be less than or equal "
            "to 1") in result.output


def test_dedup_reads_the_fields_a_dataset_uses(shared_data) -> None:
    """S2ORC's records: `paper_id`, and the text in `title` and `abstract`."""
    path = shared_data / "disciplines" / "s2orc-metadata-sample" / "metadata_sample_v2020-07-05.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:40]]
    records = [r for r in records if r.get("abstract")][:8]
    copy = {**records[0], "paper_id": "zz-copy"}  # the same title and abstract under another id
    lines = [json.dumps(r) for r in [*records, copy]]
    result = CliRunner().invoke(_app(), ["dedup", "--text-field", "title,abstract", "--id-field", "paper_id"],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [r["paper_id"] for r in records] + ["zz-copy"]
    assert [o["reason"] for o in out] == [None] * len(records) + ["exact_duplicate"]
    assert out[-1]["duplicate_of"] == records[0]["paper_id"]
