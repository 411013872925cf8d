"""Durations as Knative reads them."""

from __future__ import annotations

import pytest

from acme.render import go_duration, iso8601


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "PT1S"), (0.5, "PT0.5S"), (0.1, "PT0.1S"), (120, "PT2M"), (5400, "PT1H30M"),
     (61.25, "PT1M1.25S"), (3600, "PT1H")],
)  # fmt: skip
def test_iso8601(seconds: float, text: str) -> None:
    assert iso8601(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(300, "5m"), (30, "30s"), (3600, "1h"), (0.2, "1s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_a_non_positive_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        iso8601(0)
