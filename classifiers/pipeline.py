"""The classifiers stage of a run: get models (given, packaged, or bootstrapped from the curated corpus), label every
curated document as a resumable Ray stage, and report quality-tier proportions per discipline with examples.

With a judge configured, a sample is judged first (classifiers.judge_stage): its quality labels train the quality
model used for labelling, its discipline labels replace the seed labeller's for the judged documents when the
discipline model is bootstrapped (a given models folder is used as it is), and the labelled parts carry the judge
fields of the judged documents."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from sciloom.classifiers.bootstrap import REPORT_FILE as BOOTSTRAP_REPORT
from sciloom.classifiers.bootstrap import bootstrap_models
from sciloom.classifiers.default_models import packaged_models
from sciloom.classifiers.config import ClassifiersConfig, TierThresholds
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, model_files
from sciloom.classifiers.judge_stage import JUDGE_DIR, JUDGED_FILE, judge_sample, models_with_judge_quality, read_verdicts
from sciloom.classifiers.label_step import JudgedLabelStep, Labeller, LabelStep
from sciloom.classifiers.quantile_tiers import fit_quantile_tiers, remove_sample, with_cuts
from sciloom.classifiers.tier_report import tier_report
from sciloom.curation.document import iter_parts, read_documents
from sciloom.curation.executor import run_stage
from sciloom.curation.map_stage import map_documents
from sciloom.curation.part_writer import provenance
from sciloom.curation.ray_runtime import ensure_ray
from sciloom.curation.stage_reader import StageOutputReader, tasks_over_stage
from sciloom.curation.atomic_write import file_fingerprint, write_json_atomic
from sciloom.curation.step import Reader, Step

LABELLED_DIR = "labelled"
MODELS_DIR = "models"
REPORT_FILE = "classifiers_report.json"


def _label_chain(models_dir: str, config_json: str, judged_path: str | None) -> tuple[Reader, list[Step]]:
    """Built inside each Ray worker, so that models and verdicts are loaded there and never pickled."""
    config = ClassifiersConfig.model_validate_json(config_json)
    if judged_path is None:
        return StageOutputReader(), [LabelStep(Labeller(Path(models_dir), config))]
    labeller = Labeller(Path(models_dir), config, read_verdicts(Path(judged_path)))
    return StageOutputReader(), [JudgedLabelStep(labeller)]


def _corpus(curated_dir: Path, limit: int):
    seen = 0
    for part in iter_parts(curated_dir):
        for doc in read_documents(part, columns=None):
            if seen >= limit:
                return
            seen += 1
            yield doc


def prepare_models(config: ClassifiersConfig, curated_dir: Path, out_dir: Path,
                   known: dict[str, str] | None = None) -> tuple[Path, dict[str, Any] | None]:
    """The models to label with: the configured folder; else, with no `known` labels (no judge), the packaged
    models when they fit the taxonomy; else models bootstrapped once into out_dir/models with the `known` discipline labels (a rerun with as many
    known labels reuses them, so that resumed labelling tasks and finished ones agree)."""
    if config.models_dir is not None:
        return config.models_dir, None
    packaged = packaged_models(config.taxonomy, config.bootstrap.seeds_dir)
    if packaged is not None and not known:
        return packaged, None
    models_dir = out_dir / MODELS_DIR
    report_path = models_dir / BOOTSTRAP_REPORT
    known = known or {}
    done = all((models_dir / f"{kind}.json").exists() for kind in (DISCIPLINE, QUALITY)) and report_path.exists()
    if done:
        report = json.loads(report_path.read_text())
        if report.get("known_labels", {}).get("given") == len(known):
            return models_dir, report
    return models_dir, bootstrap_models(_corpus(curated_dir, config.bootstrap.max_docs), config, models_dir, known)


def fitted_cuts(report_path: Path, tiers: TierThresholds) -> TierThresholds:
    """The cuts a run fitted, from its classifiers_report.json (or the run folder holding classifiers/ or the
    classifiers folder), as the threshold rule with the rest of `tiers`."""
    for candidate in (report_path, report_path / REPORT_FILE, report_path / "classifiers" / REPORT_FILE):
        if candidate.is_file():
            fitted = json.loads(candidate.read_text()).get("quantile_tiers")
            if not fitted:
                raise ValueError(f"{candidate}: this run did not cut its tiers at quantiles (no quantile_tiers)")
            return with_cuts(tiers, fitted["medium_min"], fitted["high_min"], fitted.get("discipline_cuts"))
    raise FileNotFoundError(f"{report_path}: no {REPORT_FILE} here, nor in its classifiers/ folder")


def run_classification(config: ClassifiersConfig, curated_dir: Path, out_dir: Path,
                       recipe_hash: str | None = None) -> dict[str, Any]:
    """Label every curated document into out_dir/labelled (resumable Ray stage); write the report JSON."""
    tasks = tasks_over_stage(curated_dir)
    if not tasks:
        raise FileNotFoundError(f"no curated parts (part-*.parquet) in {curated_dir}: run curation first")
    # The judge goes first: a dead endpoint fails the run before any model is bootstrapped or document labelled.
    judge = judge_sample(config, curated_dir, out_dir) if config.judge is not None else None
    ensure_ray()
    judged_path = None
    known = None
    if judge is not None:
        judged_path = str(out_dir / JUDGE_DIR / JUDGED_FILE)
        known = {doc_id: str(verdict["judge_discipline"])
                 for doc_id, verdict in read_verdicts(Path(judged_path)).items() if verdict["judge_discipline"]}
    models_dir, bootstrap = prepare_models(config, curated_dir, out_dir, known)
    if judge is not None:
        models_dir, judge["quality_model"] = models_with_judge_quality(config, out_dir, models_dir)
    Labeller(models_dir, config)  # fail here, once and clearly, on missing models or a taxonomy mismatch
    # Labels depend on the curated documents, these settings, the models' bytes and the judge's verdicts: when
    # any of the last three changed since the last run, no label of the old ones is resumed. A part's labels
    # depend on its own bytes (its task's settings): an input added to the run relabels the parts that changed.
    settings = {"classifiers": config.model_dump(mode="json"),
                "files": {path.name: file_fingerprint(path) for path in model_files(models_dir)},
                "judged": file_fingerprint(Path(judged_path)) if judged_path else None}
    quantiles = None
    if config.tiers.mode == "quantile":
        # The cuts enter the labelling settings below: new cuts label again.
        config, quantiles = fit_quantile_tiers(config, tasks, out_dir, out_dir / LABELLED_DIR, models_dir,
                                               judged_path, settings)
        settings = {**settings, "classifiers": config.model_dump(mode="json")}
    else:
        remove_sample(out_dir)
    build = partial(_label_chain, str(models_dir), config.model_dump_json(), judged_path)
    stage = run_stage("classify", out_dir / LABELLED_DIR, tasks, map_documents(build, provenance(recipe_hash)),
                      num_cpus_per_task=config.num_cpus_per_task, settings=settings)
    tiers = tier_report(out_dir / LABELLED_DIR, config)
    report = {
        "models_dir": str(models_dir),
        "taxonomy_hash": config.taxonomy.content_hash,
        "bootstrap": bootstrap,
        "judge": judge,
        "stage": stage.to_dict(),
        "quantile_tiers": quantiles,
        **tiers,
    }
    write_json_atomic(out_dir / REPORT_FILE, report)
    summary = {
        "labelled_dir": str(out_dir / LABELLED_DIR),
        "models_dir": str(models_dir),
        "documents": tiers["documents"],
        "tiers": {tier: v["share"] for tier, v in tiers["tiers"].items()},
        "tier_cuts": config.tiers.model_dump(
            include={"medium_min", "high_min", *(["discipline_cuts"] if config.tiers.discipline_cuts else [])}),
        "disciplines": {d: v["documents"] for d, v in tiers["per_discipline"].items() if v["documents"]},
        "report": str(out_dir / REPORT_FILE),
    }
    if judge is not None:
        summary["judge"] = {"judged": judge["documents"], "scored": judge["scored"], "labels": judge["labels"],
                            "errors": judge["errors"]}
    return summary
