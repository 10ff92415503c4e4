"""Connecting to Ray: embedded on one machine by default, a cluster when an address is given."""
from __future__ import annotations

import os

import ray

AUTH_MODE_ENV = "RAY_AUTH_MODE"


class RayConnectionError(RuntimeError):
    """The cluster named by the recipe or --ray-address could not be joined (a user error, not a bug)."""


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start (or join) Ray once per process; a second call with Ray already up is a no-op."""
    if ray.is_initialized():
        return
    # --verbose: the workers' logs come to this console; otherwise they stay in Ray's session folder.
    log_to_driver = os.environ.get("SCILOOM_VERBOSE") == "1"
    if address:
        try:
            ray.init(address=address, log_to_driver=log_to_driver)
        except ConnectionError as error:
            raise RayConnectionError(_connection_advice(address, error)) from error
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=log_to_driver,
                 runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM", "false")}})


def _connection_advice(address: str, error: ConnectionError) -> str:
    # Ray only logs the cause (InvalidAuthToken) from C++; the exception says "failed to connect". Since Ray 2.5x
    # `ray start --head` turns token authentication on, so a driver without the token is the common case.
    mode = os.environ.get(AUTH_MODE_ENV)
    hint = ("the cluster uses token authentication (the default of `ray start --head` since Ray 2.5x) and this "
            f"process has {AUTH_MODE_ENV} {'unset' if mode is None else repr(mode)}: run with {AUTH_MODE_ENV}=token "
            "and the cluster's token in ~/.ray/auth_token (copied from the head node; `ray get-auth-token` prints it) "
            "or in RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH") if mode != "token" else (
            f"{AUTH_MODE_ENV}=token is set: check that the token (~/.ray/auth_token, RAY_AUTH_TOKEN or "
            "RAY_AUTH_TOKEN_PATH) is the head node's (`ray get-auth-token` on the head prints it)")
    return (f"could not connect to the Ray cluster at {address} ({error}). Is a head node running there "
            f"(`ray start --head --port ...`)? If it is, {hint}.")
