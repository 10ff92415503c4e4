"""Classifier commands.

- `sciloom label`: JSONL {"id", "text"} on stdin → one JSONL record per input line on stdout with
  `discipline`, `discipline_scores`, `science_score`, `quality_score`, `quality_tier`. A line the JSONL reader
  cannot use (blank, not JSON, no non-blank string `text`: curation/read_jsonl.py names the problems) gets
  `"error": <problem>` instead, and is counted in the JSON summary on stderr. Bytes that are not UTF-8 are
  replaced and counted under `notes`: one bad record never costs the others.
- `sciloom classifiers train`: a discipline or quality model from labelled JSONL, with an evaluation report.
- `sciloom classifiers bootstrap`: both models from an unlabelled corpus, with no labels and no GPU.

Models: `--models DIR`, else the default models folder (`$SCILOOM_MODELS`, else
`~/.cache/sciloom/models/<taxonomy hash>`). On a machine that has never bootstrapped, `sciloom label` first
builds that folder from the project's own seed knowledge (synthetic documents written from the seed
vocabularies, a few seconds); `sciloom classifiers bootstrap --corpus ...` writes corpus-bootstrapped models
into the same folder by default, and they are the default from then on.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, get_args

import typer

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.curation.read_jsonl import JsonLine, read_json_lines
from sciloom.jsonl_options import IdFieldOption, TextFieldOption, text_field_of
from sciloom.curation.rules import Profile

classifiers_app = typer.Typer(help="Train or bootstrap the level-2 discipline and quality classifiers.",
                              no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("label")(label)
    app.add_typer(classifiers_app, name="classifiers")


RulesProfile = Enum("RulesProfile", {name: name for name in get_args(Profile)}, type=str)  # typer takes enums


RecipeOption = Annotated[Optional[Path], typer.Option(
    help="Recipe YAML whose `classifiers` section (taxonomy, fastText, bootstrap, tiers) to use.")]


def _config(recipe: Path | None) -> ClassifiersConfig:
    if recipe is None:
        return ClassifiersConfig()
    from sciloom.recipe import load_recipe_or_exit

    return load_recipe_or_exit(recipe).classifiers


def _batches(lines: Iterator[JsonLine], size: int) -> Iterator[list[JsonLine]]:
    batch: list[JsonLine] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def label(
    models: Annotated[Optional[Path], typer.Option(help="Folder with discipline/quality models; default: the "
                                                        "models shipped with the package (trained on real labelled text), "
                                                        "or, for a custom taxonomy, models bootstrapped from its seed "
                                                        "vocabularies.")] = None,
    recipe: RecipeOption = None,
    rules: Annotated[Optional[RulesProfile], typer.Option(
        help="Also run the level-1 rules with this profile (as `sciloom run` does before labelling): each line gets "
             "`rules_rejection`, the check that rejects it or null. The quality model alone reads words, not "
             "repetition: a word salad or a line repeated 50 times can score high.")] = None,
    text_field: TextFieldOption = "text",
    id_field: IdFieldOption = "id",
    tiers_from: Annotated[Optional[Path], typer.Option(
        help="Cut the quality tiers where this run cut them at its corpus's quantiles: a run folder, its "
             "classifiers folder or classifiers_report.json (for a recipe with tiers in mode quantile).")] = None,
) -> None:
    """Label documents (JSONL on stdin) with discipline, science and quality scores and tier (JSONL on stdout)."""
    from sciloom.classifiers.bootstrap import ensure_default_models
    from sciloom.classifiers.label_step import LABEL_COLUMNS, Labeller
    from sciloom.curation.rules import RulesConfig, RulesStep

    from sciloom.classifiers.pipeline import fitted_cuts

    config = _config(recipe)
    if tiers_from is not None:
        try:
            config = config.model_copy(update={"tiers": fitted_cuts(tiers_from, config.tiers)})
        except (ValueError, FileNotFoundError) as error:
            typer.echo(f"--tiers-from: {error}", err=True)
            raise typer.Exit(2) from None
    elif config.tiers.mode == "quantile":
        typer.echo(f"{recipe}: classifiers.tiers.mode is quantile: its cut points are fitted to a whole corpus by "
                   "`sciloom run`, which a stream of lines cannot do. Give the run with --tiers-from RUN_DIR to cut "
                   "where it did, or use a recipe in mode threshold.", err=True)
        raise typer.Exit(2)
    labeller = Labeller(models if models is not None else ensure_default_models(config), config)
    rules_step = RulesStep(RulesConfig(profile=rules.value)) if rules is not None else None
    rejections: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    records = 0
    for batch in _batches(read_json_lines(sys.stdin.buffer, text_field_of(text_field)), config.batch_size):
        docs = [{"id": line.get(id_field), "text": line.value} for line in batch if line.problem is None]
        notes.update(labeller.annotate(docs))
        labelled = iter(docs)
        for line in batch:
            records += 1
            notes.update(line.notes)
            if line.problem is not None:
                problems[line.problem] += 1
                out: dict[str, Any] = {"id": line.get(id_field), "error": line.problem}
            else:
                doc = next(labelled)
                tiers[doc["quality_tier"]] += 1
                out = {"id": line.get(id_field), **{name: doc[name] for name in LABEL_COLUMNS}}
                out["discipline_scores"] = {k: round(v, 5) for k, v in out["discipline_scores"].items()}
                out["science_score"] = round(out["science_score"], 5)
                out["quality_score"] = round(out["quality_score"], 5)
                if rules_step is not None:
                    out["rules_rejection"] = rules_step.rejection(rules_step.evaluate(doc["text"])[0])
                    rejections[out["rules_rejection"] or "kept"] += 1
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    summary = {"records": records, "tiers": dict(sorted(tiers.items())), "unreadable": dict(sorted(problems.items())),
               "notes": dict(sorted(notes.items()))}
    if rules_step is not None:
        summary["rules"] = dict(sorted(rejections.items()))
    print(json.dumps(summary), file=sys.stderr)


@classifiers_app.command("train")
def train(
    data: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                       help="Labelled JSONL, one {text, label} object per line.")],
    out: Annotated[Path, typer.Option(help="Folder to write <kind>.bin/.json and <kind>_eval.json into.")],
    kind: Annotated[str, typer.Option(help="discipline or quality.")] = "discipline",
    label_map: Annotated[str, typer.Option(help="identity, arxiv, mag, mmlu, or a JSON file {raw label: label}.")] = "identity",
    text_field: TextFieldOption = "text",
    label_field: Annotated[str, typer.Option(help="Field holding the label.")] = "label",
    test_fraction: Annotated[float, typer.Option(min=0.05, max=0.5, help="Share held out for evaluation.")] = 0.2,
    group_field: Annotated[Optional[str], typer.Option(
        help="Field naming each record's source: whole sources are held out (about --test-fraction of them), and "
             "each one's numbers and the worst are reported. A random split flatters a model trained on few "
             "sources: it learns their style.")] = None,
    leave_one_group_out: Annotated[bool, typer.Option(
        help="With --group-field: hold out every source in turn (one model each; the report's mean and worst "
             "source), then save a model trained on all of them.")] = False,
    recipe: RecipeOption = None,
) -> None:
    """Train a model from labelled JSONL; prints the held-out evaluation (accuracy, macro-F1, ECE)."""
    from sciloom.classifiers.train import label_mapper, read_labelled_jsonl, train_and_evaluate

    config = _config(recipe)
    try:
        mapper = label_mapper(label_map, kind, config.taxonomy)
    except (ValueError, FileNotFoundError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if leave_one_group_out and group_field is None:
        typer.echo("--leave-one-group-out needs --group-field (the field naming each record's source)", err=True)
        raise typer.Exit(2)
    with data.open("rb") as lines:
        examples, skipped, groups = read_labelled_jsonl(lines, mapper, text_field_of(text_field), label_field,
                                                        group_field)
    try:
        report = train_and_evaluate(kind, examples, config, out, test_fraction, groups, leave_one_group_out)
    except ValueError as error:  # too few examples or groups, labels outside the taxonomy: it cannot train a model
        typer.echo(f"{data}: {error} (skipped lines: {dict(skipped)})", err=True)
        raise typer.Exit(2) from None
    shown = ("examples", "accuracy", "macro_f1", "ece", "ece_before_calibration", "group_macro_f1_mean",
             "worst_group", "split")
    summary = {k: report[k] for k in shown if k in report}
    typer.echo(json.dumps({**summary, "skipped": dict(skipped), "report": str(out / f"{kind}_eval.json")}))


@classifiers_app.command("bootstrap")
def bootstrap(
    corpus: Annotated[Path, typer.Option(exists=True, help="Unlabelled corpus: JSONL {id, text} file, or a folder of "
                                                           "part-*.parquet (e.g. <run>/curation/curated).")],
    out: Annotated[Optional[Path], typer.Option(help="Models folder; default: the default models folder used "
                                                     "by `sciloom label`.")] = None,
    recipe: RecipeOption = None,
    text_field: TextFieldOption = "text",
    id_field: IdFieldOption = "id",
) -> None:
    """Bootstrap discipline and quality models from your own corpus (seed knowledge, no labels, no GPU)."""
    from sciloom.classifiers.bootstrap import bootstrap_models, default_models_dir
    from sciloom.curation.document import iter_parts, read_documents

    config = _config(recipe)
    folder = out if out is not None else default_models_dir(config)

    unreadable: Counter[str] = Counter()

    def documents() -> Iterator[dict[str, Any]]:
        if corpus.is_dir():
            for part in iter_parts(corpus):
                yield from read_documents(part)
            return
        with corpus.open("rb") as lines:
            for i, line in enumerate(read_json_lines(lines, text_field_of(text_field))):
                if line.problem is not None:
                    unreadable[line.problem] += 1
                    continue
                own_id = line.get(id_field)
                yield {"id": str(own_id if own_id is not None else i), "text": line.value}

    report = bootstrap_models(documents(), config, folder)
    skipped = Counter(report["skipped"]) + unreadable
    typer.echo(json.dumps({"models": str(folder), **{k: report[k] for k in ("corpus_documents", "weak_labels",
                                                                             "self_training_adopted")},
                           "skipped": dict(sorted(skipped.items()))}))
