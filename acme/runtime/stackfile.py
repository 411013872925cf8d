"""The stack file (``stack.yml``, OpenFaaS format): the single source of truth for functions.

Each function entry holds what OpenFaaS knows (``lang``, ``handler``, ``image``,
``environment``, ``labels``, ``annotations``, ``limits``, ``requests``) and what this platform
adds, encoded as annotations (docs/decisions/0030-stack-file.md)::

    com.acme.signature: cloudevent              # or http (functions-framework signature type)
    com.acme.target: handler                    # function in main.py; default "handler"
    com.acme.concurrency: "4"                   # requests one replica serves at once (cluster)
    com.acme.trigger.<name>: "type=org.acme.imaging.series.completed,pipeline=cxr"
    com.acme.trigger.<name>.retry: "3"          # retries after the first delivery
    com.acme.trigger.<name>.backoff: "2s"       # first retry delay, doubled each time
    com.acme.trigger.<name>.timeout: "5m"       # one delivery's time limit
    com.acme.trigger.<name>.concurrency: "8"    # deliveries in flight at once
    topic: acme.events.org.acme.imaging.series.completed   # OpenFaaS nats-connector only

A type ending in ``*`` matches by prefix; other attributes must be equal. Scaling uses
OpenFaaS's labels (``com.openfaas.scale.zero``, ``.zero-duration``, ``.min``, ``.max``). Any
mistake is reported as ``stack.yml: functions.<name>.<field>: <what was expected>, got <value>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from acme.errors import AcmeError

__all__ = [
    "Annotations",
    "EventFilter",
    "FunctionSpec",
    "Labels",
    "Resources",
    "Stack",
    "StackFile",
    "StackFileError",
    "Trigger",
    "load_stack",
    "parse_duration",
]

Signature = Literal["cloudevent", "http"]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
TRIGGER_PREFIX = "com.acme.trigger."
TRIGGER_SETTINGS = ("retry", "backoff", "timeout", "concurrency")
SCALE_LABELS = ("zero", "zero-duration", "min", "max", "target", "type", "target-proportion")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_ATTRIBUTE = re.compile(r"^[a-z0-9]{1,20}$")
DEFAULT_CONCURRENCY = 4
"""Requests one replica of a function serves at once unless ``com.acme.concurrency`` says."""


class StackFileError(AcmeError):
    """The stack file is missing, is not YAML, or holds a mistake; the message names where."""


def parse_duration(value: object) -> float:
    """Seconds in a Go-style duration (``500ms``, ``30s``, ``5m``, ``1h30m``), as OpenFaaS uses."""
    text = value.strip() if isinstance(value, str) else ""
    parts = _DURATION_PART.findall(text)
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not parts or "".join(n + u for n, u in parts) != text or seconds <= 0:
        raise PydanticCustomError(
            "duration", "expected a duration like 30s or 5m, got {got}", {"got": repr(value)}
        )
    return seconds


def _dns_label(value: object) -> object:
    if isinstance(value, str) and not _DNS_LABEL.match(value):
        raise PydanticCustomError(
            "name", "expected a name of lower-case letters, digits and '-' (at most 63), "
            "got {got}", {"got": repr(value)},
        )  # fmt: skip
    return value


def _number_as_text(value: object) -> object:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Duration = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, BeforeValidator(_dns_label)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
_MEMORY = r"^\d+(\.\d+)?([KMGT]i?|k)?$"
Memory = Annotated[str, BeforeValidator(_number_as_text), StringConstraints(pattern=_MEMORY)]
_CPU = r"^\d+(\.\d+)?m?$"
Cpu = Annotated[str, BeforeValidator(_number_as_text), StringConstraints(pattern=_CPU)]


def _stringify(value: object) -> object:
    """YAML scalars in a string map as faas-cli reads them (``true`` → ``"true"``, 3 → ``"3"``)."""
    if not isinstance(value, Mapping):
        return value
    out: dict[object, object] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            out[key] = "true" if item else "false"
        elif isinstance(item, int | float):
            out[key] = str(item)
        else:
            out[key] = item
    return out


def _error(loc: tuple[str, ...], kind: str, message: str, *got: object) -> InitErrorDetails:
    """A validation error at ``loc``; with ``got``, the message ends with the wrong value."""
    if not got:
        return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=None)
    return InitErrorDetails(
        type=PydanticCustomError(kind, message + ", got {got}", {"got": repr(got[0])}),
        loc=loc,
        input=got[0],
    )


class EventFilter(BaseModel):
    """One CloudEvent attribute a trigger requires: equal to ``value``, or starting with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str
    value: str
    prefix: bool = False

    def matches(self, attributes: Mapping[str, str]) -> bool:
        actual = attributes.get(self.attribute)
        if actual is None:
            return False
        return actual.startswith(self.value) if self.prefix else actual == self.value

    def __str__(self) -> str:
        return f"{self.attribute}={self.value}{'*' if self.prefix else ''}"


def _parse_filters(value: object) -> object:
    if not isinstance(value, str):
        return value
    filters: list[EventFilter] = []
    for part in (p.strip() for p in value.split(",")):
        attribute, sep, wanted = part.partition("=")
        attribute, wanted = attribute.strip(), wanted.strip()
        if not sep or not _ATTRIBUTE.match(attribute) or not wanted:
            raise PydanticCustomError(
                "trigger_filter",
                "expected attribute=value pairs separated by commas (lower-case attribute "
                "names), e.g. type=org.acme.imaging.series.completed,pipeline=cxr, got {got}",
                {"got": repr(value)},
            )
        if "*" in wanted[:-1] or (wanted.endswith("*") and attribute != "type"):
            raise PydanticCustomError(
                "trigger_filter", "'*' may only end the type (a prefix match), got {got}",
                {"got": repr(value)},
            )  # fmt: skip
        if any(f.attribute == attribute for f in filters):
            raise PydanticCustomError(
                "trigger_filter", "attribute {attr} is filtered twice, got {got}",
                {"attr": repr(attribute), "got": repr(value)},
            )  # fmt: skip
        prefix = wanted.endswith("*")
        filters.append(EventFilter(attribute=attribute, value=wanted.rstrip("*"), prefix=prefix))
    if not any(f.attribute == "type" for f in filters):
        raise PydanticCustomError(
            "trigger_filter", "a trigger must filter on type=..., got {got}", {"got": repr(value)}
        )
    return tuple(filters)


class Trigger(BaseModel):
    """Which events a function receives (Knative Trigger semantics) and how they are retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    filters: Annotated[tuple[EventFilter, ...], BeforeValidator(_parse_filters)]
    retry: int = Field(5, ge=0, le=100, description="Retries after the first delivery attempt.")
    backoff: Duration = Field(1.0, description="Delay before the first retry; doubles each time.")
    timeout: Duration = Field(60.0, description="Time limit of one delivery attempt.")
    concurrency: int | None = Field(
        None, ge=1, le=1000,
        description="Deliveries in flight at once; unset: the function's com.acme.concurrency.",
    )  # fmt: skip

    @property
    def event_type(self) -> str:
        """The filtered type as written (``com.amazonaws.s3.ObjectCreated:*`` for a prefix)."""
        return next(str(f).split("=", 1)[1] for f in self.filters if f.attribute == "type")

    @property
    def attributes(self) -> dict[str, str]:
        """The extension attributes (e.g. ``pipeline``) that must equal the given value."""
        return {f.attribute: f.value for f in self.filters if f.attribute != "type"}

    def matches(self, attributes: Mapping[str, str]) -> bool:
        """True when an event with these context attributes passes every filter."""
        return all(f.matches(attributes) for f in self.filters)


def _triggers_from(annotations: dict[str, object]) -> tuple[list[Trigger], list[InitErrorDetails]]:
    """Group the ``com.acme.trigger.<name>[.setting]`` keys into validated triggers."""
    raw: dict[str, dict[str, object]] = {}
    keys: dict[tuple[str, str], str] = {}
    errors: list[InitErrorDetails] = []
    for key in [k for k in annotations if k == TRIGGER_PREFIX[:-1] or k.startswith(TRIGGER_PREFIX)]:
        value = annotations.pop(key)
        parts = key[len(TRIGGER_PREFIX) :].split(".")
        if not parts[0] or len(parts) > 2 or (len(parts) == 2 and parts[1] not in TRIGGER_SETTINGS):
            expected = (
                "com.acme.trigger.<name> or "
                "com.acme.trigger.<name>.retry|backoff|timeout|concurrency"
            )
            errors.append(_error((key,), "trigger_key", f"unknown key; expected {expected}"))
            continue
        field = "filters" if len(parts) == 1 else parts[1]
        raw.setdefault(parts[0], {"name": parts[0]})[field] = value
        keys[(parts[0], field)] = key
    triggers: list[Trigger] = []
    for name, fields in raw.items():
        if "filters" not in fields:
            message = "settings are given for this trigger but not its filter (type=...)"
            errors.append(_error((f"{TRIGGER_PREFIX}{name}",), "trigger_missing", message))
            continue
        try:
            triggers.append(Trigger.model_validate(fields))
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "filters"
                key = keys.get((name, field), f"{TRIGGER_PREFIX}{name}")
                errors.append(InitErrorDetails(
                    type=PydanticCustomError(err["type"], err["msg"]), loc=(key,),
                    input=err["input"],
                ))  # fmt: skip
    return triggers, errors


class Annotations(BaseModel):
    """A function's annotations: how to run it and which events trigger it.

    Keys outside the ``com.acme.`` namespace (other than ``topic``) are kept as they are.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, str] = Field(init=False)

    signature: Signature = Field(alias="com.acme.signature")
    target: Identifier = Field("handler", alias="com.acme.target")
    concurrency: int = Field(
        DEFAULT_CONCURRENCY,
        ge=1,
        le=1000,
        alias="com.acme.concurrency",
        description="Requests one replica serves at once, and the default of its triggers' "
        "concurrency: Knative containerConcurrency (at least every trigger's) and "
        "functions-framework's THREADS in the cluster.",
    )
    topic: tuple[str, ...] = Field((), alias="topic")
    triggers: tuple[Trigger, ...] = Field((), alias="com.acme.trigger")

    @model_validator(mode="before")
    @classmethod
    def _group_triggers(cls, data: object) -> object:
        data = _stringify(data)
        if not isinstance(data, Mapping):
            return data
        values = dict(data)
        if TRIGGER_PREFIX[:-1] in values:
            raise ValidationError.from_exception_data(cls.__name__, [_error(
                (TRIGGER_PREFIX[:-1],), "trigger_key", "a trigger needs a name: "
                "com.acme.trigger.<name>", values[TRIGGER_PREFIX[:-1]])])  # fmt: skip
        triggers, errors = _triggers_from(values)
        known = {"com.acme.signature", "com.acme.target", "com.acme.concurrency"}
        errors += [
            _error((key,), "unknown_annotation", "unknown annotation; known: com.acme.signature, "
                   "com.acme.target, com.acme.concurrency, "
                   "com.acme.trigger.<name>[.retry|.backoff|.timeout|.concurrency]")
            for key in values
            if isinstance(key, str) and key.startswith("com.acme.") and key not in known
        ]  # fmt: skip
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        values[TRIGGER_PREFIX[:-1]] = tuple(triggers)
        return values

    @field_validator("topic", mode="before")
    @classmethod
    def _subjects(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        subjects = tuple(s.strip() for s in value.split(","))
        for subject in subjects:
            tokens = subject.split(".")
            bad = any(not t or (("*" in t or ">" in t) and t not in {"*", ">"}) for t in tokens)
            if not subject or bad or ">" in tokens[:-1] or any(c.isspace() for c in subject):
                raise PydanticCustomError(
                    "topic", "expected NATS subjects separated by commas, got {got}",
                    {"got": repr(value)},
                )  # fmt: skip
        return subjects


class Labels(BaseModel):
    """OpenFaaS labels; the ``com.openfaas.scale.*`` ones are checked, others kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, str] = Field(init=False)

    scale_zero: bool = Field(False, alias="com.openfaas.scale.zero")
    zero_duration: Duration = Field(900.0, alias="com.openfaas.scale.zero-duration")
    scale_min: int = Field(1, ge=1, alias="com.openfaas.scale.min")
    scale_max: int = Field(20, ge=1, alias="com.openfaas.scale.max")

    @model_validator(mode="before")
    @classmethod
    def _known_scale_labels(cls, data: object) -> object:
        data = _stringify(data)
        if isinstance(data, Mapping):
            known = {f"com.openfaas.scale.{name}" for name in SCALE_LABELS}
            errors = [
                _error((key,), "unknown_label", "unknown scaling label; known: "
                       + ", ".join(sorted(known)))
                for key in data
                if isinstance(key, str) and key.startswith("com.openfaas.scale.")
                and key not in known
            ]  # fmt: skip
            if errors:
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return data

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Labels:
        if self.scale_min > self.scale_max:
            raise ValueError(
                f"com.openfaas.scale.min ({self.scale_min}) is above "
                f"com.openfaas.scale.max ({self.scale_max})"
            )
        return self


class Resources(BaseModel):
    """Resource limits or requests; ``nvidia.com/gpu`` is this platform's addition."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    memory: Memory | None = None
    cpu: Cpu | None = None
    gpu: int | None = Field(None, ge=0, alias="nvidia.com/gpu")


class FunctionSpec(BaseModel):
    """One function of the stack file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: Literal["python3-functions-framework"]
    handler: str = Field(description="Folder holding main.py, relative to the stack file.")
    image: Annotated[str, StringConstraints(pattern=r"^\S+$")]
    environment: dict[Identifier, str] = {}
    labels: Labels = Field(default_factory=lambda: Labels.model_validate({}))
    annotations: Annotations
    limits: Resources | None = None
    requests: Resources | None = None

    @field_validator("environment", mode="before")
    @classmethod
    def _env_scalars(cls, value: object) -> object:
        return _stringify(value)

    @field_validator("handler")
    @classmethod
    def _relative_folder(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value or path.is_absolute() or ".." in path.parts:
            raise ValueError(f"expected a folder relative to the stack file, got {value!r}")
        return value

    @model_validator(mode="after")
    def _triggers_need_cloudevents(self) -> FunctionSpec:
        if self.annotations.triggers and self.annotations.signature != "cloudevent":
            raise ValueError(
                "triggers deliver CloudEvents: set com.acme.signature to cloudevent, or move the "
                "triggers to a separate cloudevent entry sharing the handler folder"
            )
        return self

    @property
    def scale_to_zero(self) -> bool:
        return self.labels.scale_zero

    @property
    def signature(self) -> Signature:
        return self.annotations.signature

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        return self.annotations.triggers

    def in_flight(self, trigger: Trigger) -> int:
        """Deliveries of ``trigger`` in flight at once: its own setting, else the function's."""
        return trigger.concurrency or self.annotations.concurrency

    @property
    def container_concurrency(self) -> int:
        """Requests one replica must serve at once: the function's concurrency, raised to its
        busiest trigger's (Knative's ``containerConcurrency``)."""
        return max([self.annotations.concurrency, *map(self.in_flight, self.triggers)])


class Provider(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["openfaas"]
    gateway: str = "http://127.0.0.1:8080"


class StackFile(BaseModel):
    """The whole stack file as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal["1.0"]
    provider: Provider
    functions: dict[Name, FunctionSpec] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _yaml_float(cls, value: object) -> object:
        return str(value) if isinstance(value, float) else value


@dataclass(frozen=True)
class Stack:
    """A loaded stack file and the folder its handler paths are relative to."""

    path: Path
    file: StackFile

    @property
    def functions(self) -> Mapping[str, FunctionSpec]:
        return self.file.functions

    def source(self, name: str) -> Path:
        """The absolute handler folder of function ``name``."""
        return (self.path.resolve().parent / self.file.functions[name].handler).resolve()

    def missing(self) -> dict[str, Path]:
        """Functions whose handler folder has no ``main.py`` yet, with the folder."""
        return {
            name: self.source(name)
            for name in self.file.functions
            if not (self.source(name) / "main.py").is_file()
        }


def load_stack(path: Path, *, require_handlers: bool = False) -> Stack:
    """Read and validate a stack file; raise :class:`StackFileError` naming every mistake."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise StackFileError(f"{path}: cannot read the stack file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {exc}") from None
    try:
        stack = Stack(path, StackFile.model_validate(data))
    except ValidationError as exc:
        raise StackFileError(
            "\n".join(f"{path}: {_where(err['loc'])}{_message(err)}" for err in exc.errors())
        ) from None
    if require_handlers and (missing := stack.missing()):
        raise StackFileError("\n".join(
            f"{path}: functions.{name}.handler: no main.py in {folder}"
            for name, folder in missing.items()
        ))  # fmt: skip
    return stack


def _where(loc: tuple[str | int, ...]) -> str:
    parts = [str(p) for p in loc if p != "[key]"]
    return ".".join(parts) + ": " if parts else ""


def _message(err: Any) -> str:
    kind, msg, got = err["type"], str(err["msg"]), err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind.startswith("value_error"):
        return msg.removeprefix("Value error, ")
    if "got " in msg or not isinstance(got, str | int | float | bool):
        return msg
    return f"{msg}, got {got!r}"
