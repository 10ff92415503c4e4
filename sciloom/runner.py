"""`sciloom run RECIPE`: every phase of a run in data-flow order, each resumable, with one report at the end."""
from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.table import Table

from sciloom.classifiers.pipeline import LABELLED_DIR, run_classification
from sciloom.console import output_console
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.code_version import code_version
from sciloom.curation.executor import OTHER_CODE_KEY, StageReport
from sciloom.curation.pipeline import CURATED_DIR, input_problems, run_curation
from sciloom.curation.ray_runtime import ensure_ray
from sciloom.mixer.manifest import MIXER_REPORT_FILE
from sciloom.mixer.pipeline import build_mixture
from sciloom.publish import publish_phase
from sciloom.recipe import Recipe
from sciloom.run_config import EARLIER_PHASE, RunConfig
from sciloom.report import write_report
from sciloom.report.collect import NoRunOutputs
from sciloom.run_lock import output_folder_lock, reading_lock
from sciloom.trainer.pipeline import run_training

console = output_console(stderr=True)


def run_recipe(recipe: Recipe, redo: str | None = None) -> dict[str, Any]:
    """Run (or resume) the recipe's phases; `redo`: first remove what that phase and the later ones of
    run.phases wrote in the output folder, so they are done again from the start."""
    if redo is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1:  # every rank of a launch says no at once
        raise RedoRefused("--redo removes outputs: run it once without torchrun, then launch training")
    out = recipe.run.output_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 holds the folder for all
        return _run_phases(recipe, out)
    with output_folder_lock(out), reading_lock(recipe.run.reuse_from) if recipe.run.reuse_from else nullcontext():
        if redo is not None:
            removed = remove_for_redo(recipe.run, out, redo)
            console.print(f"redo {redo}: removed {', '.join(map(str, removed)) or 'nothing (not run yet)'}")
        try:
            return _run_phases(recipe, out)
        except BaseException:
            # A run that stops still gets its page: the sections of the phases that finished. The run's own error
            # is what the user must see, so a report that cannot be written only says so.
            try:
                console.print(f"report (partial run): {write_report(out)}")
            except NoRunOutputs:  # it stopped before writing anything: no page to make
                pass
            except Exception as error:  # noqa: BLE001
                console.print(f"report (partial run) not written: {type(error).__name__}: {error}")
            raise


class RedoRefused(ValueError):
    """--redo of a phase the recipe does not run, or given to the processes of a torchrun launch (removing
    outputs is for one process, before the launch)."""


# The folder each phase writes under the run's output_dir.
PHASE_FOLDERS: dict[str, str] = {"curation": "curation", "classification": "classifiers", "mixing": "mixer",
                                 "training": "trainer"}


def remove_for_redo(run: RunConfig, out: Path, phase: str) -> list[Path]:
    """Remove the folders of `phase` and of the phases after it in run.phases (what it writes is what they read),
    so the run does them again; returns the folders removed. A phase of another run (run.reuse_from) is never
    touched."""
    if phase not in run.phases:
        raise RedoRefused(f"--redo {phase}: the recipe's run.phases ({', '.join(run.phases)}) do not run it")
    removed = []
    for later in run.phases[run.phases.index(phase):]:
        folder = out / PHASE_FOLDERS[later]
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


class PhaseNotRun(FileNotFoundError):
    """A phase reads what an earlier phase writes, and neither this run nor an earlier one in its folder wrote it."""


# What each phase reads: the folder, relative to the run that wrote it, and the file that shows it finished.
PHASE_INPUTS: dict[str, tuple[str, str]] = {"classification": (f"curation/{CURATED_DIR}", "part-*.parquet"),
                                            "mixing": (f"classifiers/{LABELLED_DIR}", "part-*.parquet"),
                                            "training": ("mixer", MIXER_REPORT_FILE)}


def phase_input(run: RunConfig, phase: str) -> Path:
    """The folder `phase` reads: this run's own, or run.reuse_from's when the phase before it does not run here."""
    root = run.reuse_from if run.reuse_from is not None and phase in run.phases_reusing() else run.output_dir
    return root.resolve() / PHASE_INPUTS[phase][0]


def _check_earlier_phases(run: RunConfig) -> None:
    """Before any work: a phase run without the one before it needs that one's outputs from an earlier run."""
    for phase in run.phases_reusing():
        folder, pattern = phase_input(run, phase), PHASE_INPUTS[phase][1]
        if not any(folder.glob(pattern)):
            earlier = EARLIER_PHASE[phase]
            raise PhaseNotRun(f"run.phases has {phase!r} without {earlier!r}, and {folder} holds no {pattern} from an "
                              f"earlier run: add {earlier!r} to run.phases, or set run.reuse_from to a run that "
                              "finished it")


def _run_phases(recipe: Recipe, out: Path) -> dict[str, Any]:
    phases = recipe.run.phases
    _check_earlier_phases(recipe.run)
    summary: dict[str, Any] = {"run": recipe.run.name, "output_dir": str(out), "recipe_hash": recipe.content_hash(),
                               "code_version": code_version()}
    if recipe.run.reuse_from is not None:
        summary["reused_from"] = {phase: str(phase_input(recipe.run, phase)) for phase in recipe.run.phases_reusing()}
    if set(phases) & {"curation", "classification", "mixing"}:  # training alone (e.g. under torchrun) needs no Ray
        ensure_ray(recipe.run.ray_address, recipe.run.num_cpus)
    timings: dict[str, float] = {}

    if "curation" in phases:
        started = time.perf_counter()
        reports = run_curation(recipe.curation, out / "curation", recipe_hash=summary["recipe_hash"], run_dir=out)
        timings["curation"] = time.perf_counter() - started
        summary["curation"] = [r.to_dict() for r in reports]
        summary["input_problems"] = input_problems(out / "curation")
        _print_stage_tables(reports)
        _note_other_code("curation", summary["curation"], out / "curation")
        _publish(recipe, out, "curation", summary)
    if "classification" in phases:
        started = time.perf_counter()
        summary["classification"] = run_classification(recipe.classifiers, phase_input(recipe.run, "classification"),
                                                       out / "classifiers", recipe_hash=summary["recipe_hash"])
        timings["classification"] = time.perf_counter() - started
        _note_other_code("classification", summary["classification"], out / "classifiers")
        _publish(recipe, out, "classification", summary)
    if "mixing" in phases:
        assert recipe.mixer is not None
        started = time.perf_counter()
        taxonomy = recipe.classifiers.taxonomy
        summary["mixing"] = build_mixture(recipe.mixer, phase_input(recipe.run, "mixing"), out / "mixer",
                                          seed=recipe.run.seed, recipe_hash=summary["recipe_hash"],
                                          disciplines=taxonomy.disciplines, general_label=taxonomy.general_label)
        timings["mixing"] = time.perf_counter() - started
        for note in summary["mixing"].get("plan_notes", []):  # a stream shrunk or dropped under when_short: shrink
            console.print(f"NOTE mixing: {note}")
        _note_other_code("mixing", summary["mixing"], out / "mixer")
        _publish(recipe, out, "mixing", summary)
    if "training" in phases:
        assert recipe.trainer is not None
        started = time.perf_counter()
        summary["training"] = run_training(recipe.trainer, phase_input(recipe.run, "training"), out / "trainer",
                                           list(recipe.classifiers.taxonomy.disciplines), seed=recipe.run.seed)
        timings["training"] = time.perf_counter() - started
        _publish(recipe, out, "training", summary)
    summary["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    report_path = out / "run_report.json"
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one process reports
        write_json_atomic(report_path, summary)
        page = write_report(out)
        _publish(recipe, out, "report", summary)
        _print_outputs(summary, report_path, page)
    return summary


def _publish(recipe: Recipe, out: Path, phase: str, summary: dict[str, Any]) -> None:
    """Copy a finished phase's outputs to run.publish_to (rank 0 only: the folder is the same for every rank)."""
    if recipe.run.publish_to is None or int(os.environ.get("RANK", "0")) != 0:
        return
    report = publish_phase(out, phase, recipe.run.publish_to, recipe.run.publish_options)
    summary.setdefault("published", {})[phase] = report.to_dict()
    console.print(f"published {phase}: {report.files} files ({report.bytes / 1e6:.1f} MB) to {report.url} — "
                  f"{report.uploaded} uploaded, {report.already_published} already there, "
                  f"{len(report.deleted_stale)} stale removed, {report.seconds:.1f} s")


def _note_other_code(phase: str, phase_summary: Any, folder: Path) -> None:
    """One note for a phase whose resumed tasks other sciloom code wrote (an upgrade): settings, not code, decide
    what is redone, so the user decides whether to redo the phase."""
    by_code: Counter[str] = Counter()
    stages = 0
    for stage in _stage_reports(phase_summary):
        by_code.update(stage[OTHER_CODE_KEY])
        stages += bool(stage[OTHER_CODE_KEY])
    if by_code:
        written = ", ".join(f"{count} by {code}" for code, count in sorted(by_code.items()))
        console.print(f"NOTE {phase}: {sum(by_code.values())} resumed task(s) of {stages} stage(s) were written by "
                      f"other sciloom code ({written}; this is {code_version()}). Settings, not code, decide what is "
                      f"redone: rerun with --redo {phase} to redo the phase (and the later ones) with this code.")


def _stage_reports(value: Any) -> list[dict[str, Any]]:
    """Every stage report (StageReport.to_dict) inside a phase's summary."""
    if isinstance(value, dict):
        return [value] if OTHER_CODE_KEY in value else [r for v in value.values() for r in _stage_reports(v)]
    if isinstance(value, list):
        return [r for v in value for r in _stage_reports(v)]
    return []


def _print_stage_tables(reports: list[StageReport]) -> None:
    for report in reports:
        other_code = sum(report.resumed_other_code.values())
        table = Table(title=f"curation stage: {report.stage} ({report.tasks_total} tasks, "
                            f"{report.tasks_skipped} resumed{f', {other_code} by other code' if other_code else ''})",
                      title_justify="left")
        table.add_column("step", min_width=max((len(s.name) for s in report.steps), default=4))
        for column in ("docs in", "docs out", "MB in", "MB out", "seconds"):
            table.add_column(column, justify="right")
        table.add_column("rejected / skipped (reason: n)", overflow="fold", min_width=30)
        for s in report.steps:
            reasons = ", ".join(f"{k}: {v}" for k, v in (s.rejected + s.skipped).most_common(6))
            table.add_row(s.name, str(s.docs_in), str(s.docs_out), f"{s.bytes_in / 1e6:.2f}", f"{s.bytes_out / 1e6:.2f}",
                          f"{s.seconds:.1f}", reasons or "-")
        # Not cropped: a log file is 80 columns wide to rich, and a cropped row loses the reasons it exists for.
        console.print(table, crop=False)


def _print_outputs(summary: dict[str, Any], report_path: Path, page: Path) -> None:
    out = Path(summary["output_dir"])
    console.rule("[bold]run finished")
    console.print(f"outputs:        {out}")
    for phase, folder in (("curation", "curation/curated"), ("classification", "classifiers"), ("mixing", "mixer"),
                          ("training", "trainer")):
        if phase in summary:
            console.print(f"  {phase:<16}{out / folder}")
    if "mixing" in summary:
        held = summary["mixing"]["held_out"]
        console.print(f"  held out:       {out / 'mixer' / held['folder']} ({held['documents']} documents, "
                      f"{held['tokens']:,} tokens; in no training stream)")
    if "training" in summary:
        training = summary["training"]
        console.print(f"  trained MoE:    {training['hf_model']} (Hugging Face Qwen2MoeForCausalLM)")
        console.print(f"  held-out loss:  dense {training['held_out_loss_dense']:.3f} -> MoE "
                      f"{training['held_out_loss_moe']:.3f}; routing accuracy after warmup "
                      f"{training['routing_accuracy_after_warmup']:.3f} (all tokens to the largest discipline: "
                      f"{training['routing_accuracy_majority_baseline']:.3f})")
    console.print(f"report:         {page}  (statistics: {report_path})")
    console.print("seconds per phase: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items()))
    problems = summary.get("input_problems", {})
    if problems.get("passed_over"):
        names = [entry["file"] for entry in problems["passed_over"]]
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        console.print(f"{len(names)} file(s) under the input folders not read, being no input (no input format in "
                      f"their names: an entry's `format:` reads every file as one; or a dataset's metadata): "
                      f"{', '.join(names[:10])}{more}", soft_wrap=True)
    for kind, what in (("damaged", "read only in part"), ("unreadable", "could not be read at all")):
        if problems.get(kind):
            console.print(f"[bold red]{len(problems[kind])} input file(s) {what}:[/]")
            for entry in problems[kind]:
                reasons = ", ".join(f"{reason}: {n}" for reason, n in entry["reasons"].items())
                failed = f": {entry['error']}" if "error" in entry else ""  # its task failed, left out
                console.print(f"  {entry['file']} ({reasons}){failed}", soft_wrap=True)
