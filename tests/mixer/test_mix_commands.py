"""`sciloom mix plan` prints the plan and saves the chart without shards; `sciloom shards verify` names damage."""
from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from sciloom.cli import exit_code_for
from sciloom.mix_commands import register
from sciloom.mixer.buckets import NoLabelledParts
from sciloom.recipe_errors import RecipeError

from mixer_test_corpus import write_labelled_corpus
from mixer_test_shards import random_documents, write_folder


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def mixer_yaml(tmp_path: Path, budget: int) -> Path:
    path = tmp_path / "mixer.yaml"
    path.write_text(yaml.safe_dump({
        "tokenizer": {"train_bpe": {"vocab_size": 400}}, "seq_len": 64, "held_out": {"share": 0.05},
        "integration": {"token_budget": budget, "general_ratio": 0.5,
                        "discipline_weights": {"physics": 1, "mathematics": 1}}}))
    return path


def test_mix_plan_prints_table_and_saves_png_without_shards(tmp_path: Path) -> None:
    write_labelled_corpus(tmp_path / "labelled")
    args = ["mix", "plan", str(mixer_yaml(tmp_path, 4000)), "--labelled", str(tmp_path / "labelled"),
            "--out-dir", str(tmp_path / "out")]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert "integration" in result.output and "mathematics" in result.output and "50.0%" in result.output
    assert "held-out documents" in result.output
    assert (tmp_path / "out" / "plan.png").read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "out").rglob("part-*"))
    planned = json.loads((tmp_path / "out" / "plan.json").read_text())["streams"][0]
    assert abs(planned["achieved"]["physics"] - 0.25) <= 0.01


def test_mix_plan_reports_infeasible_targets(tmp_path: Path) -> None:
    write_labelled_corpus(tmp_path / "labelled")
    args = ["mix", "plan", str(mixer_yaml(tmp_path, 10**7)), "--labelled", str(tmp_path / "labelled"),
            "--out-dir", str(tmp_path / "out")]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 1
    assert "INFEASIBLE integration: discipline 'physics' needs 2,500,000 tokens" in result.output


def test_shards_verify(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "shards", [random_documents(4, 30)], seq_len=32)
    ok = CliRunner().invoke(app(), ["shards", "verify", str(tmp_path)])
    assert ok.exit_code == 0 and json.loads(ok.output)["parts"] == 1
    path = folder / "part-00000.bin"
    path.write_bytes(path.read_bytes()[:100])
    bad = CliRunner().invoke(app(), ["shards", "verify", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{path}: at byte offset 100: truncated" in bad.output


def test_mix_plan_names_file_line_and_field_of_a_bad_mixer_config(tmp_path: Path) -> None:
    path = tmp_path / "mixer.yaml"
    path.write_text("seq_len: 64\nstreams: 3\n")
    result = CliRunner().invoke(app(), ["mix", "plan", str(path), "--labelled", str(tmp_path), "--out-dir",
                                        str(tmp_path / "out")])
    assert isinstance(result.exception, RecipeError) and exit_code_for(result.exception) == 2
    message = str(result.exception)
    assert f"{path}:2: field 'streams': unknown key" in message
    assert f"{path}:1: field 'tokenizer': required field is missing" in message
    path.write_text("seq_len: [64\n")
    result = CliRunner().invoke(app(), ["mix", "plan", str(path)])
    assert isinstance(result.exception, RecipeError) and f"{path}:2:1: not valid YAML" in str(result.exception)


def test_mix_plan_without_labelled_parts_trains_no_tokenizer(tmp_path: Path) -> None:
    """It used to train and keep a BPE on no text, then stop with a traceback when counting the buckets."""
    (tmp_path / "labelled").mkdir()
    args = ["mix", "plan", str(mixer_yaml(tmp_path, 4000)), "--labelled", str(tmp_path / "labelled"),
            "--out-dir", str(tmp_path / "out")]
    result = CliRunner().invoke(app(), args)
    assert isinstance(result.exception, NoLabelledParts) and exit_code_for(result.exception) == 2
    assert f"no labelled parts (part-*.parquet) in {tmp_path / 'labelled'}" in str(result.exception)
    assert not (tmp_path / "out").exists()
