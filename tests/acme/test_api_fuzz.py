"""Every HTTP function's OpenAPI document, fuzzed against the running platform.

schemathesis generates requests from each document (examples, coverage and fuzzing phases,
a fixed seed and a bounded number of examples) and sends them through the gateway with a
valid token. Every check must pass: no server error, only declared statuses with bodies and
media types that match the document, and no schema-valid request rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from acme_platform import REPO, running_platform
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from acme.auth import Role, mint_token
from acme.runtime import load_stack
from acme.settings import Settings
from acme.stack.state import read_state

SEED = 20261201
MAX_EXAMPLES = 15
STACK = load_stack(REPO / "stack.yml")
HTTP_FUNCTIONS = sorted(
    name
    for name, spec in STACK.functions.items()
    if spec.signature == "http" and (STACK.source(name) / "main.py").is_file()
)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    # the fuzzer sends many requests without a token on purpose: record them all
    with running_platform(home, extra={"ACME_AUDIT_ANONYMOUS_LIMIT": "100000"}) as settings:
        state = read_state(settings.home.resolve())
        assert state is not None and state.gateway_url
        yield settings, state.gateway_url


def _failures(document: dict[str, Any], base_url: str, token: str) -> list[str]:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": {"Authorization": f"Bearer {token}"},
            "request-timeout": 60,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                           "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    )  # fmt: skip
    schema = schemathesis.openapi.from_dict(document, config=config)
    found: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError):
            raise AssertionError(f"schemathesis could not run: {event.exception!r}")
        if isinstance(event, events.ScenarioFinished) and event.status == Status.FAILURE:
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        sample = check.failure_info.code_sample.replace("\n", " ")[:400]
                        found.append(f"{event.label}: {check.name}: {failure.title} "
                                     f"({failure.message[:300]}) [{sample}]")  # fmt: skip
    return sorted(set(found))


def test_every_http_function_is_fuzzed() -> None:
    assert {"audit", "report"} <= set(HTTP_FUNCTIONS)


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_the_openapi_document_holds_for_generated_requests(
    name: str, platform: tuple[Settings, str]
) -> None:
    settings, gateway = platform
    token = mint_token(settings, user="fuzzer", roles=[role.value for role in Role])
    answer = httpx.get(f"{gateway}/function/{name}/openapi.json", timeout=60)
    assert answer.status_code == 200
    failures = _failures(answer.json(), f"{gateway}/function/{name}", token)
    assert failures == [], "\n".join(failures)
