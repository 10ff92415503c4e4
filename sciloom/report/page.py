"""The run report as one self-contained HTML page: inline CSS and SVG, no script, no request leaving the file."""
from __future__ import annotations

import json
from html import escape
from typing import Any

from sciloom.report import svg
from sciloom.report.collect import RunFacts

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #4c78a8;padding-bottom:2px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f0f4f8}.muted{color:#777;font-size:12px}
.example{border-left:3px solid #4c78a8;padding:4px 10px;margin:6px 0;background:#fafafa;font-size:12px;white-space:pre-wrap}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}.bad{color:#b00}.chart{margin:6px 0}
nav a{margin-right:12px}
"""


def render(facts: RunFacts) -> str:
    sections = [(title, html) for title, html in (
        ("Funnel", funnel(facts)), ("Dedup", dedup(facts)), ("Labels", labels(facts)),
        ("Mixture", mixture(facts)), ("Training", training(facts)), ("Provenance", provenance(facts)),
    ) if html]
    nav = "".join(f'<a href="#{title.lower()}">{title}</a>' for title, _ in sections)
    body = "".join(f'<section id="{title.lower()}"><h2>{title}</h2>{html}</section>' for title, html in sections)
    return page(f"sciloom run: {facts.name}", f"<h1>sciloom run: {escape(facts.name)}</h1>"
                f'<p class="muted">{escape(str(facts.run_dir))}</p><nav>{nav}</nav>{body}')


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            f'img-src data:"><style>{STYLE}</style></head><body>{body}</body></html>')


def table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def funnel(facts: RunFacts) -> str:
    if not facts.curation:
        return ""
    rows, reasons = [], []
    for stage in facts.curation:
        for step in stage["steps"]:
            rows.append([f'{stage["stage"]} / {step["name"]}', step["docs_in"], step["docs_out"],
                         step["bytes_in"] / 1e6, step["bytes_out"] / 1e6, step["seconds"]])
            for kind in ("rejected", "skipped"):
                reasons += [[f'{stage["stage"]} / {step["name"]}', kind, reason, n] for reason, n in step[kind].items()]
    extract = next((s for s in facts.curation if s["stage"] == "extract"), None)
    flow = []
    if extract:
        flow = [("records read", extract["steps"][0]["docs_in"])] + [(s["name"], s["docs_out"]) for s in extract["steps"]]
    final = next((s for s in facts.curation if s["stage"] == "dedup_filter"), None)
    if final:
        flow.append(("after dedup", final["steps"][-1]["docs_out"]))
    problems = facts.summary.get("input_problems") or {}
    warning = "".join(f'<p class="bad">{len(problems[k])} input file(s) {what}: '
                      + escape(", ".join(e["file"] for e in problems[k][:10])) + "</p>"
                      for k, what in (("unreadable", "could not be read"), ("damaged", "read only in part"))
                      if problems.get(k))
    if problems.get("passed_over"):
        warning += (f'<p>{len(problems["passed_over"])} file(s) under the input folders not read (no input format '
                    "in their names, or a dataset's metadata): "
                    + escape(", ".join(e["file"] for e in problems["passed_over"][:10])) + "</p>")
    names = sorted({s for counts in facts.sources.values() for s in counts})
    by_source = ("<h3>Documents per input source</h3>" + table(
        ["source", *facts.sources], [[s, *[counts.get(s, 0) for counts in facts.sources.values()]] for s in names])
        if names else "")
    return (warning + svg.bars(flow, "documents through curation") +
            table(["step", "docs in", "docs out", "MB in", "MB out", "seconds"], rows) +
            "<h3>Rejected and skipped, by reason</h3>" + table(["step", "kind", "reason", "documents"], reasons)
            + by_source)


# The duplicate graph's statistics as the dedup section names them.
_GRAPH_NOTES = {"candidate_pairs_verified": "candidate pairs verified", "candidate_pairs_rejected": "candidate pairs "
                "rejected", "nodes": "documents with an exact or near duplicate", "components": "clusters",
                "rounds": "rounds to find the clusters"}


def dedup(facts: RunFacts) -> str:
    stages = {s["stage"]: s for s in facts.curation}
    final = stages.get("dedup_filter")
    if not final:
        return ""
    removed = final["steps"][-1]["rejected"]
    html = svg.bars(sorted(removed.items()), "documents removed by dedup, by kind")
    components = stages.get("dedup_components")
    if components:
        steps = {step["name"]: step.get("notes", {}) for step in components["steps"]}
        notes = {**steps.get("fuzzy_pairs", {}), **steps.get("components_labels", {})}
        html += table(["fuzzy dedup", "count"],
                      [[name, notes[key]] for key, name in _GRAPH_NOTES.items() if key in notes])
    for example in facts.dedup_examples:
        html += (f'<h4>{escape(example["reject_reason"])}: {escape(example["id"])} duplicates '
                 f'{escape(example["duplicate_of"])}</h4><div class="pair">'
                 f'<div class="example">{escape(_first_lines(example["text"]))}</div>'
                 f'<div class="example">{escape(_first_lines(example["kept_text"]))}</div></div>')
    return html


def tier_cuts_sentence(quantiles: dict | None, cuts: dict | None) -> str:
    """How the run cut its quality tiers: at the corpus's (or each discipline's) quantiles and where they fell, or
    at fixed scores."""
    if quantiles:
        where = "each discipline's" if quantiles.get("quantiles_by") == "discipline" else "the corpus's"
        sentence = (f"Tiers cut at {where} quantiles ({quantiles['high_share']:.0%} high, {quantiles['low_share']:.0%} "
                    f"low; fitted on {quantiles['sampled']:,} documents): high from a combined score of "
                    f"{quantiles['high_min']:.4f}, low below {quantiles['medium_min']:.4f}")
        own = quantiles.get("discipline_cuts") or {}
        if own:
            each = ", ".join(f"{name} {c['high_min']:.4f} / {c['medium_min']:.4f}" for name, c in own.items())
            sentence += f" ({len(own)} disciplines with cuts of their own: {each}; the others at the corpus's)"
        caps = quantiles.get("level1_caps") or {}
        if caps.get("low") or caps.get("not_high"):
            sentence += (f"; level-1 results made {caps['low']:,} sampled documents low and kept {caps['not_high']:,} "
                         "from high, and the cuts count them")
        return sentence + "." + (_kept_cuts_sentence(quantiles) if quantiles.get("kept_earlier_cuts") else "")
    if cuts:
        return (f"Tiers cut at fixed combined scores: high from {cuts['high_min']:g}, low below "
                f"{cuts['medium_min']:g}.")
    return ""


def _kept_cuts_sentence(quantiles: dict) -> str:
    shares = quantiles["sample_shares"]
    return (f" These are the cuts the earlier run labelled with: on this sample they leave {shares['high']:.1%} "
            f"high and {shares['low']:.1%} low, within the tolerance of new cuts "
            f"({quantiles['fitted']['high_min']:.4f} and {quantiles['fitted']['medium_min']:.4f}), so the parts "
            f"already labelled were kept.")


def labels(facts: RunFacts) -> str:
    report = facts.classifiers
    if not report:
        return ""
    summary = facts.summary.get("classification") or {}
    disciplines = summary.get("disciplines") or {}
    html = svg.bars(sorted(disciplines.items(), key=lambda kv: -kv[1]), "documents per discipline")
    tiers = report.get("tiers") or {}
    html += svg.bars([(t, v["count"]) for t, v in tiers.items()], "documents per quality tier")
    if cuts := tier_cuts_sentence(report.get("quantile_tiers"), summary.get("tier_cuts")):
        html += f"<p>{escape(cuts)}</p>"
    per = report.get("per_discipline") or {}
    if per:
        html += "<h3>Quality tiers per discipline (documents)</h3>" + table(
            ["discipline", "documents", *tiers],
            [[d, row.get("documents", 0), *[(row.get(t) or {}).get("count", 0) for t in tiers]] for d, row in per.items()])
    if facts.quality_scores:
        html += f"<h3>Quality score ({len(facts.quality_scores):,} documents)</h3>" + svg.histogram(
            facts.quality_scores, "quality score histogram")
    for tier, examples in (report.get("examples") or {}).items():
        html += f"<h3>Tier {escape(tier)}: examples</h3>" + "".join(
            f'<div class="example"><b>{escape(str(e.get("discipline")))}</b> quality {e.get("quality_score")}: '
            f'{escape(_first_lines(e.get("text") or ""))}</div>' for e in examples[:3])
    return html


def mixture(facts: RunFacts) -> str:
    mixing = facts.summary.get("mixing")
    if not mixing:
        return ""
    html = ""
    for folder, stream in mixing["streams"].items():
        targets, achieved = stream["targets"], stream["achieved"]
        html += (f"<h3>{escape(folder)}: {stream['tokens']:,} tokens (budget {stream['budget']:,})</h3>"
                 + svg.paired_bars([(d, targets[d], achieved.get(d, 0.0)) for d in targets], ("target", "achieved"),
                                   f"{folder}: target vs achieved share"))
    missed = mixing.get("missed_targets") or {}
    html += "".join(f'<p class="bad">{escape(folder)} missed: {escape("; ".join(p))}</p>' for folder, p in missed.items())
    # What the planner changed in the recipe's request: streams shrunk, dropped, or grown to whole documents.
    html += "".join(f"<p>{escape(note)}</p>" for note in mixing.get("plan_notes") or [])
    held = mixing["held_out"]
    html += (f"<p>Held-out set: {held['documents']:,} documents, {held['tokens']:,} tokens, in no training stream.</p>"
             + table(["discipline", "held-out documents"], sorted(held["documents_by_discipline"].items())))
    if facts.plan:
        html += "<h3>Repeats per bucket</h3>" + table(
            ["stream", "bucket (source / discipline / tier)", "tokens", "repeats"],
            [[s["folder"], f"{b['source']} / {b['discipline']} / {b['tier']}", b["tokens"], b["repeats"]]
             for s in facts.plan.get("streams", []) for b in s.get("buckets", [])[:40]])
    return html


def training(facts: RunFacts) -> str:
    if not facts.training and not facts.loss_curves:
        return ""
    html = svg.lines(facts.loss_curves, "training loss per stage") if facts.loss_curves else ""
    report = facts.training or {}
    held = report.get("held_out") or {}
    if held.get("dense") and held.get("moe"):
        dense, moe = held["dense"], held["moe"]
        rows = [["all", dense["loss"], moe["loss"], moe["loss"] - dense["loss"]]]
        rows += [[d, loss, moe["loss_per_discipline"].get(d), (moe["loss_per_discipline"].get(d) or 0) - loss]
                 for d, loss in dense.get("loss_per_discipline", {}).items()]
        html += "<h3>Held-out loss, dense start vs MoE</h3>" + table(["discipline", "dense", "MoE", "change"], rows)
        if moe.get("routing_counts"):
            counts = moe["routing_counts"]
            disciplines = list(dense.get("loss_per_discipline", {})) or [str(i) for i in range(len(counts))]
            shares = [[v / max(sum(row), 1) for v in row] for row in counts]
            named = [d for d, row in zip(disciplines, counts) if sum(row)] or disciplines
            html += "<h3>Routing: share of each discipline's tokens per expert</h3>" + svg.heatmap(
                named, list(range(len(counts[0]))), [r for r, c in zip(shares, counts) if sum(c)], "routing heatmap")
            html += "<h3>Expert load</h3>" + svg.bars([(str(i), float(v)) for i, v in enumerate(moe["expert_load"])],
                                                    "tokens routed per expert")
    accuracy = report.get("routing_accuracy_after_warmup")
    if accuracy:
        html += (f"<p>Routing accuracy after the warmup: <b>{accuracy['accuracy']:.3f}</b>; a router sending every "
                 f"token to the largest discipline would score {accuracy['majority_baseline']:.3f}.</p>")
    return html


def provenance(facts: RunFacts) -> str:
    summary = facts.summary
    rows = [["recipe hash", summary.get("recipe_hash", "?")], ["sciloom code", summary.get("code_version", "?")],
            ["output folder", summary.get("output_dir", "")]]
    rows += [[f"seconds: {phase}", seconds] for phase, seconds in (summary.get("seconds") or {}).items()]
    # A run over another run's outputs (run.reuse_from): what each of its phases read from there.
    rows += [[f"input of {phase}: another run's", folder] for phase, folder in (summary.get("reused_from") or {}).items()]
    for key, where in (("curation", "curation/curated"), ("classification", "classifiers/labelled"),
                       ("mixing", "mixer"), ("training", "trainer")):
        if key in summary:
            rows.append([f"output: {key}", str(facts.run_dir / where)])
    html = table(["", ""], rows) + "<h3>Package versions</h3>" + table(["package", "version"], list(facts.versions.items()))
    for name, card in facts.model_cards.items():
        if card:
            shown = {k: v for k, v in card.items() if not isinstance(v, (dict, list)) or k in ("labels", "sources")}
            html += f"<h3>Classifier model card: {escape(name)}</h3>" + table(
                ["field", "value"], [[k, json.dumps(v) if isinstance(v, (dict, list)) else v] for k, v in shown.items()])
    return html


def _first_lines(text: str, lines: int = 4, width: int = 400) -> str:
    kept = [line for line in text.splitlines() if line.strip()][:lines]
    shown = "\n".join(kept)
    return shown if len(shown) <= width else shown[:width] + " …"
