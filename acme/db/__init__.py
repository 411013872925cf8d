"""PostgreSQL: the connection pool and the schema migrations.

Every failure is a :class:`~acme.errors.DatabaseError`; an unusable ``ACME_DATABASE_URL`` is a
:class:`~acme.errors.ConfigError` naming it. A study's state changes only through
:mod:`acme.lifecycle`.
"""

from acme.db._migrate import Migration, apply_migrations, load_migrations
from acme.db._pool import Pool, make_pool

__all__ = [
    "Migration",
    "Pool",
    "apply_migrations",
    "load_migrations",
    "make_pool",
]
