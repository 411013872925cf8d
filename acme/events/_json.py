"""Reading untrusted JSON documents field by field, with errors that name the field's path.

Every accessor takes the enclosing object and the path to it (``Records[0].s3``) so an
:class:`~acme.errors.EventError` says exactly where a notification is malformed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from acme.errors import EventError

JsonObject = Mapping[str, Any]


def join(path: str, name: str | int) -> str:
    """``path`` extended by a member name or a list index."""
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def load_object(body: bytes | str | JsonObject, what: str = "body") -> JsonObject:
    """``body`` as a JSON object: decoded when it is text, checked when already decoded."""
    if isinstance(body, bytes | str):
        if not body:
            raise EventError(f"{what}: empty; expected a JSON object")
        try:
            body = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except UnicodeDecodeError:
            raise EventError(f"{what}: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise EventError(
                f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if not isinstance(body, Mapping):
        raise EventError(f"{what}: expected a JSON object, got {_kind(body)}")
    return body


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, int | float) else "value")


def _missing(path: str) -> EventError:
    return EventError(f"{path}: required field is missing")


def _wrong(path: str, expected: str, value: object) -> EventError:
    shown = repr(value) if len(repr(value)) <= 60 else f"{_kind(value)} {repr(value)[:57]}..."
    return EventError(f"{path}: expected {expected}, got {shown}")


def opt_str(obj: JsonObject, name: str, path: str) -> str | None:
    """A string member, None when absent, null or empty."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _wrong(join(path, name), "a string", value)
    return value


def req_str(obj: JsonObject, name: str, path: str) -> str:
    """A non-empty string member."""
    if name not in obj or obj[name] is None:
        raise _missing(join(path, name))
    value = opt_str(obj, name, path)
    if value is None:
        raise _wrong(join(path, name), "a non-empty string", obj[name])
    return value


def opt_int(obj: JsonObject, name: str, path: str) -> int | None:
    """A non-negative integer member, None when absent or null."""
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _wrong(join(path, name), "a non-negative integer", value)
    return value


def opt_obj(obj: JsonObject, name: str, path: str) -> JsonObject | None:
    """An object member, None when absent or null."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _wrong(join(path, name), "an object", value)
    return value


def req_obj(obj: JsonObject, name: str, path: str) -> JsonObject:
    """An object member that must be present."""
    value = opt_obj(obj, name, path)
    if value is None:
        raise _missing(join(path, name))
    return value


def req_objects(obj: JsonObject, name: str, path: str) -> list[JsonObject]:
    """An array member whose items are all objects."""
    if name not in obj:
        raise _missing(join(path, name))
    value = obj[name]
    if not isinstance(value, list):
        raise _wrong(join(path, name), "an array", value)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _wrong(join(join(path, name), index), "an object", item)
    return value
