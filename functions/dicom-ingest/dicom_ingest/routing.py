"""Routing rules: which pipeline a completed series goes to, decided on its DICOM tags.

Rules are data, never code (no ``eval``): each rule is a list of conditions ``(tag, op,
value)`` that must all hold; the first matching rule names the pipeline, and a series no rule
matches goes to ``default_pipeline``. The same file sets, per modality, how long a series must
go without a new instance before it counts as complete (its *stable age*).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from acme.errors import ConfigError
from acme.events.values import Pipeline
from acme.function import Context

Tag = Literal[
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "SeriesDescription",
    "StudyDescription",
    "ImageType",
    "SOPClassUID",
]

ROUTING_TAGS: tuple[str, ...] = get_args(Tag)
"""The tags a rule may test; ingest records them for every series from its first instance."""


class Condition(BaseModel):
    """One test on one tag. String comparisons ignore case and surrounding blanks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: Tag
    op: Literal["equals", "in", "contains", "present", "absent"]
    value: str | list[str] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Self:
        if self.op in ("present", "absent"):
            if self.value is not None:
                raise ValueError(f"op {self.op!r} takes no value")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("op 'in' needs a non-empty list of values")
        elif not isinstance(self.value, str) or not self.value:
            raise ValueError(f"op {self.op!r} needs one non-empty string value")
        return self

    def holds(self, tags: Mapping[str, str]) -> bool:
        actual = tags.get(self.tag, "").strip().upper()
        if self.op == "present":
            return bool(actual)
        if self.op == "absent":
            return not actual
        if self.op == "in":
            assert isinstance(self.value, list)
            return actual in {v.strip().upper() for v in self.value}
        assert isinstance(self.value, str)
        wanted = self.value.strip().upper()
        return actual == wanted if self.op == "equals" else wanted in actual


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9-]*$")
    pipeline: Pipeline
    when: tuple[Condition, ...] = Field(min_length=1)

    def matches(self, tags: Mapping[str, str]) -> bool:
        return all(condition.holds(tags) for condition in self.when)


class RoutingConfig(BaseModel):
    """The routing file (``routing.yml`` beside the function, or ``ACME_ROUTING_FILE``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stable_age_seconds: dict[str, float] = Field(
        description="Per modality (upper case), and 'default' for the rest."
    )
    default_pipeline: Pipeline = "none"
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if "default" not in self.stable_age_seconds:
            raise ValueError("stable_age_seconds needs a 'default' entry")
        if any(age <= 0 for age in self.stable_age_seconds.values()):
            raise ValueError("stable ages must be positive numbers of seconds")
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError("rule names must be unique")
        return self

    def stable_age(self, modality: str) -> float:
        return self.stable_age_seconds.get(modality.upper(), self.stable_age_seconds["default"])

    def route(self, tags: Mapping[str, str]) -> tuple[Pipeline, str | None]:
        """The pipeline for a series with ``tags``, and the name of the rule that chose it."""
        for rule in self.rules:
            if rule.matches(tags):
                return rule.pipeline, rule.name
        return self.default_pipeline, None


DEFAULT_ROUTING = Path(__file__).resolve().parents[1] / "routing.yml"


def routing_of(ctx: Context) -> RoutingConfig:
    """The routing rules this function runs with: ``ACME_ROUTING_FILE``, else routing.yml."""
    return load_routing(ctx.settings.routing_file or DEFAULT_ROUTING)


def load_routing(path: Path, setting: str = "ACME_ROUTING_FILE") -> RoutingConfig:
    """Read and validate a routing file; errors name the file, the field and the problem."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(setting, f"{path}: cannot read routing rules ({exc})") from None
    try:
        return RoutingConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(setting, f"{path}: {where}: {first['msg']}") from None
