"""The plan for people: a table (text + rich), a bar chart of target vs planned shares, and plan.json."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on workers or CI
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sciloom.curation.atomic_write import atomic_path, write_json_atomic, write_text_atomic  # noqa: E402
from sciloom.mixer.plan import MixturePlan  # noqa: E402


def plan_table(plan: MixturePlan) -> Table:
    table = Table(title="mixture plan (planned tokens are estimates before tokenization)", title_justify="left")
    for column in ("stream", "discipline", "target", "planned", "diff (pp)", "tokens", "buckets (source/tier: x repeats)"):
        table.add_column(column, justify="left" if column in ("stream", "discipline", "buckets (source/tier: x repeats)")
                         else "right")
    for stream in plan.streams:
        achieved = stream.achieved()
        for discipline, target in stream.targets.items():
            keys = sorted(k for k in stream.take if k[1] == discipline)
            buckets = ", ".join(f"{s}/{t}: x{stream.repeats[(s, d, t)]:.2f}" for s, d, t in keys) or "-"
            table.add_row(stream.folder, discipline, f"{target:.1%}", f"{achieved[discipline]:.1%}",
                          f"{100 * (achieved[discipline] - target):+.2f}",
                          f"{sum(stream.take[k] for k in keys):,.0f}", buckets)
    return table


def held_out_table(plan: MixturePlan) -> Table:
    table = Table(title="held-out documents (in no training stream; written once as held_out/ for evaluation)",
                  title_justify="left")
    for column in ("discipline", "held-out documents", "training documents", "held-out tokens"):
        table.add_column(column, justify="left" if column == "discipline" else "right")
    rows = plan.held_out_by_discipline()
    for discipline, row in rows.items():
        table.add_row(discipline, str(row["held_out_documents"]), str(row["training_documents"]),
                      f"{row['held_out_tokens']:,}")
    table.add_row("total", *(f"{sum(r[c] for r in rows.values()):,}"
                             for c in ("held_out_documents", "training_documents", "held_out_tokens")))
    return table


def plan_text(plan: MixturePlan) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(plan_table(plan))
    console.print(held_out_table(plan))
    for note in plan.notes:
        console.print(f"NOTE {note}")
    for problem in plan.problems:
        console.print(f"INFEASIBLE {problem}")
    return console.export_text()


def save_plan_chart(plan: MixturePlan, path: Path) -> None:
    streams = plan.streams
    held_out = plan.held_out_by_discipline()
    rows = len(streams) + bool(held_out)
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.6 * max(rows, 1)), squeeze=False)
    for ax, stream in zip(axes[:, 0], streams):
        names = list(stream.targets)
        achieved = stream.achieved()
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], [stream.targets[n] for n in names], width=0.4, label="target")
        ax.bar([i + 0.2 for i in x], [achieved[n] for n in names], width=0.4, label="planned")
        ax.set_xticks(list(x), names, fontsize=8)
        ax.set_ylabel("share of tokens")
        title = f"{stream.folder} ({stream.budget:,} tokens)"
        ax.set_title(title + (" — INFEASIBLE" if stream.problems else ""), fontsize=9,
                     color="red" if stream.problems else "black")
        ax.legend(fontsize=7)
    if held_out:
        ax = axes[-1, 0]
        names = list(held_out)
        ax.bar(range(len(names)), [held_out[n]["held_out_tokens"] for n in names], color="gray")
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_ylabel("tokens (estimate)")
        ax.set_title(f"held_out ({sum(r['held_out_documents'] for r in held_out.values())} documents, "
                     "in no training stream)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def write_plan_report(plan: MixturePlan, out_dir: Path) -> dict[str, Path]:
    paths = {"json": out_dir / "plan.json", "png": out_dir / "plan.png", "txt": out_dir / "plan.txt"}
    write_json_atomic(paths["json"], plan.to_dict())
    save_plan_chart(plan, paths["png"])
    write_text_atomic(paths["txt"], plan_text(plan))
    return paths
