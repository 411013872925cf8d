"""Settings: read from ACME_* variables, errors name the variable, README lists them all."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from stackprocs import clean_env, run_acme

from acme.errors import ConfigError
from acme.settings import load_settings, settings_table, unknown_variables

README = Path(__file__).resolve().parents[2] / "README.md"


def test_reads_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_NATS_URL", "nats://nats.hospital.local:4222")
    monkeypatch.setenv("ACME_BUCKET_PREFIX", "site-a-")
    monkeypatch.setenv("K_SINK", "http://broker-ingress.knative-eventing.svc/acme/default")
    settings = load_settings()
    assert settings.nats_url == "nats://nats.hospital.local:4222"
    assert settings.buckets.inbox == "site-a-dicom-inbox"
    assert settings.k_sink == "http://broker-ingress.knative-eventing.svc/acme/default"
    assert settings.subject_for("org.acme.imaging.tick") == "acme.events.org.acme.imaging.tick"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACME_NATS_PORT", "four"),
        ("ACME_GATEWAY_PORT", "70000"),
        ("ACME_BUCKET_PREFIX", "Upper_Case"),
        ("ACME_STREAM", "has.dots"),
        ("ACME_LOG_LEVEL", "LOUD"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.setting == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_secret_is_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_S3_SECRET_KEY", "hunter2-very-secret")
    assert "hunter2-very-secret" not in repr(load_settings())


def test_readme_lists_every_setting() -> None:
    text = README.read_text()
    start = text.index("<!-- settings-table")
    end = text.index("<!-- /settings-table -->")
    block = text[text.index("\n", start) + 1 : end].strip()
    assert block == settings_table(), "README is stale: run `python -m acme.settings`"


def test_an_unknown_acme_variable_is_named_in_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACME_INFERENCE_DEVISE", "cpu")  # misspelt
    monkeypatch.setenv("ACME_K_SINK", "http://broker/acme")  # known, under its alias
    monkeypatch.setenv("ACME_LOG_LEVEL", "INFO")
    assert unknown_variables({"ACME_LOG_LEVEL": "", "ACME_NOPE": "", "PATH": ""}) == ["ACME_NOPE"]
    with caplog.at_level(logging.WARNING, logger="acme.settings"):
        load_settings()
    assert [r.getMessage() for r in caplog.records] == [
        "ACME_INFERENCE_DEVISE is set but no setting has that name; it is ignored (README.md "
        "lists the settings)"
    ]


def test_the_command_line_warns_about_an_unknown_variable_on_stderr(tmp_path: Path) -> None:
    env = clean_env(ACME_HOME=str(tmp_path), ACME_TICK_SECOND="1")
    run = run_acme("token", "--user", "dr.who", "--role", "radiologist", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(".") == 2  # the token, unchanged
    assert "ACME_TICK_SECOND is set but no setting has that name" in run.stderr
    quiet = run_acme("token", "--user", "dr.who", "--role", "radiologist", env=clean_env(
        ACME_HOME=str(tmp_path)))  # fmt: skip
    assert "no setting has that name" not in quiet.stderr
