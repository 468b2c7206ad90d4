"""Values as text made by the database, for exports.

Building a million aware datetimes or UUID objects in Python only to print them again costs more
than everything else an export does; PostgreSQL and SQLite print them themselves, exactly as
Python would (tests hold each to that). NULL stays NULL.
"""

from django.db.models import CharField, Func


class UtcIso(Func):
    """A timestamp column as the text ``value.astimezone(UTC).isoformat(timespec=
    "microseconds")`` prints (``2025-01-31T12:00:00.000000+00:00``)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite keeps naive UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' (no fraction when it is 0).
        sql, params = compiler.compile(self.source_expressions[0])
        text = f"CAST({sql} AS TEXT)"
        template = (
            f"(substr({text}, 1, 10) || 'T' || substr({text}, 12, 8) || '.' || "
            f"substr(substr({text}, 21) || '000000', 1, 6) || '+00:00')"
        )
        return template, params * 4


class UuidText(Func):
    """A UUID column as the text ``str(value)`` prints (lower-case hex with dashes)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite keeps a UUID as its 32 hex digits.
        sql, params = compiler.compile(self.source_expressions[0])
        parts = " || '-' || ".join(
            f"substr({sql}, {start}, {length})"
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        )
        return f"({parts})", params * 5
