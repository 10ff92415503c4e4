"""The run report of the demo recipe (training shortened), rendered in headless Chromium: every section is there
with drawn charts, the page logs nothing to the console (its Content-Security-Policy turns any request leaving
the file into a logged violation), and `sciloom report A B` compares two runs with a difference column."""
from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCILOOM = str(Path(sys.executable).with_name("sciloom"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ("funnel", "dedup", "labels", "mixture", "training", "provenance")


def _recipe(folder: Path, name: str, general_ratio: float, phases: list[str]) -> Path:
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(name=name, output_dir=str(folder / name), phases=phases)
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(REPO_ROOT / path) for path in spec["paths"]]
    recipe["mixer"]["integration"]["general_ratio"] = general_ratio
    # So small a budget that a discipline's share is a fraction of a document: the planner grows the stream and notes
    # it, and the report must show the note (the demo's own budgets give notes or not as its labels fall).
    recipe["mixer"]["routing_warmup"]["token_budget"] = 500
    trainer = recipe["trainer"]
    trainer["dense"]["pretrain"].update(steps=6, warmup_steps=1, checkpoint_every=6)
    for stage in ("expert_induction", "routing_warmup", "integration"):
        trainer["innovator"][stage].update(steps=3, warmup_steps=1, checkpoint_every=3)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("report")
    env = {**os.environ, "RAY_ADDRESS": "", "OMP_NUM_THREADS": "1"}
    every = ["curation", "classification", "mixing", "training"]
    for name, ratio, phases in (("a", 0.4, every), ("b", 0.2, every[:3])):  # B: the comparison needs no training
        result = subprocess.run([SCILOOM, "run", str(_recipe(folder, name, ratio, phases))], capture_output=True,
                                text=True, timeout=1500, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"report:         {folder / name / 'report.html'}" in result.stdout + result.stderr
    return folder / "a", folder / "b"


class _Page(HTMLParser):
    """Sections with the number of drawn chart elements inside them, and every address the page refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.marks: dict[str, int] = {}
        self.tables: dict[str, int] = {}
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.section = values.get("id")
            self.marks[self.section] = self.tables[self.section] = 0
        elif self.section and tag in ("rect", "polyline"):
            self.marks[self.section] += 1
        elif self.section and tag == "table":
            self.tables[self.section] += 1
        self.addresses += [v for k, v in attrs if k in ("src", "href") and v]


def _chromium(html: Path, out: Path) -> tuple[str, list[str]]:
    """(rendered DOM, console messages); a screenshot is written next to `out` as the test's artefact."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={out.parent / 'chromium-profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    shot = subprocess.run([CHROMIUM, *flags, "--window-size=1200,4000", f"--screenshot={out}", html.as_uri()],
                          capture_output=True, text=True, timeout=120)
    console = [line for line in dom.stderr.splitlines() + shot.stderr.splitlines() if ":CONSOLE" in line]
    return dom.stdout, console


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_renders_every_section_offline_in_chromium(runs: tuple[Path, Path], tmp_path: Path) -> None:
    report = runs[0] / "report.html"
    dom, console = _chromium(report, tmp_path / "report.png")
    assert console == [], console
    assert (tmp_path / "report.png").stat().st_size > 50_000
    parsed = _Page()
    parsed.feed(dom)
    assert list(parsed.marks) == list(SECTIONS)
    for section in SECTIONS:
        assert parsed.marks[section] + parsed.tables[section] > 0, section
    for section in ("funnel", "dedup", "labels", "mixture", "training"):
        assert parsed.marks[section] >= 3, (section, parsed.marks)  # bars, lines or cells were drawn
    assert all(address.startswith("#") for address in parsed.addresses), parsed.addresses
    # The mixture section lists every planned bucket's repeats (the table used to read a key the plan does not
    # have, and stayed empty) and what the planner changed in the request (shrunk, dropped, grown streams).
    plan = json.loads((runs[0] / "mixer" / "plan.json").read_text())
    for stream in plan["streams"]:
        for b in stream["buckets"]:
            assert f"{b['source']} / {b['discipline']} / {b['tier']}" in dom, (stream["folder"], b)
    # The labels section says where the demo's quantile tiers were cut.
    quantiles = json.loads((runs[0] / "classifiers" / "classifiers_report.json").read_text())["quantile_tiers"]
    assert f"high from a combined score of {quantiles['high_min']:.4f}" in dom
    notes = json.loads((runs[0] / "mixer" / "mixer_report.json").read_text())["plan_notes"]
    assert notes and all(html_lib.escape(note, quote=False) in dom for note in notes)
    # The check can fail: the same browser run on a page that asks for a remote image logs it.
    bad = tmp_path / "bad.html"
    bad.write_text(report.read_text().replace("</body>", '<img src="http://192.0.2.1/x.png"></body>'))
    assert any("192.0.2.1" in line for line in _chromium(bad, tmp_path / "bad.png")[1])


def test_comparison_has_a_difference_column_that_matches_both_runs(runs: tuple[Path, Path], tmp_path: Path) -> None:
    import json

    out = tmp_path / "compare.html"
    result = subprocess.run([SCILOOM, "report", str(runs[0]), str(runs[1]), "--out", str(out)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    a, b = (json.loads((run / "run_report.json").read_text())["mixing"]["streams"]["integration"] for run in runs)
    row = re.search(r"<tr><td>integration: general target</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", html)
    assert row and [float(x) for x in row.groups()] == pytest.approx([0.4, 0.2, -0.2], abs=1e-3)
    achieved = re.search(r"<tr><td>integration: general achieved</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>",
                         html)
    expected = [a["achieved"]["general"], b["achieved"]["general"], b["achieved"]["general"] - a["achieved"]["general"]]
    assert achieved and [float(x) for x in achieved.groups()] == pytest.approx(expected, abs=1e-3)
    assert "B − A" in html
