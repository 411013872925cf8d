"""What a CloudEvent function learns of a delivery besides the event."""

from __future__ import annotations

from datetime import UTC, datetime

import flask
import psycopg
import pytest

from acme.auth import DeliverySigner, ensure_delivery_key
from acme.errors import ConfigError
from acme.events import EventType, Tick, new_event, to_binary_http
from acme.function import Context, Delivery, _ProcessContext, receive
from acme.settings import Settings, load_settings
from acme.stack.ports import free_port


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


def test_a_delivery_reaches_the_handler_with_its_attempt(settings: Settings) -> None:
    ensure_delivery_key(settings)
    router = DeliverySigner.from_settings(settings, subject="acme-runtime")
    seen: list[Delivery] = []
    process = _ProcessContext("probe")
    process._settings = settings  # what load_settings() would read in the function's process
    ctx = Context.open("probe", settings)
    process._context = ctx
    try:
        event = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=1), source="/t")
        headers, body = to_binary_http(event)
        headers |= {"Authorization": f"Bearer {router.token('acme/functions/probe')}",
                    "Acme-Delivery-Attempt": "2", "Acme-Delivery-Attempts": "6"}  # fmt: skip
        with flask.Flask("t").test_request_context("/", method="POST", headers=headers, data=body):
            answer = receive(lambda _ctx, ev: seen.append(ev.delivery), process, flask.request)
        assert (answer.status_code, answer.content_length) == (200, 0)
        assert seen == [Delivery(attempt=2, attempts=6)]
    finally:
        ctx.close()


def test_a_context_that_cannot_open_closes_what_it_opened(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{free_port('127.0.0.1')}/0",
            "startup_timeout": 1.0,
        }
    )
    with pytest.raises(ConfigError, match="ACME_REDIS_URL"):
        Context.open("leak-probe", unreachable)
    with psycopg.connect(str(settings.database_url)) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leak-probe'"
        ).fetchone()
    assert left == (0,)  # the pool opened before Redis failed is closed again
