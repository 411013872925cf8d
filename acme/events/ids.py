"""Deterministic event ids: the same fact always gets the same CloudEvent id.

JetStream drops a republished message with a known id inside its duplicate window, and
consumers (audit) are idempotent on the id, so a redelivered object, a replayed tick or a run
re-published after a crash emits nothing new.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("8f0b5c1e-4c1a-4b5e-9a55-0c8e1d1e7a01")


def fact_id(*parts: str) -> str:
    """A UUID derived from ``parts`` (e.g. the event kind and the UIDs it is about)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))
