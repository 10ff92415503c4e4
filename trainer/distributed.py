"""Processes under torchrun: process group set-up and the facts the loop needs (rank, world size)."""
from __future__ import annotations

import atexit
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")
# Time for gloo's worker threads to free the last collectives before the interpreter exits
# (_leave_process_group).
_COLLECTIVES_FREED_SECONDS = 0.2


@dataclass(frozen=True)
class ParallelContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        """This process's GPU under torchrun, else the CPU."""
        return torch.device("cuda", self.local_rank) if torch.cuda.is_available() else torch.device("cpu")


def init_from_environment() -> ParallelContext:
    """Join the process group torchrun describes in the environment; a plain run is a world of one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return ParallelContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        # Every way out of the process (a finished run, an error) leaves the group before the interpreter
        # finalises; atexit handlers run first.
        atexit.register(_leave_process_group)
    return ParallelContext(rank=dist.get_rank(), world_size=dist.get_world_size(),
                           local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def computed_on_main(ctx: ParallelContext, compute: Callable[[], T]) -> T:
    """`compute()` run by rank 0 alone and its (picklable) result given to every rank: for what every rank would
    otherwise compute identically at a cost (e.g. hashing the model's weights)."""
    if ctx.world_size == 1:
        return compute()
    box = [compute() if ctx.is_main else None]
    dist.broadcast_object_list(box)
    return box[0]


def barrier(ctx: ParallelContext) -> None:
    if ctx.world_size > 1:
        dist.barrier()


def shut_down(ctx: ParallelContext) -> None:
    """Leave the process group together: every rank waits for the others before the group is destroyed."""
    if ctx.world_size > 1 and dist.is_initialized():
        dist.barrier()
        _leave_process_group()


def _leave_process_group() -> None:
    """Destroy the process group, then sleep a moment before the interpreter exits.

    Gloo's worker threads free a finished collective (and the tensors it held, which takes the GIL) after the
    caller's wait has returned, and a barrier holds the collectives before it until it is freed itself. A worker
    thread still freeing one while the interpreter finalises is killed taking the GIL, and the process aborts
    ("terminate called without an active exception") after all its work was done: 2 runs in 30 of the two-rank
    expert-parallel test ending as the training commands end, without leaving the group. The sleep hands the GIL
    to those threads."""
    if dist.is_initialized():
        dist.destroy_process_group()
        time.sleep(_COLLECTIVES_FREED_SECONDS)
