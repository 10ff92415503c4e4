"""The S3 server that the object-store tests start: moto's, a real server process on loopback, with one bucket.

A module of its own (test modules import its names; `conftest` is not importable by name: every test folder has one).
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

S3_BUCKET = "sciloom-test"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def running_s3_server() -> Iterator[str]:
    """Starts the server on a free loopback port, creates the bucket and sets the keys in this process's environment,
    yields its endpoint URL; then stops that process only."""
    import boto3
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "moto_server exited at start"
                time.sleep(0.1)
        with pytest.MonkeyPatch.context() as environment:
            for key, value in S3_CREDENTIALS.items():
                environment.setenv(key, value)
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=S3_BUCKET)
            yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)
