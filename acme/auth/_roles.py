"""Who may do what: the one table of roles and the permissions each grants.

A route names one :class:`Permission`; a token's roles (its roles claim) grant permissions
through :data:`ROLE_PERMISSIONS`, the matrix docs/auth.md shows (a test keeps the two equal).
Roles a token carries that are not in the table (Keycloak's ``offline_access``,
``default-roles-<realm>``...) grant nothing and are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType


class Permission(StrEnum):
    """What a route needs."""

    STUDIES_READ = "studies:read"
    IMAGES_READ = "images:read"
    IMAGES_STORE = "images:store"
    REPORTS_READ = "reports:read"
    REPORTS_SIGN = "reports:sign"
    REPORTS_AMEND = "reports:amend"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    INGEST_READ = "ingest:read"
    CHANGES_READ = "changes:read"
    ADMIN = "admin"


class Role(StrEnum):
    """The roles a token may carry (realm or client roles of the hospital's provider)."""

    RADIOLOGIST = "radiologist"
    CLINICIAN = "clinician"
    TECHNOLOGIST = "technologist"
    AUDITOR = "auditor"
    ADMIN = "admin"


_P = Permission
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.RADIOLOGIST: frozenset(
            {_P.STUDIES_READ, _P.IMAGES_READ, _P.REPORTS_READ, _P.REPORTS_SIGN, _P.REPORTS_AMEND}
        ),
        Role.CLINICIAN: frozenset({_P.STUDIES_READ, _P.IMAGES_READ, _P.REPORTS_READ}),
        Role.TECHNOLOGIST: frozenset(
            {_P.STUDIES_READ, _P.IMAGES_READ, _P.IMAGES_STORE, _P.INGEST_READ, _P.CHANGES_READ}
        ),
        Role.AUDITOR: frozenset({_P.AUDIT_READ, _P.AUDIT_EXPORT}),
        Role.ADMIN: frozenset({_P.INGEST_READ, _P.CHANGES_READ, _P.ADMIN}),
    }
)
"""The permission matrix. Least privilege: auditors see the trail, not the images; admins
run the platform, not the clinical data, but see what became of uploads (the ingest ledger
names objects by key and UID, never by patient) and the change feed (UIDs, and the keys
uploads came under). Technologists send images (``images:store``, STOW-RS)."""


PHI_PERMISSIONS: frozenset[Permission] = frozenset(Permission) - {Permission.ADMIN}
"""Permissions that guard protected health information: a route needing one is ``phi=True``
(so :mod:`acme.http` records every attempt at it)."""


def known_roles(values: Iterable[str]) -> frozenset[Role]:
    """The roles among ``values`` that the table knows (the others grant nothing)."""
    names = {role.value: role for role in Role}
    return frozenset(names[value] for value in values if value in names)


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """Every permission granted by any of ``roles``."""
    granted: set[Permission] = set()
    for role in known_roles(roles):
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def grants(roles: Iterable[str], permission: str) -> bool:
    """Whether ``roles`` grant ``permission`` (an unknown permission is granted to no one)."""
    return permission in {p.value for p in permissions_of(roles)}


def matrix_markdown() -> str:
    """The matrix as the Markdown table of docs/auth.md."""
    header = "| role | " + " | ".join(f"`{p.value}`" for p in Permission) + " |"
    rows = [header, "|---" * (len(Permission) + 1) + "|"]
    for role in Role:
        marks = ["yes" if p in ROLE_PERMISSIONS[role] else "" for p in Permission]
        rows.append(f"| `{role.value}` | " + " | ".join(marks) + " |")
    return "\n".join(rows)
