"""Connecting to Ray: embedded on one machine by default, a cluster when an address is given."""
from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import ray

T = TypeVar("T")

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


def map_in_order(fn: Callable[..., T], items: Iterable[tuple[Any, ...]], *, num_cpus: float = 1,
                 max_in_flight: int | None = None) -> Iterator[T]:
    """`fn(*args)` for each args tuple of `items`, as Ray tasks, yielded in the order of `items`.

    For small per-task results merged by the driver (counts, not documents). At most `max_in_flight` tasks (default
    twice the cluster's CPUs) are submitted or waiting to be yielded at a time, so neither the driver's memory nor
    Ray's task table grows with the number of items; a task's exception is raised here.
    """
    remote = ray.remote(num_cpus=num_cpus, max_retries=3)(fn)
    limit = max_in_flight or max(1, 2 * int(ray.cluster_resources().get("CPU", 1) / num_cpus))
    queue = enumerate(items)
    in_flight: dict[ray.ObjectRef, int] = {}
    finished: dict[int, T] = {}
    next_index = 0
    while True:
        for index, args in itertools.islice(queue, max(0, limit - len(in_flight) - len(finished))):
            in_flight[remote.remote(*args)] = index
        if not in_flight and not finished:
            return
        if in_flight:
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                finished[in_flight.pop(ref)] = ray.get(ref)
        while next_index in finished:
            yield finished.pop(next_index)
            next_index += 1
