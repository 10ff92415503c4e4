"""Fixtures shared by the whole suite.

Environment variables are set at import time, before any test module imports torch, Triton, Ray or
Hugging Face libraries, because each of them reads its configuration once on import.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_SCRATCH = Path(tempfile.mkdtemp(prefix="sciloom-tests-"))
# Everything the session leaves outside pytest's tmp_path lives here and goes when the session ends (after Ray's
# own exit handler, registered later, has stopped its processes): Ray's session logs, Hugging Face's cache, and
# the temporary files of the processes the tests start (torchrun's torchelastic_* log folders, a benchmark's
# scratch folder), through TMPDIR. This process keeps /tmp (tempfile chose it above): pytest's tmp_path stays there.
atexit.register(lambda pid=os.getpid(): os.getpid() == pid and shutil.rmtree(_SCRATCH, ignore_errors=True))
(_SCRATCH / "tmp").mkdir()
os.environ["TMPDIR"] = str(_SCRATCH / "tmp")
# Triton only runs on this CPU in interpreter mode; it must be set before any @triton.jit executes.
os.environ.setdefault("TRITON_INTERPRET", "1")
# Nothing may reach a hub at run time; datatrove copies assets into $HF_HOME.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", str(_SCRATCH / "hf_home"))
os.environ.setdefault("RAY_TMPDIR", str(_SCRATCH / "ray"))
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data set beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real evaluation data not found at {SHARED_DATA} (clone with ../shared beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def benchmark():
    """`benchmark(name)`: the script benchmarks/<name>.py as a module (its document builders and evaluation
    helpers: tests judge the product on the same data the benchmarks report on), loaded once per session."""
    loaded: dict[str, object] = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def ray_session():
    """One embedded Ray for the whole session: ray.init costs about 5 s."""
    import ray

    if not ray.is_initialized():
        # Workers must import test modules too (tasks defined in tests): give them pytest's sys.path.
        pythonpath = os.pathsep.join(p for p in sys.path if p and Path(p).exists())
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "TOKENIZERS_PARALLELISM": "false"}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port, with one bucket (`s3_server.S3_BUCKET`) and its keys in this
    process's environment; stopped (that process only) afterwards."""
    from s3_server import running_s3_server

    yield from running_s3_server()
