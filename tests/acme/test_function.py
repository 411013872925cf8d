"""What a CloudEvent function learns of a delivery besides the event."""

from __future__ import annotations

from acme.function import Delivery
from acme.settings import load_settings


def test_the_router_names_the_attempt_and_the_budget() -> None:
    settings = load_settings()
    third = Delivery.from_headers(
        {"acme-delivery-attempt": "3", "Acme-Delivery-Attempts": "4"}, settings
    )
    assert (third.attempt, third.attempts, third.last) == (3, 4, False)
    fourth = Delivery.from_headers(
        {"Acme-Delivery-Attempt": "4", "Acme-Delivery-Attempts": "4"}, settings
    )
    assert fourth.last


def test_without_headers_the_budget_comes_from_the_deployment() -> None:
    bare = Delivery.from_headers({}, load_settings())
    assert (bare.attempt, bare.attempts, bare.last) == (None, None, False)
    knative = Delivery.from_headers({}, load_settings(delivery_attempts=6))
    assert (knative.attempt, knative.attempts, knative.last) == (None, 6, False)


def test_nonsense_headers_count_as_absent() -> None:
    odd = Delivery.from_headers(
        {"Acme-Delivery-Attempt": "-1", "Acme-Delivery-Attempts": "many"}, load_settings()
    )
    assert (odd.attempt, odd.attempts) == (None, None)
