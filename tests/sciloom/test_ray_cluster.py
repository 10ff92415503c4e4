"""A real two-node Ray cluster on loopback (two raylets, token authentication as `ray start` sets it up): the
curation, classification and mixing phases run on it write the same shards as an embedded run; a driver without
the cluster's token gets a one-line message that says how to pass it, not a traceback.

The nodes are started with `ray start --block` in their own sessions and stopped by killing exactly those process
groups: the test never calls `ray stop`, which would stop every Ray on the machine."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHARD_SUFFIXES = {".bin", ".idx", ".seg"}
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH") and k != "RAY_ADDRESS"}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


class Cluster:
    """A head on 127.0.0.1 and a worker node on 127.0.0.2, one CPU each."""

    def __init__(self) -> None:
        # Ray's socket paths must stay short: a folder directly under /tmp, not pytest's deep tmp_path.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="slr-", dir="/tmp"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = _clean_env(RAY_AUTH_MODE="token")
        self.nodes: list[subprocess.Popen] = []

    def start(self) -> None:
        common = ["--block", "--num-cpus=1", "--disable-usage-stats"]
        self._start_node([str(BIN / "ray"), "start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                          f"--temp-dir={self.temp_dir}", "--include-dashboard=false", *common])
        self._wait_for_nodes(1)
        self._start_node([str(BIN / "ray"), "start", f"--address={self.address}", "--node-ip-address=127.0.0.2",
                          *common])
        self._wait_for_nodes(2)

    def _start_node(self, command: list[str]) -> None:
        log = open(self.temp_dir / f"node-{len(self.nodes)}.log", "w")
        self.nodes.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def _wait_for_nodes(self, count: int, timeout: float = 120) -> None:
        probe = ("import ray; ray.init(address='%s', log_to_driver=False); "
                 "print(sum(1 for n in ray.nodes() if n['Alive']))" % self.address)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert all(node.poll() is None for node in self.nodes), self.logs()
            result = subprocess.run([sys.executable, "-c", probe], env=self.env, capture_output=True, text=True,
                                    timeout=60)
            if result.returncode == 0 and int(result.stdout.split()[-1]) >= count:
                return
            time.sleep(1)
        raise AssertionError(f"the cluster did not reach {count} nodes:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(path.read_text()[-2000:] for path in sorted(self.temp_dir.glob("node-*.log")))

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGTERM)
        for node in self.nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    if shutil.which("ray", path=str(BIN)) is None:
        pytest.skip(f"no `ray` command next to {sys.executable}")
    started = Cluster()
    try:
        started.start()
        yield started
    finally:
        started.stop()


def _recipe(folder: Path, name: str) -> Path:
    """The demo recipe without training, its input made absolute."""
    recipe = yaml.safe_load((REPO_ROOT / "recipes" / "demo.yaml").read_text())
    recipe["run"].update(name=name, output_dir=str(folder / name), phases=["curation", "classification", "mixing"])
    for spec in recipe["curation"]["inputs"]:
        spec["paths"] = [str(REPO_ROOT / path) for path in spec["paths"]]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _sciloom(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "sciloom"), *args], env=env, capture_output=True, text=True,
                          timeout=1200, cwd=REPO_ROOT)


def _shards(run_dir: Path) -> dict[str, str]:
    files = sorted(p for p in (run_dir / "mixer").rglob("*") if p.suffix in SHARD_SUFFIXES)
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_two_node_cluster_writes_the_shards_of_an_embedded_run(cluster: Cluster, tmp_path: Path) -> None:
    on_cluster = _sciloom(["run", str(_recipe(tmp_path, "cluster")), "--ray-address", cluster.address],
                          cluster.env)
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:] + cluster.logs()
    embedded = _sciloom(["run", str(_recipe(tmp_path, "embedded"))], _clean_env())
    assert embedded.returncode == 0, embedded.stderr[-3000:]
    shards = _shards(tmp_path / "cluster")
    assert shards and any(name.endswith(".bin") for name in shards)
    assert shards == _shards(tmp_path / "embedded")


def test_a_driver_without_the_token_is_told_how_to_pass_it(cluster: Cluster, tmp_path: Path) -> None:
    result = _sciloom(["run", str(_recipe(tmp_path, "no-token")), "--ray-address", cluster.address], _clean_env())
    assert result.returncode == 2, result.stderr[-3000:]
    message = [line for line in result.stderr.splitlines() if "could not connect to the Ray cluster" in line]
    assert len(message) == 1 and cluster.address in message[0] and "RAY_AUTH_MODE=token" in message[0]
    assert "Traceback" not in result.stderr
