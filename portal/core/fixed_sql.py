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
    converted = []
    for value, (column, functions) in zip(values, _converters_of(model), strict=True):
        for convert in functions:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, None, converted)


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


def insert(instance) -> None:
    """``instance.save(force_insert=True)`` as one fixed INSERT, for a model whose primary key is
    set before saving (a UUID default) and that has no save() of its own or signal receivers:
    every field's ``pre_save`` (``auto_now``) and ``get_db_prep_save`` still apply. A constraint
    violation raises IntegrityError as with the ORM."""
    model = type(instance)
    fields = model._meta.concrete_fields
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table(model)} ({columns(model)}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    instance._state.adding = False
    instance._state.db = connection.alias


def update(instance, field_names) -> None:
    """``instance.save(update_fields=field_names)`` as one fixed UPDATE by primary key (with the
    same conditions as ``insert``); DatabaseError when the row is gone, as with the ORM."""
    model = type(instance)
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    values = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields
    ]
    values.append(meta.pk.get_db_prep_value(instance.pk, connection))
    where = f"{quote(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table(model)} SET {assignments} WHERE {where}", values)  # noqa: S608
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")


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
    converted = []
    for value, index in zip(row, _positions(model, names), strict=True):
        column, functions = every[index]
        for convert in functions:
            value = convert(value, column, connection)
        converted.append(value)
    return converted
