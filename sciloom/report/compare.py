"""Two runs side by side (e.g. two mixture ratios): every number the report shows, with a difference column."""
from __future__ import annotations

from html import escape

from sciloom.report.collect import RunFacts
from sciloom.report.page import page, table


def metrics(facts: RunFacts) -> dict[str, dict[str, float]]:
    """The comparable numbers of a run, by report section."""
    summary = facts.summary
    found: dict[str, dict[str, float]] = {"Funnel": {}, "Dedup": {}, "Labels": {}, "Mixture": {}, "Training": {},
                                          "Provenance": {}}
    for stage in facts.curation:
        for step in stage["steps"]:
            found["Funnel"][f"{stage['stage']} / {step['name']}: docs out"] = step["docs_out"]
            if stage["stage"] == "dedup_filter":
                found["Dedup"].update({f"removed: {k}": v for k, v in step["rejected"].items()})
    classification = summary.get("classification") or {}
    found["Labels"].update({f"documents: {k}": v for k, v in (classification.get("disciplines") or {}).items()})
    found["Labels"].update({f"tier share: {k}": v for k, v in (classification.get("tiers") or {}).items()})
    for folder, stream in ((summary.get("mixing") or {}).get("streams") or {}).items():
        found["Mixture"][f"{folder}: tokens"] = stream["tokens"]
        found["Mixture"].update({f"{folder}: {d} achieved": v for d, v in stream["achieved"].items()})
        found["Mixture"].update({f"{folder}: {d} target": v for d, v in stream["targets"].items()})
    training = summary.get("training") or {}
    for key in ("held_out_loss_dense", "held_out_loss_moe", "routing_accuracy_after_warmup",
                "routing_accuracy_majority_baseline"):
        if key in training:
            found["Training"][key] = training[key]
    held = (facts.training or {}).get("held_out") or {}
    for side in ("dense", "moe"):
        found["Training"].update({f"held-out loss {side}: {d}": v
                                  for d, v in ((held.get(side) or {}).get("loss_per_discipline") or {}).items()})
    found["Provenance"].update({f"seconds: {k}": v for k, v in (summary.get("seconds") or {}).items()})
    return {section: values for section, values in found.items() if values}


def render_comparison(a: RunFacts, b: RunFacts) -> str:
    left, right = metrics(a), metrics(b)
    body = (f"<h1>sciloom runs compared</h1><p>A: <b>{escape(a.name)}</b> ({escape(str(a.run_dir))}), recipe "
            f"{escape(str(a.summary.get('recipe_hash', '?'))[:12])}<br>B: <b>{escape(b.name)}</b> "
            f"({escape(str(b.run_dir))}), recipe {escape(str(b.summary.get('recipe_hash', '?'))[:12])}</p>")
    for section in dict.fromkeys([*left, *right]):
        names = list(dict.fromkeys([*left.get(section, {}), *right.get(section, {})]))
        rows = []
        for name in names:
            x, y = left.get(section, {}).get(name), right.get(section, {}).get(name)
            rows.append([name, "—" if x is None else x, "—" if y is None else y,
                         "—" if x is None or y is None else y - x])
        body += f'<section id="{section.lower()}"><h2>{section}</h2>' + table(["", "A", "B", "B − A"], rows) + "</section>"
    return page(f"sciloom: {a.name} vs {b.name}", body)
