"""W3C Trace Context ``traceparent`` values, carried end to end as a CloudEvent extension.

docs/architecture.md §3 makes ``traceparent`` one of the extension attributes; its format is the
W3C Trace Context header (https://www.w3.org/TR/trace-context/#traceparent-header):
``<version>-<trace-id>-<parent-id>-<trace-flags>``, lower-case hex.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

from acme.errors import EventError

_TRACEPARENT: Final = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_traceparent(*, sampled: bool = True) -> str:
    """A fresh ``traceparent`` (version 00) starting a new trace."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{'01' if sampled else '00'}"


def is_traceparent(value: str) -> bool:
    """True when ``value`` is a valid W3C ``traceparent`` (version ff and all-zero ids are not)."""
    match = _TRACEPARENT.match(value)
    if match is None:
        return False
    version, trace_id, parent_id, _ = match.groups()
    return version != "ff" and trace_id != "0" * 32 and parent_id != "0" * 16


def check_traceparent(value: object) -> str:
    """Return ``value`` when it is a valid ``traceparent``, else raise :class:`EventError`."""
    if not isinstance(value, str) or not is_traceparent(value):
        raise EventError(
            f"traceparent: expected W3C trace context '00-<32 hex>-<16 hex>-<2 hex>', got {value!r}"
        )
    return value


def trace_id(traceparent: str) -> str:
    """The 32-hex trace id of a valid ``traceparent`` (the id logs are keyed by)."""
    return check_traceparent(traceparent).split("-")[1]
