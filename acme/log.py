"""Structured logging: one JSON line per record, with service, level, ISO time and trace id.

:func:`configure_logging` is called once at process start; it routes both structlog and the
standard ``logging`` module (boto3, psycopg, nats...) through the same processors, so every
line has the same shape. :func:`bind_trace` binds the trace id of the current request's W3C
``traceparent`` to the context, and every line logged in that context carries it.

No PHI in logs: :func:`mask_phi` replaces the value of every key in :data:`PHI_KEYS` (DICOM
keywords, their snake_case and tag forms), at any depth, with :data:`REDACTED`. Tracebacks are
rendered without local variables for the same reason. Free text (the event message, exception
messages) is not inspected: pass identifiers as keys, never inside the message.

A function configures its logging when it reads its settings, at its first request;
:func:`hold_root_logging` keeps the place until then. Without it, waitress's
``logging.basicConfig()`` would install a second root handler, and every line would be
printed twice: once through these processors, once as a raw dict, PHI keys unmasked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Final, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import EventDict, Processor, WrappedLogger

from acme.events import is_traceparent
from acme.settings import Settings

__all__ = [
    "PHI_KEYS",
    "REDACTED",
    "bind_trace",
    "configure_logging",
    "get_logger",
    "hold_root_logging",
    "mask_phi",
]

REDACTED: Final = "[REDACTED]"

_PHI_NAMES: Final = (
    # DICOM keywords (PS3.6) of patient-identifying attributes (PS3.15 Annex E) and their tags
    ("PatientName", "00100010"),
    ("PatientID", "00100020"),
    ("IssuerOfPatientID", "00100021"),
    ("PatientBirthDate", "00100030"),
    ("PatientBirthTime", "00100032"),
    ("PatientSex", "00100040"),
    ("OtherPatientIDs", "00101000"),
    ("OtherPatientNames", "00101001"),
    ("OtherPatientIDsSequence", "00101002"),
    ("PatientBirthName", "00101005"),
    ("PatientAge", "00101010"),
    ("PatientAddress", "00101040"),
    ("PatientMotherBirthName", "00101060"),
    ("MedicalRecordLocator", "00101090"),
    ("PatientTelephoneNumbers", "00102154"),
    ("EthnicGroup", "00102160"),
    ("PatientComments", "00104000"),
    ("AccessionNumber", "00080050"),
    ("ReferringPhysicianName", "00080090"),
    ("InstitutionName", "00080080"),
    ("InstitutionAddress", "00080081"),
    ("PerformingPhysicianName", "00081050"),
    ("NameOfPhysiciansReadingStudy", "00081060"),
    ("OperatorsName", "00081070"),
    ("ResponsiblePerson", "00102297"),
    # the same facts under the names code and FHIR use
    ("patient", None),
    ("patient_name", None),
    ("patient_id", None),
    ("patient_birth_date", None),
    ("birth_date", None),
    ("birthDate", None),
    ("date_of_birth", None),
    ("dob", None),
    ("mrn", None),
    ("ssn", None),
    ("other_patient_ids", None),
    ("accession_number", None),
)

_NORMALISE: Final = re.compile(r"[^0-9a-z]")


def _normalise(key: str) -> str:
    return _NORMALISE.sub("", key.lower())


PHI_KEYS: Final = frozenset(
    _normalise(name) for pair in _PHI_NAMES for name in pair if name is not None
)
"""Normalised keys (lower case, letters and digits only) whose values are never logged."""


def mask_phi(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace the values of PHI keys, at any depth, by ``REDACTED``."""
    return {key: _masked(key, value) for key, value in event_dict.items()}


def _masked(key: object, value: Any) -> Any:
    if isinstance(key, str) and _normalise(key) in PHI_KEYS:
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _masked(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(None, item) for item in value]
    return value


class _AddService:
    def __init__(self, service: str) -> None:
        self._service = service

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", self._service)
        return event_dict


class _AcmeHandler(logging.StreamHandler[TextIO]):
    """The root handler :func:`configure_logging` installs (and replaces when called again)."""


def hold_root_logging(stream: TextIO | None = None) -> None:
    """Until :func:`configure_logging` replaces it: a plain root handler (``LEVEL logger:
    message``) to ``stream`` (default standard error), so that nobody's ``basicConfig()``
    adds one that would stay. Does nothing if the root logger has a handler already."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = _AcmeHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


CHATTY_LIBRARIES = ("highdicom",)
"""Libraries that log every step at INFO (highdicom: seven lines per report, each naming a
study's UID): they log from WARNING up, everything at ``ACME_LOG_LEVEL=DEBUG``."""


def configure_logging(settings: Settings, *, service: str, stream: TextIO | None = None) -> None:
    """Configure structlog and ``logging`` for this process (``settings.log_level``/``log_format``).

    Calling it again replaces the previous configuration. Lines go to ``stream`` (default
    standard error).
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _AddService(service),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer: list[Processor]
    if settings.log_format == "json":
        renderer = [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_phi,
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [
            mask_phi,
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = _AcmeHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _AcmeHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    quieter = max(logging.WARNING, root.level) if root.level > logging.DEBUG else logging.DEBUG
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quieter)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A logger that follows :func:`configure_logging`."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_trace(traceparent: str | None) -> str | None:
    """Bind the trace of a W3C ``traceparent`` to the current context; return its trace id.

    Lines logged afterwards in this context (thread or task) carry ``trace_id`` and
    ``span_id``. A missing or malformed value unbinds them, so a request never inherits the
    trace of the previous one handled by the same thread.
    """
    if traceparent is not None and is_traceparent(traceparent.strip()):
        _version, trace_id, span_id, _flags = traceparent.strip().split("-")
        structlog.contextvars.bind_contextvars(trace_id=trace_id, span_id=span_id)
        return trace_id
    structlog.contextvars.unbind_contextvars("trace_id", "span_id")
    return None
