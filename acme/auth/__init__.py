"""Access control shared by every HTTP function: bearer JWTs, roles, permissions.

:class:`Principal` and :class:`AccessPolicy` are the interface :mod:`acme.http` uses;
:func:`policy_from_settings` builds the policy the settings describe.
"""

from acme.auth._principal import AccessPolicy, Principal, Unauthenticated

__all__ = ["AccessPolicy", "Principal", "Unauthenticated"]
