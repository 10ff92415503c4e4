"""Fixtures for the level-2 classifier tests: small fastText settings and one bootstrapped model folder."""
from __future__ import annotations

from pathlib import Path

import pytest
from label_corpus import make_documents

from sciloom.classifiers.bootstrap import bootstrap_models
from sciloom.classifiers.config import BootstrapConfig, ClassifiersConfig, FastTextParams


@pytest.fixture(scope="session")
def small_config() -> ClassifiersConfig:
    """Tiny fastText models (a few hundred KB) that still separate the test corpus."""
    return ClassifiersConfig(
        fasttext=FastTextParams(dim=16, max_epoch=60, bucket=20_000, max_tokens=300),
        bootstrap=BootstrapConfig(min_hits=2.0, min_tokens=10, seed_docs_per_class=3),
        batch_size=16,
    )


@pytest.fixture(scope="session")
def bootstrapped_models(tmp_path_factory: pytest.TempPathFactory, small_config: ClassifiersConfig) -> Path:
    """Models bootstrapped (no labels used) from the hand-written corpus plus boilerplate documents."""
    folder = tmp_path_factory.mktemp("bootstrapped")
    docs = [{"id": d["id"], "text": d["text"]} for d in make_documents(12, seed=1, with_boilerplate=15)]
    bootstrap_models(docs, small_config, folder)
    return folder


@pytest.fixture
def no_packaged_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the package shipped no default models (or the taxonomy were custom): the seed bootstrap path."""
    import sciloom.classifiers.default_models as default_models

    monkeypatch.setattr(default_models, "PACKAGED_DIR", tmp_path / "no-packaged-models")
