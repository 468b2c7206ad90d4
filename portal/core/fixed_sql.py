"""Fixed SQL for the few lookups every request makes (its session, its user, the credential it
issues with), for the two writes of every issuance (its pending row and its outcome) and for the
audit log's pages (some fields of 50 events, as plain values: ``selected_columns``, ``values``).

Building a queryset - resolving lookups and joins, compiling them to SQL, then working out how
to turn the columns back into objects - costs the portal more CPU than the database round trip
itself: ``User.objects.get(pk=…)`` takes about three times the CPU of the same row read here.
Code that runs on every request may therefore write its one SELECT as text and build the
instances with ``instance()``. The column lists still come from the models (a new field needs
no change here), and the values go through the same converters the ORM applies (time zones,
JSON, UUIDs and booleans on SQLite); ``insert()`` and ``update()`` prepare values with each
field's own ``pre_save`` and ``get_db_prep_save``, as ``Model.save()`` does, skipping its generic
machinery (signals, related-object checks, query compilation). Everything else keeps using the
ORM.
"""

from __future__ import annotations

import contextlib
import functools
import weakref

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections


@functools.cache
def columns(model, alias: str = "") -> str:
    """Every column of ``model`` in ``instance()``'s order, quoted, each qualified with ``alias``
    when one is given (for joins)."""
    prefix = f"{alias}." if alias else ""
    quote = connection.ops.quote_name
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def column(model, name: str) -> str:
    """The quoted column of ``model``'s field ``name`` (``team`` gives ``"team_id"``)."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def width(model) -> int:
    """How many of a row's values ``columns(model)`` takes."""
    return len(model._meta.concrete_fields)


def _this_threads_connection():
    """The connection ``django.db.connection`` stands for in this thread. That proxy finds it
    again on every attribute read (a thread-local lookup), and a row's fields read it a dozen
    times or more while their values are prepared or converted; so the functions here find it
    once and hand the connection itself on."""
    return connections[DEFAULT_DB_ALIAS]


# Per database connection (each thread has its own) and model: each field's converters, found
# once - the ORM looks them up again for every query.
_converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _converters_of(model) -> list:
    per_model = _converters.setdefault(connections[DEFAULT_DB_ALIAS], {})
    found = per_model.get(model)
    if found is None:
        found = []
        for field in model._meta.concrete_fields:
            column = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(
                connection
            )
            found.append((column, functions))
        per_model[model] = found
    return found


def instance(model, values):
    """A ``model`` instance from ``values`` read in ``columns(model)``'s order, as the ORM would
    have built it."""
    db = _this_threads_connection()
    converted = []
    for value, (column, functions) in zip(values, _converters_of(model), strict=True):
        for convert in functions:
            value = convert(value, column, db)
        converted.append(value)
    return model.from_db(db.alias, None, converted)


def row(sql: str, params: list):
    """The first row of ``sql`` (fixed text with ``%s`` placeholders), or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def rows(sql: str, params: list) -> list[tuple]:
    """Every row of ``sql`` (fixed text with ``%s`` placeholders), as the driver gives them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def by_pk(model, pk):
    """``model.objects.filter(pk=pk).first()`` as fixed SQL. ``pk`` must be well formed (the
    field's ``to_python`` raises ValidationError otherwise)."""
    field = model._meta.pk
    value = field.get_db_prep_value(field.to_python(pk), connection)
    where = f"{connection.ops.quote_name(field.column)} = %s"
    found = row(f"SELECT {columns(model)} FROM {table(model)} WHERE {where}", [value])  # noqa: S608
    return None if found is None else instance(model, found)


def db_time(moment):
    """A time as the database compares it (SQLite stores UTC text; PostgreSQL takes it as is)."""
    return connection.ops.adapt_datetimefield_value(moment)


@functools.cache
def _insert_statement(model, key_assigned_by_database: bool) -> tuple[list, str, bool]:
    """The fields ``insert()`` writes, its SQL and whether that SQL returns the new key: the same
    for every row of ``model``, so built once (joining the quoted names cost as much as the
    values' preparation)."""
    meta = model._meta
    assigned = meta.auto_field if key_assigned_by_database else None
    fields = [field for field in meta.concrete_fields if field is not assigned]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table(model)} ({names}) VALUES ({placeholders})"  # noqa: S608
    returning = assigned is not None and connection.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {quote(assigned.column)}"
    return fields, sql, returning


class Write:
    """One row's INSERT or UPDATE, its values prepared (``insert_write``, ``update_write``) and
    not yet sent: whoever sends it may put it in the same round trip as a statement of its own
    (``audit.record`` sends the issuance's writes ahead of the audit chain's head read)."""

    __slots__ = ("sql", "params", "instance", "updates")

    def __init__(self, sql: str, params: list, instance, *, updates: bool) -> None:
        self.sql, self.params, self.instance, self.updates = sql, params, instance, updates

    def run(self, cursor) -> None:
        cursor.execute(self.sql, self.params)
        self.sent(cursor)

    def sent(self, cursor) -> None:
        """Check and settle what ``cursor``'s current result says of the statement: an UPDATE
        that found no row raises DatabaseError, as ``Model.save()`` does."""
        if self.updates and cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
        self.instance._state.adding = False
        self.instance._state.db = DEFAULT_DB_ALIAS


def insert_write(instance) -> Write:
    """``insert()`` of an instance whose primary key is set (a UUID default), not yet sent."""
    if instance.pk is None:
        raise ValueError("insert_write() needs a primary key set before saving.")
    fields, sql, _ = _insert_statement(type(instance), False)
    db = _this_threads_connection()
    values = [field.get_db_prep_save(field.pre_save(instance, True), db) for field in fields]
    return Write(sql, values, instance, updates=False)


def insert(instance, *, cursor=None) -> None:
    """``instance.save(force_insert=True)`` as one fixed INSERT, for a model that has no save() of
    its own or signal receivers: every field's ``pre_save`` (``auto_now``) and
    ``get_db_prep_save`` still apply. A primary key set before saving (a UUID default) is written;
    an auto-increment one left unset is the database's to assign and is read back as the ORM
    reads it (RETURNING where the database has it). A constraint violation raises IntegrityError
    as with the ORM. ``cursor``: one of the caller's own to run it on (a new one otherwise)."""
    model = type(instance)
    meta = model._meta
    assigned = meta.auto_field if instance.pk is None else None
    fields, sql, returning = _insert_statement(model, assigned is not None)
    db = _this_threads_connection()
    values = [field.get_db_prep_save(field.pre_save(instance, True), db) for field in fields]
    with contextlib.nullcontext(cursor) if cursor else db.cursor() as cursor:
        cursor.execute(sql, values)
        if assigned is not None:
            if returning:
                key = cursor.fetchone()[0]
            else:
                key = db.ops.last_insert_id(cursor, meta.db_table, assigned.column)
            setattr(instance, assigned.attname, _read_back(model, assigned, key, db))
    instance._state.adding = False
    instance._state.db = db.alias


def _read_back(model, field, value, db):
    """A value the database returned for ``field``, through the field's converters."""
    for column, functions in _converters_of(model):
        if column.target is field:
            for convert in functions:
                value = convert(value, column, db)
    return value


@functools.cache
def _update_statement(model, field_names: tuple[str, ...]) -> tuple[list, str]:
    """The fields ``update()`` writes and its SQL, built once per model and field list."""
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    where = f"{quote(meta.pk.column)} = %s"
    return fields, f"UPDATE {table(model)} SET {assignments} WHERE {where}"  # noqa: S608


def update_write(instance, field_names) -> Write:
    """``update()``, not yet sent."""
    model = type(instance)
    fields, sql = _update_statement(model, tuple(field_names))
    db = _this_threads_connection()
    values = [field.get_db_prep_save(field.pre_save(instance, False), db) for field in fields]
    values.append(model._meta.pk.get_db_prep_value(instance.pk, db))
    return Write(sql, values, instance, updates=True)


def update(instance, field_names) -> None:
    """``instance.save(update_fields=field_names)`` as one fixed UPDATE by primary key (with the
    same conditions as ``insert``); DatabaseError when the row is gone, as with the ORM."""
    write = update_write(instance, field_names)
    with _this_threads_connection().cursor() as cursor:
        write.run(cursor)


# --- Some fields of many rows, as plain values ------------------------------------------------


@functools.cache
def _positions(model, names: tuple[str, ...]) -> tuple[int, ...]:
    found = {}
    for index, field in enumerate(model._meta.concrete_fields):
        found[field.name] = found[field.attname] = index
    return tuple(found[name] for name in names)


def selected_columns(model, names: tuple[str, ...]) -> str:
    """The quoted columns of the fields ``names`` of ``model`` (each by name or attname), for a
    SELECT whose rows ``values()`` converts."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    return ", ".join(quote(fields[i].column) for i in _positions(model, names))


def values(model, names: tuple[str, ...], row) -> list:
    """One row of ``selected_columns(model, names)`` as ``values_list(*names)`` gives it: each
    value through its field's converters (JSON, time zones, UUIDs and booleans on SQLite)."""
    every = _converters_of(model)
    db = _this_threads_connection()
    converted = []
    for value, index in zip(row, _positions(model, names), strict=True):
        column, functions = every[index]
        for convert in functions:
            value = convert(value, column, db)
        converted.append(value)
    return converted
