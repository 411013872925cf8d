"""The audit trail: append-only, hash-chained, verifiable, exportable as FHIR AuditEvent.

Shared by the ``audit`` function (its event handler appends, its HTTP API queries, verifies
and exports) and ``acme audit verify|export``. The table is ``audit_events`` (migrations 0001
and 0005); the application works on it only as ``acme_audit_writer`` (INSERT, SELECT) or
``acme_audit_reader`` (SELECT), see docs/decisions/0051-audit-trail.md.

- :func:`append_event`: a CloudEvent at the end of the chain, once per event id.
- :func:`verify_trail`: the first missing, relinked or altered row, if any.
- :func:`query_rows`: a page of rows by study, actor, type and time.
- :func:`audit_event` / :func:`audit_bundle`: FHIR R4 AuditEvent resources and a Bundle.
"""

from acme.audit._chain import GENESIS_HASH, AuditRow, Entry, canonical_json, chain_hash
from acme.audit._fhir import audit_bundle, audit_event, bundle_json, resource_id
from acme.audit._store import (
    READER_ROLE,
    WRITER_ROLE,
    AuditPage,
    AuditQuery,
    append_event,
    query_rows,
    transaction_as,
)
from acme.audit._verify import Anchor, BrokenRow, Verification, verify_trail

__all__ = [
    "GENESIS_HASH",
    "READER_ROLE",
    "WRITER_ROLE",
    "Anchor",
    "AuditPage",
    "AuditQuery",
    "AuditRow",
    "BrokenRow",
    "Entry",
    "Verification",
    "append_event",
    "audit_bundle",
    "audit_event",
    "bundle_json",
    "canonical_json",
    "chain_hash",
    "query_rows",
    "resource_id",
    "transaction_as",
    "verify_trail",
]
