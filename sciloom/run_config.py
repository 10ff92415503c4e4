"""The `run` section of a recipe: where outputs go (and are published) and which Ray to use."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import fsspec
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Phase = Literal["curation", "classification", "mixing", "training"]
ALL_PHASES: tuple[Phase, ...] = ("curation", "classification", "mixing", "training")
# Each phase after the first reads what the phase before it wrote.
EARLIER_PHASE: dict[Phase, Phase] = {"classification": "curation", "mixing": "classification", "training": "mixing"}


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
    reuse_from: Path | None = Field(None, description=(
        "Another run's output_dir: a phase whose earlier phase is not in run.phases reads that run's outputs "
        "instead of this run's, which stay untouched, e.g. phases [mixing, training] over another run's labels to "
        "try a mixture without curating and labelling again; default: this run's own folder."))
    publish_to: str | None = Field(None, description="fsspec URL (e.g. 's3://bucket/runs/name') that receives each "
                                                     "finished phase's outputs under the same relative paths, "
                                                     "committed without rename (sciloom/publish.py).")
    publish_options: dict[str, Any] = Field(default_factory=dict,
                                            description="fsspec storage options for publish_to (e.g. endpoint_url); "
                                                        "credentials are better left to the environment.")

    @field_validator("publish_to")
    @classmethod
    def _known_protocol(cls, url: str | None) -> str | None:
        if url is None:
            return None
        protocol = fsspec.core.split_protocol(url)[0] or "file"
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise ValueError(f"'{protocol}://' is not a storage protocol fsspec knows") from None
        except ImportError as error:
            raise ValueError(f"'{protocol}://' needs a package that is not installed ({error}); for s3:// install "
                             "s3fs, e.g. `pip install 'sciloom[s3]'`") from None
        return url

    @model_validator(mode="after")
    def _reuse_needs_a_reader(self) -> RunConfig:
        if self.reuse_from is not None and self.reuse_from.resolve() == self.output_dir.resolve():
            raise ValueError("run.reuse_from is run.output_dir: a run reads its own earlier outputs without it; "
                             "drop run.reuse_from, or give this run another output_dir")
        if self.reuse_from is not None and not self.phases_reusing():
            raise ValueError("run.reuse_from: no phase would read it (each phase in run.phases runs after the one "
                             "it reads); drop the earlier phases from run.phases to reuse that run's outputs")
        return self

    def phases_reusing(self) -> list[Phase]:
        """The phases that read an earlier phase's outputs this run does not produce."""
        return [phase for phase in self.phases if phase in EARLIER_PHASE and EARLIER_PHASE[phase] not in self.phases]
