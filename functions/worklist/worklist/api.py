"""The worklist HTTP API: every route module registered on :data:`worklist.routes.routes`."""

from __future__ import annotations

from worklist import changes, retrieve, search, store, views
from worklist.routes import routes

MODULES = (changes, retrieve, search, store, views)
"""The modules whose routes make up the API (imported for their registrations)."""

__all__ = ["MODULES", "routes"]
