"""configure_logging: JSON lines with service, level, time and trace id; never PHI values."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from acme.log import REDACTED, bind_trace, configure_logging, get_logger
from acme.settings import Settings, load_settings

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
PHI_VALUES = ("DOE^JANE", "PID-77812", "19700101", "ACC-5521", "MRN-1", "OTHER-9", "SMITH^BOB")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The log stream; the logging configuration is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def _settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_time_level_service_and_trace(output: io.StringIO) -> None:
    configure_logging(_settings(log_format="json"), service="dicom-ingest", stream=output)

    assert bind_trace(TRACEPARENT) == "4bf92f3577b34da6a3ce929d0e0e4736"
    get_logger("acme.test").info("instance stored", sop_uid="1.2.3")

    [line] = _lines(output)
    assert line["event"] == "instance stored"
    assert line["level"] == "info"
    assert line["service"] == "dicom-ingest"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["span_id"] == "00f067aa0ba902b7"
    assert line["sop_uid"] == "1.2.3"
    assert line["timestamp"].endswith("Z")


def test_bad_or_missing_traceparent_unbinds(output: io.StringIO) -> None:
    configure_logging(_settings(), service="audit", stream=output)
    bind_trace(TRACEPARENT)

    assert bind_trace("not-a-traceparent") is None
    get_logger().info("next request")

    [line] = _lines(output)
    assert "trace_id" not in line


def test_phi_keys_never_print_their_values(output: io.StringIO) -> None:
    configure_logging(_settings(), service="dicom-ingest", stream=output)

    get_logger().warning(
        "rejected",
        patient_name="DOE^JANE",
        PatientID="PID-77812",
        patient_birth_date="19700101",
        AccessionNumber="ACC-5521",
        dataset={"OtherPatientIDs": ["OTHER-9"], "mrn": "MRN-1", "Modality": "CR"},
        physicians=[{"ReferringPhysicianName": "SMITH^BOB"}],
        study_uid="1.2.840.1",
    )
    logging.getLogger("botocore").warning("stdlib too", extra={"patient_id": "PID-77812"})

    text = output.getvalue()
    for value in PHI_VALUES:
        assert value not in text
    first, second = _lines(output)
    assert first["patient_name"] == REDACTED
    assert first["PatientID"] == REDACTED
    assert first["patient_birth_date"] == REDACTED
    assert first["AccessionNumber"] == REDACTED
    assert first["dataset"] == {"OtherPatientIDs": REDACTED, "mrn": REDACTED, "Modality": "CR"}
    assert first["physicians"] == [{"ReferringPhysicianName": REDACTED}]
    assert first["study_uid"] == "1.2.840.1"
    assert second["patient_id"] == REDACTED
    assert second["service"] == "dicom-ingest"


def test_tracebacks_carry_no_local_variables(output: io.StringIO) -> None:
    configure_logging(_settings(), service="report", stream=output)

    def fail(patient_name: str) -> None:
        raise ValueError("bad pixel data")

    try:
        fail("DOE^JANE")
    except ValueError:
        get_logger().exception("render failed")

    assert "DOE^JANE" not in output.getvalue()
    [line] = _lines(output)
    assert line["exception"][0]["exc_value"] == "bad pixel data"


def test_console_format_masks_too(output: io.StringIO) -> None:
    configure_logging(_settings(log_format="console"), service="worklist", stream=output)

    get_logger().info("opened", patient_name="DOE^JANE")

    assert "DOE^JANE" not in output.getvalue()
    assert REDACTED in output.getvalue()


def test_level_filter_and_reconfiguration(output: io.StringIO) -> None:
    configure_logging(_settings(log_level="WARNING"), service="a", stream=io.StringIO())
    configure_logging(_settings(log_level="WARNING"), service="b", stream=output)

    get_logger().info("hidden")
    get_logger().error("shown")

    [line] = _lines(output)
    assert line["event"] == "shown"
    assert line["service"] == "b"


@pytest.mark.parametrize(("level", "shown"), [("INFO", ["kept"]), ("DEBUG", ["step", "kept"])])
def test_a_chatty_library_logs_its_steps_only_at_debug(
    output: io.StringIO, level: str, shown: list[str]
) -> None:
    configure_logging(_settings(log_level=level), service="report", stream=output)
    library = logging.getLogger("highdicom.base")
    try:
        library.info("step")
        library.warning("kept")
        get_logger("report").info("ours")
    finally:
        logging.getLogger("highdicom").setLevel(logging.NOTSET)
    assert [line["event"] for line in _lines(output)] == [*shown, "ours"]
