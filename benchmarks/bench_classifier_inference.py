"""Level-2 inference throughput per core (documents/s): sciloom's labeller vs plain per-document fastText.

- sciloom: `Labeller.annotate` in batches: tokenisation, discipline model (all label probabilities,
  calibrated), quality model, science score and tier, for every document.
- fastText per doc: the same discipline model's `predict(text, k=-1)` on each raw document (newlines
  replaced), discipline only, no quality model. This is exactly the call datatrove's
  `FastTextClassifierFilter` makes per document (its DOCUMENT mode); the filter itself cannot be
  constructed here because it requires the `fasteners` package, which the project does not install.
All run in this one process (one core); documents are real: BBC news, S2ORC abstracts, unarXive papers
(whole papers, so long documents are read from their windows), and BBC news alone.
The models are the shipped defaults (classifiers.default_models); without them, models bootstrapped from the
seed corpus (said in the output).

Run: .venv/bin/python benchmarks/bench_classifier_inference.py [--docs 3000] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sciloom.classifiers.bootstrap import bootstrap_models, seed_corpus  # noqa: E402
from sciloom.classifiers.config import ClassifiersConfig  # noqa: E402
from sciloom.classifiers.default_models import packaged_models  # noqa: E402
from sciloom.classifiers.label_step import Labeller  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def bbc_documents() -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted((DATA / "general/bbc-news").glob("*/*.txt"))]


def real_documents(limit: int) -> list[str]:
    texts = bbc_documents()
    with open(DATA / "disciplines/s2orc-metadata-sample/metadata_sample_v2020-07-05.jsonl") as f:
        texts += [f"{p['title']}\n{p['abstract']}" for p in map(json.loads, f) if p.get("abstract")]
    with open(DATA / "disciplines/unarxive-sample/unarXive_data_sample/arXiv_src_2212_086.jsonl") as f:
        texts += [" ".join(s["text"] for s in json.loads(line)["body_text"]) for line in f]
    # interleave sources so any prefix is a mix
    texts = [texts[i] for i in sorted(range(len(texts)), key=lambda i: (i * 2654435761) % 2**32)]
    return (texts * (limit // len(texts) + 1))[:limit]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--smoke", action="store_true", help="200 documents, one timing: seconds")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: real data not found at {DATA}")
        return
    docs = 200 if args.smoke else args.docs
    repeats = 1 if args.smoke else 2
    texts = real_documents(docs)
    bbc = (bbc_documents() * (docs // 2225 + 1))[:docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    config = ClassifiersConfig()
    with tempfile.TemporaryDirectory() as tmp:
        models = packaged_models(config.taxonomy)
        if models is None:
            models = Path(tmp)
            bootstrap_models(seed_corpus(config), config, models)
        labeller = Labeller(models, config)
        model = labeller.discipline.model

        def label(docs: list[str]) -> None:
            for i in range(0, len(docs), config.batch_size):
                labeller.annotate([{"text": t} for t in docs[i:i + config.batch_size]])

        def ours() -> None:
            label(texts)

        def ours_bbc() -> None:
            label(bbc)

        def plain() -> None:
            for t in texts:
                model.predict(t.replace("\n", " "), k=-1)

        results = {}
        for name, fn in (("sciloom_labeller", ours), ("fasttext_per_doc", plain)):
            fn_time = min(timed(fn) for _ in range(repeats))
            results[name] = {"docs_per_s": round(len(texts) / fn_time, 1), "mb_per_s": round(mb / fn_time, 2)}
        # Per core: this process's CPU seconds, so other jobs on a shared machine do not count against it.
        cpu = min(cpu_timed(ours_bbc) for _ in range(repeats))
        results["sciloom_labeller_bbc"] = {"docs_per_s": round(len(bbc) / min(timed(ours_bbc) for _ in range(repeats)), 1),
                                           "docs_per_cpu_s": round(len(bbc) / cpu, 1)}
        shipped = models != Path(tmp)
    print(json.dumps({"docs": len(texts), "mb": round(mb, 2), "models": "shipped defaults" if shipped else
                      "seed bootstrap (no shipped models)", "max_tokens": labeller.discipline.info.max_tokens,
                      "windows": labeller.discipline.info.windows, **results}, indent=2))
    ours_rate = results["sciloom_labeller"]["docs_per_s"]
    print(f"ratio sciloom / fastText per doc: {ours_rate / results['fasttext_per_doc']['docs_per_s']:.2f}x "
          f"(sciloom runs two models and reads at most {labeller.discipline.info.max_tokens} tokens per doc)")


if __name__ == "__main__":
    main()
