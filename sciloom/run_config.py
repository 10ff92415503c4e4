"""The `run` section of a recipe: where outputs go and which Ray to use."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal["curation", "classification", "mixing", "training"]
ALL_PHASES: tuple[Phase, ...] = ("curation", "classification", "mixing", "training")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name of the run, used in reports.")
    output_dir: Path = Field(description="Folder for every output of the run; relative paths resolve against the "
                                         "current directory. Rerunning with the same folder resumes.")
    ray_address: str | None = Field(None, description="Ray cluster address (e.g. 'ray://head:10001' or 'auto'); "
                                                      "empty starts Ray embedded in this process.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs for embedded Ray (default: all of this machine's).")
    seed: int = Field(0, description="Seed for every random choice of the run (sampling, shuffling, init).")
    phases: list[Phase] = Field(default_factory=lambda: list(ALL_PHASES),
                                description="Which phases to run, in data-flow order.")
