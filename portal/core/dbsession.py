"""What every database session the portal opens is set to.

PostgreSQL compiles a query to machine code (JIT) when its estimated cost passes
``jit_above_cost``. The portal's queries are short index range scans, but some estimates are far
off - the history chart's per-day counts are estimated at a quarter of a million groups, not the
92 days they are - and compiling such a query took 54 ms of its 120 on a million issuances. The
portal switches JIT off for its own sessions (``SET``, which works through any connection pooler,
unlike a startup option); other clients of the server keep the server's setting.
"""

from django.db.backends.signals import connection_created


def session_configure(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


def connect() -> None:
    connection_created.connect(session_configure, dispatch_uid="portal.core.dbsession")
