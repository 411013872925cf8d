"""The permission matrix: one table, documented in docs/auth.md, least privilege."""

from __future__ import annotations

from pathlib import Path

import acme.auth
from acme.auth import ROLE_PERMISSIONS, Permission, Role, grants, known_roles, matrix_markdown

DOCS = Path(__file__).resolve().parents[3] / "docs" / "auth.md"


def test_docs_show_the_matrix_the_code_uses() -> None:
    assert matrix_markdown() in DOCS.read_text(), "docs/auth.md is stale: paste matrix_markdown()"


def test_every_role_has_a_row_and_grants() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert grants(["radiologist"], "reports:sign") and grants(["radiologist"], "reports:amend")
    assert grants(["clinician"], "reports:read") and not grants(["clinician"], "reports:sign")
    assert grants(["technologist"], "images:read") and not grants(["technologist"], "reports:read")
    assert grants(["auditor"], "audit:export") and not grants(["auditor"], "images:read")
    assert grants(["admin"], "admin") and not grants(["admin"], "studies:read")
    assert grants(["clinician", "auditor"], "audit:read")  # roles add up


def test_unknown_roles_and_permissions_grant_nothing() -> None:
    assert known_roles(["offline_access", "default-roles-radiology", "auditor"]) == {Role.AUDITOR}
    assert not grants(["superuser"], "admin")
    assert not any(grants([role.value], "reports:delete") for role in Role)
    assert Permission("audit:read") is Permission.AUDIT_READ


def test_public_names() -> None:
    assert set(acme.auth.__all__) == {
        "ALGORITHMS", "DELIVERY_ISSUER", "LOCAL_ISSUER", "MAX_TOKEN_BYTES", "PHI_PERMISSIONS",
        "ROLE_PERMISSIONS", "AccessPolicy", "DeliverySigner", "DeliveryVerifier", "JwksFile",
        "JwksUrl", "JwtPolicy", "KeySetError", "KeySource", "LocalKeyError", "Permission",
        "Principal", "Role", "TokenFile", "TokenSource", "Unauthenticated", "delivery_jwks_path",
        "delivery_key_path", "ensure_delivery_key", "ensure_local_key", "function_audience",
        "grants", "known_roles", "local_jwks_path", "matrix_markdown", "mint_token", "parse_jwks",
        "permissions_of", "policy_from_settings", "served_jwks_file", "signing_key_path",
        "sink_tokens", "uses_local_delivery_issuer", "uses_local_issuer",
    }  # fmt: skip
