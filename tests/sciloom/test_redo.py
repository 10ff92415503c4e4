"""`sciloom run --redo PHASE`: what that phase and the later ones wrote is removed and done again, the phases
before it are resumed, and the outputs are those of the first run."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from sciloom.recipe import load_recipe
from sciloom.runner import RedoRefused, run_recipe

REPO_ROOT = Path(__file__).resolve().parents[2]


def _stats(folder: Path) -> dict:
    return json.loads((folder.parent / f"_{folder.name}" / "stats.json").read_text())


def test_redo_classification_removes_it_and_resumes_curation(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the demo's input path is relative to the repository
    overrides = {"run.output_dir": str(tmp_path / "run"), "run.phases": ["curation", "classification"]}
    recipe = load_recipe(REPO_ROOT / "recipes" / "demo.yaml", overrides)
    run_recipe(recipe)
    labelled = tmp_path / "run" / "classifiers" / "labelled"
    first = ds.dataset(labelled, format="parquet").to_table().sort_by("id")
    stray = tmp_path / "run" / "classifiers" / "left-by-hand.txt"
    stray.write_text("removed with the phase's folder")

    run_recipe(recipe, redo="classification")

    assert not stray.exists()
    assert _stats(labelled)["tasks_resumed_from_earlier_run"] == 0
    curated = tmp_path / "run" / "curation" / "curated"
    assert _stats(curated)["tasks_resumed_from_earlier_run"] == _stats(curated)["tasks_total"] > 0
    assert ds.dataset(labelled, format="parquet").to_table().sort_by("id").equals(first)

    with pytest.raises(RedoRefused, match="do not run it"):
        run_recipe(recipe, redo="mixing")
    assert labelled.is_dir()  # a refused redo removes nothing


def test_redo_is_refused_by_every_process_of_a_torchrun_launch(tmp_path, monkeypatch):
    # Rank 0 would remove the folders while the other ranks fail: every rank refuses before touching anything.
    monkeypatch.chdir(REPO_ROOT)
    recipe = load_recipe(REPO_ROOT / "recipes" / "demo.yaml", {"run.output_dir": str(tmp_path / "run")})
    (tmp_path / "run" / "classifiers").mkdir(parents=True)
    for rank in ("0", "1"):
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", rank)
        with pytest.raises(RedoRefused, match="without torchrun"):
            run_recipe(recipe, redo="classification")
    assert (tmp_path / "run" / "classifiers").is_dir()
