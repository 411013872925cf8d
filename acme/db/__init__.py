"""PostgreSQL: the connection pool, the schema migrations and study state transitions.

State changes are single atomic statements (:func:`transition_study`), so two replicas can
never both win the same transition. Every failure is a :class:`~acme.errors.DatabaseError`;
an unusable ``ACME_DATABASE_URL`` is a :class:`~acme.errors.ConfigError` naming it.
"""

from acme.db._migrate import Migration, apply_migrations, load_migrations
from acme.db._pool import Pool, make_pool
from acme.db._studies import StudyState, transition_study

__all__ = [
    "Migration",
    "Pool",
    "StudyState",
    "apply_migrations",
    "load_migrations",
    "make_pool",
    "transition_study",
]
