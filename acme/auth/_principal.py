"""Who is calling, and the policy that decides what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from acme.errors import AcmeError


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user id (``sub``) and the roles of its token."""

    user: str
    roles: frozenset[str]
    issuer: str = ""

    @property
    def role(self) -> str:
        """The role recorded in audit records: the first of the caller's roles by name."""
        return min(self.roles) if self.roles else "none"


class Unauthenticated(AcmeError):
    """No usable bearer token: missing, malformed, expired, wrong issuer/audience or signature."""


class AccessPolicy(Protocol):
    """Authentication (bearer token → principal) and authorisation (principal and permission)."""

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header; :class:`Unauthenticated` otherwise."""
        ...

    def allows(self, principal: Principal, permission: str) -> bool:
        """Whether ``principal``'s roles grant ``permission``."""
        ...
