"""Training with whole sources held out (`--group-field`) and leave-one-source-out (`--leave-one-group-out`), on
real labelled paragraphs: a random split tests a model on the sources it learnt, and flatters it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciloom.classifiers.train import held_out_groups, label_mapper, read_labelled_jsonl, train_and_evaluate
from sciloom.cli import app

SOURCES = ("openstax_physics", "arxiv_lite", "openstax_chemistry", "nltk_brown", "political_news_horne2017")


@pytest.fixture(scope="module")
def labelled(shared_data: Path, tmp_path_factory) -> Path:
    """300 paragraphs of each of 5 sources, one file; each record's `source` names its repository."""
    path = tmp_path_factory.mktemp("labelled") / "labelled.jsonl"
    with path.open("w") as out:
        for name in SOURCES:
            with (shared_data / "disciplines" / "labelled-corpus" / f"{name}.jsonl").open() as corpus:
                out.writelines(line for _, line in zip(range(300), corpus))
    return path


def _read(path: Path, small_config, group_field: str | None = "source"):
    with path.open("rb") as lines:
        return read_labelled_jsonl(lines, label_mapper("identity", "discipline", small_config.taxonomy),
                                   group_field=group_field)


def test_whole_sources_are_held_out_and_each_is_reported(labelled: Path, small_config, tmp_path: Path) -> None:
    examples, skipped, groups = _read(labelled, small_config)
    assert len(examples) == len(groups) == 1500 and not skipped
    held = held_out_groups(groups, 0.2)
    assert 0 < len(held) < 5 and sum(g in held for g in groups) >= 0.2 * len(groups)
    report = train_and_evaluate("discipline", examples, small_config, tmp_path / "grouped", 0.2, groups)
    assert set(report["per_group"]) == held
    assert sum(row["examples"] for row in report["per_group"].values()) == report["split"]["test"] == \
        sum(g in held for g in groups)
    assert report["worst_group"]["macro_f1"] == min(row["macro_f1"] for row in report["per_group"].values())


def test_leaving_each_source_out_shows_what_a_random_split_hides(labelled: Path, small_config, tmp_path: Path) -> None:
    examples, _, groups = _read(labelled, small_config)
    random_split = train_and_evaluate("discipline", examples, small_config, tmp_path / "random")
    report = train_and_evaluate("discipline", examples, small_config, tmp_path / "loso", groups=groups,
                                leave_one_group_out=True)
    assert set(report["per_group"]) == set(groups) and report["examples"] == 1500
    # The chemistry textbook is the only chemistry: held out, nothing else teaches the label.
    chemistry = report["per_group"]["openstax/osbooks-chemistry-bundle"]
    assert chemistry["labels_no_other_group_has"] == ["chemistry"] and chemistry["macro_f1"] == 0.0
    assert report["worst_group"]["group"] == "openstax/osbooks-chemistry-bundle"
    assert random_split["accuracy"] > report["accuracy"] + 0.2, (random_split["accuracy"], report["accuracy"])
    # The saved model learnt from every source (none held out for testing).
    assert report["split"]["test"] == 0 and sum(report["split"].values()) == 1500
    assert (tmp_path / "loso" / "discipline.bin").exists()


def test_the_command_takes_a_group_field(labelled: Path, tmp_path: Path) -> None:
    lines = labelled.read_text().splitlines()
    data = tmp_path / "some.jsonl"
    record = json.loads(lines[0])
    del record["source"]
    data.write_text("\n".join(lines[::10] + [json.dumps(record)]) + "\n")
    result = CliRunner().invoke(app, ["classifiers", "train", "--data", str(data), "--out", str(tmp_path / "m"),
                                      "--group-field", "source"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["skipped"] == {"missing_source_group": 1} and "worst_group" in summary
    lonely = CliRunner().invoke(app, ["classifiers", "train", "--data", str(data), "--out", str(tmp_path / "m"),
                                      "--leave-one-group-out"])
    assert lonely.exit_code == 2 and "needs --group-field" in lonely.stderr
