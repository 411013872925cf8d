"""The report function's errors, all :class:`~acme.errors.AcmeError` subclasses.

::

    ReportError
    ├── ReportNotFound     no such report or version (HTTP 404)
    ├── VersionConflict    the client saw another version, or the status forbids it (HTTP 409)
    ├── InvalidRequest     the request contradicts itself (HTTP 422)
    ├── PreconditionRequired  a change names no version it was made against (HTTP 428)
    ├── NotReady           the event's run is not committed yet: retry later (HTTP 500)
    └── ArtifactMissing    a stored artifact is gone (HTTP 404 / retry)
"""

from __future__ import annotations

from acme.errors import AcmeError


class ReportError(AcmeError):
    """Base of the report function's errors."""


class ReportNotFound(ReportError):
    """No report (or version) has this id."""


class VersionConflict(ReportError):
    """The request was made against a version that is no longer current, or a status that
    does not allow it (signing a signed report, amending an unsigned one)."""

    def __init__(self, message: str, *, current_version: int) -> None:
        self.current_version = current_version
        super().__init__(message)


class InvalidRequest(ReportError):
    """The request cannot be acted on as sent (e.g. no version named)."""


class PreconditionRequired(ReportError):
    """A sign-off or amendment names no version (neither If-Match nor the body's)."""


class NotReady(ReportError):
    """What the event announces is not visible in the database yet (a transient state)."""


class ArtifactMissing(ReportError):
    """A report artifact the database names is not in the results bucket."""
