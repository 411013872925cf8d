"""Durations in the spellings Knative reads: ISO-8601 for Eventing, Go's for Serving."""

from __future__ import annotations

import math

__all__ = ["go_duration", "iso8601", "whole_seconds"]


def whole_seconds(seconds: float) -> int:
    """``seconds`` rounded up to a whole second (at least 1)."""
    return max(1, math.ceil(seconds))


def iso8601(seconds: float) -> str:
    """``PT1S``, ``PT0.5S``, ``PT2M``, ``PT1H30M``: Eventing's ``backoffDelay`` and ``timeout``."""
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {seconds}")
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    parts = [f"{hours}H" if hours else "", f"{minutes}M" if minutes else ""]
    if rest:
        whole, fraction = divmod(rest, 1000)
        parts.append(f"{whole}.{fraction:03d}".rstrip("0") + "S" if fraction else f"{whole}S")
    return "PT" + "".join(parts)


def go_duration(seconds: float) -> str:
    """``30s``, ``5m``, ``1h``: Serving's ``scale-down-delay`` and similar annotations."""
    whole = whole_seconds(seconds)
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"
