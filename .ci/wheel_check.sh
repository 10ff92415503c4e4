#!/usr/bin/env bash
# CI: the package as pip installs it. Build the wheel, install it into a fresh virtual environment (torch first and
# alone, then the wheel under the lock file's constraints), and run `sciloom --help` and the demo's curation phase
# from a folder outside the source tree, so that nothing can come from the checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
PIP="$WORK/venv/bin/pip"
$PIP install -q -U pip
$PIP wheel -q --no-deps -w "$WORK/dist" "$ROOT"
$PIP install -q torch==2.13.0
$PIP install -q -c "$ROOT/requirements.lock" "$WORK"/dist/sciloom-*.whl
cd "$WORK"
mkdir -p recipes/inputs
cp "$ROOT/recipes/inputs/sample_crawl.warc.gz" recipes/inputs/
# The demo recipe, curation phase only.
sed 's/^run:$/run:\n  phases: [curation]/' "$ROOT/recipes/demo.yaml" > recipes/demo_curation.yaml
"$WORK/venv/bin/sciloom" --help > /dev/null
# The shipped classifier models and seed vocabularies are package data: the installed package must find them.
"$WORK/venv/bin/python" -c "
from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.default_models import packaged_models
config = ClassifiersConfig()
assert packaged_models(config.taxonomy, config.bootstrap.seeds_dir) is not None, 'shipped models missing from the wheel'"
"$WORK/venv/bin/sciloom" run recipes/demo_curation.yaml
ls runs/demo/curation/curated/*.parquet > /dev/null
echo "wheel check: sciloom installed from its wheel ran the demo's curation phase"
