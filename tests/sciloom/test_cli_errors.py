"""What a user sees when a run meets a problem it anticipates: one message naming the file, an exit code (1 the
data failed, 2 what the command was given cannot be used), never a traceback. Runs the demo recipe as a user does."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCILOOM = str(Path(sys.executable).with_name("sciloom"))


def _recipe(folder: Path, output_dir: Path, phases: list[str]) -> Path:
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(output_dir=str(output_dir), phases=phases)
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(REPO_ROOT / path) for path in spec["paths"]]
    path = folder / f"recipe-{'-'.join(phases)}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _sciloom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCILOOM, *args], capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "RAY_ADDRESS": "", "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's shards (curation, classification, mixing); tests copy it before changing anything."""
    folder = tmp_path_factory.mktemp("mixed")
    result = _sciloom("run", str(_recipe(folder, folder / "run", ["curation", "classification", "mixing"])))
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "run"


def _copy(mixed_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(mixed_run, run)
    return run


def test_training_on_a_corrupted_shard_is_one_line_naming_file_and_offset(mixed_run: Path, tmp_path: Path) -> None:
    run = _copy(mixed_run, tmp_path)
    shard = sorted((run / "mixer" / "integration").glob("*.bin"))[0]
    data = bytearray(shard.read_bytes())
    data[10] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = _sciloom("run", str(_recipe(tmp_path, run, ["training"])))
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if "ShardFormatError" in line]
    assert len(message) == 1 and f"{shard}: at byte offset 0" in message[0] and "crc32" in message[0]



def test_a_deleted_stream_folder_fails_verify_and_stops_training(mixed_run: Path, tmp_path: Path) -> None:
    run = _copy(mixed_run, tmp_path)
    experts = sorted(p.name for p in (run / "mixer" / "expert_induction").iterdir())
    assert len(experts) >= 2
    gone = run / "mixer" / "expert_induction" / experts[0]
    shutil.rmtree(gone)  # manifest included
    verify = _sciloom("shards", "verify", str(run / "mixer"))
    assert verify.returncode == 1 and f"{gone}: listed in" in verify.stderr + verify.stdout
    train = _sciloom("run", str(_recipe(tmp_path, run, ["training"])))
    assert train.returncode == 1 and "Traceback" not in train.stderr, train.stderr[-3000:]
    assert f"expert_induction/{experts[0]}" in train.stderr and "not on disk" in train.stderr
    assert not (run / "trainer" / "1_expert_induction").exists()  # stopped before training anything


def test_verify_refuses_an_emptied_or_damaged_manifest(mixed_run: Path, tmp_path: Path) -> None:
    import json

    run = _copy(mixed_run, tmp_path)
    emptied = run / "mixer" / "integration" / "manifest.json"
    manifest = json.loads(emptied.read_text())
    emptied.write_text(json.dumps({**manifest, "parts": []}))
    damaged = run / "mixer" / "routing_warmup" / "manifest.json"
    damaged.write_text(damaged.read_text()[:50])
    result = _sciloom("shards", "verify", str(run / "mixer"))
    output = result.stderr + result.stdout
    assert result.returncode == 1 and "Traceback" not in output
    assert f"{emptied}: lists no parts" in output and f"{damaged}: damaged manifest" in output


def test_unreadable_inputs_are_named_on_the_console_and_the_run_exits_1(tmp_path: Path) -> None:
    import json

    not_warc = tmp_path / "not-a-crawl.warc.gz"
    not_warc.write_bytes(b"this was never a WARC file\n" * 50)
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(output_dir=str(tmp_path / "run"), phases=["curation"])
    crawl = tmp_path / "crawl"  # a folder as downloaded: its crawl file beside a LICENSE, which is not an input
    crawl.mkdir()
    (crawl / "sample_crawl.warc.gz").write_bytes((REPO_ROOT / "recipes/inputs/sample_crawl.warc.gz").read_bytes())
    (crawl / "LICENSE").write_text("CC BY 4.0\n")
    wrong_field = tmp_path / "abstracts.jsonl"  # its records hold `abstract`, the recipe reads `text`
    wrong_field.write_text('{"abstract": "We measure the thing."}\n' * 3)
    recipe["curation"]["inputs"] = [{"paths": [str(crawl), str(not_warc), str(wrong_field)], "source": "crawl"}]
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = _sciloom("run", str(path))
    assert result.returncode == 1, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert "2 input file(s) could not be read at all" in console and str(not_warc) in console
    assert "not_a_warc_file" in console and "Traceback" not in console
    assert "1 file(s) under the input folders not read" in console and str(crawl / "LICENSE") in console
    report = json.loads((tmp_path / "run" / "run_report.json").read_text())
    assert report["input_problems"]["unreadable"] == [
        {"file": str(wrong_field), "reasons": {"missing_text_field": 3, "no_usable_record": 1}},
        {"file": str(not_warc), "reasons": {"not_a_warc_file": 1}}]
    assert [entry["file"] for entry in report["input_problems"]["passed_over"]] == [str(crawl / "LICENSE")]
    assert list((tmp_path / "run" / "curation" / "curated").glob("part-*.parquet"))  # the good file went through


def test_a_second_run_on_the_same_folder_is_refused_and_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    import json

    run = tmp_path / "run"
    recipe = _recipe(tmp_path, run, ["curation"])
    lock = run / ".sciloom-run.lock"
    # Another process holds the folder until the test lets go (its stdin closes): no race with a run's speed.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from sciloom.run_lock import output_folder_lock\n"
                               "folder = Path(sys.argv[1]); folder.mkdir(parents=True, exist_ok=True)\n"
                               "with output_folder_lock(folder):\n    print('held', flush=True); sys.stdin.read()",
         str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    second = _sciloom("run", str(recipe))
    holder.communicate(timeout=60)
    assert holder.returncode == 0
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"{run} is in use by another sciloom run (pid {holder.pid}" in second.stderr
    assert not (run / "curation").exists()  # refused before doing anything
    # A killed run leaves its note but no lock: the next run takes over and says so.
    lock.write_text(json.dumps({"pid": 999999, "host": "elsewhere", "started": 0, "command": "sciloom run x"}))
    third = _sciloom("run", str(recipe))
    assert third.returncode == 0, third.stderr[-3000:]
    assert "took over" in third.stderr and "pid 999999" in third.stderr
    assert lock.read_text() == ""  # released with nothing left behind


def test_python_dash_m_sciloom_is_the_sciloom_command() -> None:
    """`python -m sciloom` runs the CLI (it used to import the package and do nothing)."""
    done = subprocess.run([sys.executable, "-m", "sciloom", "check-recipe", "no-such-recipe.yaml"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no-such-recipe.yaml" in done.stderr + done.stdout


def test_label_with_a_folder_without_models_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([SCILOOM, "label", "--models", str(tmp_path)], input='{"id": 1, "text": "a test"}\n',
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sciloom: ModelNotFound: no discipline model in {tmp_path}: expected discipline.bin and discipline.json "
        "(train one with `sciloom classifiers train` or `sciloom classifiers bootstrap`)"]


def test_report_of_a_folder_that_holds_no_run_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """It used to write an empty report.html there and exit 0, and `sciloom publish` then uploaded that page."""
    (tmp_path / "notes.txt").write_text("not a run\n")
    result = _sciloom("report", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"sciloom: NoRunOutputs: {tmp_path}: no run_report.json and no output of any phase (curation, classifiers, "
        "mixer, trainer); give a run's output_dir"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_sample_crawl_given_a_folder_names_it_instead_of_a_traceback(tmp_path: Path) -> None:
    result = _sciloom("sample-crawl", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is a folder" in result.stderr and list(tmp_path.iterdir()) == []


def test_train_expert_needs_only_the_shards_not_the_curation_inputs(mixed_run: Path, tmp_path: Path) -> None:
    """An expert job runs on a training node: the crawl the run curated is not there, and used to be demanded."""
    run = _copy(mixed_run, tmp_path)
    recipe_path = _recipe(tmp_path, run, ["training"])
    recipe = yaml.safe_load(recipe_path.read_text())
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(tmp_path / "not-on-this-node.warc.gz")]
    recipe_path.write_text(yaml.safe_dump(recipe))
    discipline = sorted(p.name for p in (run / "mixer" / "expert_induction").iterdir()
                        if p.is_dir() and p.name != "general")[0]
    result = _sciloom("train-expert", str(recipe_path), "--discipline", discipline)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "trainer").is_dir()
    empty = _sciloom("train-expert", str(_recipe(tmp_path, tmp_path / "empty-run", ["training"])),
                     "--discipline", discipline)
    assert empty.returncode == 2
    assert "no expert-induction streams; the recipe's mixing phase has not run here" in empty.stderr


def test_a_phase_whose_earlier_phase_never_ran_is_refused_before_any_work(tmp_path: Path) -> None:
    """Classification without curated parts, training without shards: these were tracebacks (FileNotFoundError)."""
    for phase, earlier, missing in (("classification", "curation", "curation/curated"), ("training", "mixing", "mixer")):
        run = tmp_path / f"run-{phase}"
        result = _sciloom("run", str(_recipe(tmp_path, run, [phase])))
        assert result.returncode == 2, result.stderr[-3000:]
        assert result.stderr.strip().splitlines() == [
            f"sciloom: PhaseNotRun: run.phases has {phase!r} without {earlier!r}, and {run / missing} holds no "
            f"{'mixer_report.json' if phase == 'training' else 'part-*.parquet'} from an earlier run: add "
            f"{earlier!r} to run.phases, or set run.reuse_from to a run that finished it"]


def test_a_mixture_tried_over_another_runs_labels_leaves_that_run_untouched(mixed_run: Path, tmp_path: Path) -> None:
    """Tuning a ratio in the run's own recipe is refused (MixerBuildExists: a training run may read the shards); a
    second recipe with run.reuse_from and phases [mixing] reads the first run's labels instead of curating again."""
    before = {p: p.read_bytes() for p in (mixed_run / "mixer").rglob("*") if p.is_file()}
    recipe_path = _recipe(tmp_path, tmp_path / "general-60", ["mixing"])
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["run"]["reuse_from"] = str(mixed_run)
    recipe["mixer"]["integration"]["general_ratio"] = 0.6
    recipe_path.write_text(yaml.safe_dump(recipe))
    checked = _sciloom("check-recipe", str(recipe_path))
    assert checked.returncode == 0 and f"mixing reads the classification outputs of {mixed_run}" in checked.stdout
    for attempt in range(2):  # the second run resumes its own build
        result = _sciloom("run", str(recipe_path))
        assert result.returncode == 0, result.stderr[-3000:]
    assert {p: p.read_bytes() for p in (mixed_run / "mixer").rglob("*") if p.is_file()} == before
    assert not (tmp_path / "general-60" / "curation").exists() and not (tmp_path / "general-60" / "classifiers").exists()

    def general_share(run: Path) -> float:
        by = json.loads((run / "mixer" / "integration" / "manifest.json").read_text())["tokens_by"]["discipline"]
        return by.get("general", 0) / sum(by.values())

    assert general_share(mixed_run) < general_share(tmp_path / "general-60")
    report = json.loads((tmp_path / "general-60" / "run_report.json").read_text())
    assert report["reused_from"] == {"mixing": str(mixed_run / "classifiers" / "labelled")}
    assert str(mixed_run / "classifiers" / "labelled") in (tmp_path / "general-60" / "report.html").read_text()
    # Nothing in run.phases reads it: a recipe error, not a silently ignored field.
    recipe["run"]["phases"] = ["curation", "classification", "mixing"]
    recipe_path.write_text(yaml.safe_dump(recipe))
    unread = _sciloom("run", str(recipe_path))
    assert unread.returncode == 2 and "run.reuse_from: no phase would read it" in unread.stderr
    recipe["run"].update(phases=["mixing"], reuse_from=str(tmp_path / "no-such-run"))
    recipe_path.write_text(yaml.safe_dump(recipe))
    missing = _sciloom("run", str(recipe_path))
    assert missing.returncode == 2 and "field 'run.reuse_from'" in missing.stderr and "is not a folder" in missing.stderr
    # Its own folder: the run would have waited for itself (its own lock), forever refused.
    recipe["run"].update(reuse_from=recipe["run"]["output_dir"])
    recipe_path.write_text(yaml.safe_dump(recipe))
    itself = _sciloom("run", str(recipe_path))
    assert itself.returncode == 2 and "run.reuse_from is run.output_dir" in itself.stderr


def test_a_folder_read_through_reuse_from_is_not_run_again_meanwhile(tmp_path: Path) -> None:
    from sciloom.run_lock import RunLocked, output_folder_lock, reading_lock

    first = tmp_path / "first"
    first.mkdir()
    with reading_lock(first):  # no run ever held it: nothing to coordinate with
        pass
    with output_folder_lock(first):  # the first run is running: a run that reads it waits
        with pytest.raises(RunLocked, match=r"\(run.reuse_from\) is in use by a run \(pid \d+"):
            with reading_lock(first):
                pass
    with reading_lock(first), reading_lock(first):  # two runs read it: the first run is not started again
        with pytest.raises(RunLocked, match="in use by another sciloom run .a run reading its outputs through"):
            with output_folder_lock(first):
                pass
    with output_folder_lock(first):  # free again once they finish
        pass
