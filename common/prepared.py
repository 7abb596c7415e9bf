"""ORM queries compiled to SQL once per database connection, then run with new values.

Turning a queryset into SQL is the expensive part of a small query: cloning the queryset,
resolving lookups and joins, and the compiler cost ~1 ms of CPU per query on the 2-core
benchmark machine, against ~0.1 ms for PostgreSQL to answer a primary-key lookup. The API
booking request runs a dozen such queries whose shape never changes, only their values. A
``PreparedQuery`` builds its queryset once with marker values in place of the arguments, keeps
the compiled SQL and the compiler's column layout, and afterwards only swaps the values in and
turns rows into model instances the way the ORM does (select_related and annotations
included). The queryset stays the single definition of the query; a test holds the prepared
results equal to the plain queryset's.

Arguments are ints, strings or lists of them (a list of a new length compiles once more). What
else a query needs (booleans, statuses, ``isnull``) is written into the queryset itself.
"""

from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain, count

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import AutoField, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLInsertCompiler

# Markers no real argument takes: large negative ids and strings with a NUL byte, which
# neither a form nor the API accepts.
_INT_MARKERS = count(-(10**15), -1)
_STR_MARKERS = count(1)


def _marker(value):
    if isinstance(value, bool):
        raise TypeError("PreparedQuery: write booleans into the queryset, not as arguments")
    if isinstance(value, int):
        return next(_INT_MARKERS)
    if isinstance(value, str):
        return f"\x00prepared-{next(_STR_MARKERS)}\x00"
    raise TypeError(f"PreparedQuery arguments are ints, strings or lists of them, not {value!r}")


def _normalise(args: Sequence) -> list:
    return [list(a) if isinstance(a, list | tuple | set | frozenset) else a for a in args]


def _shape(args: list) -> tuple:
    # The number of placeholders of a list argument is part of the SQL.
    return tuple(len(a) if isinstance(a, list) else None for a in args)


def _cache(connection) -> dict:
    """What this module built for one database connection. Connections are per thread, so
    is this cache; it outlives reconnections of the same wrapper (the SQL does not change)."""
    return connection.__dict__.setdefault("_prepared_queries", {})


class _Compiled:
    """One queryset shape compiled on one connection: SQL, where each argument goes, and how
    rows become results."""

    def __init__(self, queryset: QuerySet, markers: list, alias: str) -> None:
        self.empty = False
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise TypeError("PreparedQuery does not support prefetch_related")
        self.iterable = queryset._iterable_class
        if self.iterable not in (ModelIterable, ValuesListIterable):
            raise TypeError("PreparedQuery returns model instances or values_list() tuples")
        compiler = queryset.query.get_compiler(using=alias)
        try:
            self.sql, params = compiler.as_sql()
        except EmptyResultSet:  # e.g. ``pk__in=[]``: no SQL to run, never a row
            self.empty = True
            return
        self.params = list(params)
        self.slots: list[list[int]] = []
        for marker in markers:
            group = marker if isinstance(marker, list) else [marker]
            slots = []
            for m in group:
                found = [i for i, p in enumerate(self.params) if type(p) is type(m) and p == m]
                if len(found) != 1:
                    raise TypeError("PreparedQuery: an argument is not a plain parameter")
                slots.append(found[0])
            self.slots.append(slots)
        self.compiler = compiler
        self.db = alias
        # What results_iter() would work out on every call (the columns' from-database
        # converters), worked out once.
        fields = [col[0] for col in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise TypeError("PreparedQuery does not support composite primary keys")
        self.converters = compiler.get_converters(fields)
        if self.iterable is ModelIterable:
            select, klass_info = compiler.select, compiler.klass_info
            self.model = klass_info["model"]
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            self.model_slice = slice(start, end)
            self.init_list = [col[0].target.attname for col in select[start:end]]
            self.populators = get_related_populators(klass_info, select, alias)
            self.annotations = dict(compiler.annotation_col_map or {})

    def run(self, connection, args: list) -> list:
        if self.empty:
            return []
        params = list(self.params)
        for slots, value in zip(self.slots, args, strict=True):
            if isinstance(value, list):
                for slot, v in zip(slots, value, strict=True):
                    params[slot] = v
            else:
                params[slots[0]] = value
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        compiler = self.compiler
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        if self.converters:
            rows = compiler.apply_converters(rows, self.converters)
        if self.iterable is ValuesListIterable:
            return [tuple(row) for row in rows]
        objects = []
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[self.model_slice])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


class PreparedQuery:
    """``PreparedQuery(lambda pk: Event.objects.filter(pk=pk))`` then ``query(5)`` -> a list of
    instances (or of tuples, for ``values_list()``). ``build`` must return the same query for
    any values, using each argument once as a lookup value."""

    def __init__(self, build: Callable[..., QuerySet], *, using: str = "default") -> None:
        self.build = build
        self.using = using

    def __call__(self, *args) -> list:
        args = _normalise(args)
        connection = connections[self.using]
        # The key carries the shape of list arguments: their number of placeholders is part
        # of the SQL.
        cache = _cache(connection)
        key = (id(self), _shape(args))
        compiled = cache.get(key)
        if compiled is None:
            markers = [[_marker(v) for v in a] if isinstance(a, list) else _marker(a) for a in args]
            compiled = _Compiled(self.build(*markers), markers, self.using)
            cache[key] = compiled
        return compiled.run(connection, args)

    def first(self, *args):
        rows = self(*args)
        return rows[0] if rows else None


class PreparedInsert:
    """``PreparedInsert(Ticket)(tickets)``: one ``INSERT ... RETURNING`` for unsaved instances
    of one model, like ``bulk_create`` (every concrete field but an automatic primary key,
    ``pre_save`` applied, so ``auto_now`` works), with the statement built once per number of
    rows. Returns the rows of the ``returning`` fields and sets the primary key on each
    instance. ``ignore_conflicts``: ``ON CONFLICT DO NOTHING``; rows skipped by it return
    nothing and keep no primary key, so ``returning`` should name a unique field to match by.
    Values are computed per call by the ORM's own insert compiler; only the SQL text is kept."""

    def __init__(
        self, model, *, returning: Sequence[str] = ("pk",), ignore_conflicts: bool = False
    ) -> None:
        opts = model._meta
        self.model = model
        # As bulk_create does for instances without a primary key.
        self.fields = [
            f for f in opts.concrete_fields if not f.generated and not isinstance(f, AutoField)
        ]
        self.returning = [opts.pk if name == "pk" else opts.get_field(name) for name in returning]
        self.on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        self.using = "default"

    def _compile(self, connection, objs: list):
        if not connection.features.can_return_rows_from_bulk_insert:
            raise NotImplementedError("PreparedInsert needs INSERT ... RETURNING for many rows")
        if any(hasattr(f, "get_placeholder") for f in self.fields):
            raise TypeError("PreparedInsert: a field's placeholder may depend on its value")
        query = InsertQuery(self.model, on_conflict=self.on_conflict)
        query.insert_values(self.fields, objs)
        compiler = query.get_compiler(using=self.using)
        compiler.returning_fields = self.returning
        # Plain multi-row VALUES, not PostgreSQL's UNNEST of one array per column: the arrays
        # save planning time for hundreds of rows, but for the few rows of a booking building
        # them costs more CPU in the driver than the statement costs the server.
        compiler.assemble_as_sql = partial(SQLInsertCompiler.assemble_as_sql, compiler)
        [(sql, params)] = compiler.as_sql()
        return compiler, sql, params

    def __call__(self, objs: list) -> list[tuple]:
        if not objs:
            return []
        connection = connections[self.using]
        cache = _cache(connection)
        key = (id(self), len(objs))
        if key in cache:
            compiler, sql = cache[key]
            value_rows = [
                [compiler.prepare_value(f, compiler.pre_save_val(f, obj)) for f in self.fields]
                for obj in objs
            ]
            if any(hasattr(v, "as_sql") for row in value_rows for v in row):
                raise TypeError("PreparedInsert takes values, not expressions")
            _placeholders, param_rows = compiler.assemble_as_sql(self.fields, value_rows)
            params = tuple(chain.from_iterable([*param_rows, compiler.returning_params]))
        else:
            compiler, sql, params = self._compile(connection, objs)
            cache[key] = (compiler, sql)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if self.on_conflict is None:
            pk_at = self.returning.index(self.model._meta.pk)
            for obj, row in zip(objs, rows, strict=True):
                obj.pk = row[pk_at]
                obj._state.adding = False
                obj._state.db = self.using
        return rows


def attach_prefetched(instance, name: str, rows: list) -> None:
    """Make ``instance.<name>.all()`` return ``rows`` without a query, as ``prefetch_related``
    would have: for rows a caller read (or wrote) itself."""
    cached = getattr(instance, name).all()  # lazy: no query
    cached._result_cache = list(rows)
    cached._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = cached


class PreparedUpdate:
    """``PreparedUpdate(Model, ["a", "b"])(obj)``: ``UPDATE ... SET a = %s, b = %s WHERE pk``
    for one saved instance, as ``obj.save(update_fields=[...])`` would write it (``pre_save``
    and the fields' own database preparation), with the statement built once."""

    def __init__(self, model, field_names: Sequence[str]) -> None:
        self.model = model
        self.fields = [model._meta.get_field(name) for name in field_names]
        self.using = "default"

    def __call__(self, obj) -> int:
        connection = connections[self.using]
        cache = _cache(connection)
        sql = cache.get(id(self))
        if sql is None:
            qn = connection.ops.quote_name
            opts = self.model._meta
            assignments = ", ".join(f"{qn(f.column)} = %s" for f in self.fields)
            # Only quoted table and column names from the model go into the text.
            sql = f"UPDATE {qn(opts.db_table)} SET {assignments} WHERE {qn(opts.pk.column)} = %s"  # noqa: S608
            cache[id(self)] = sql
        params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in self.fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, obj.pk])
            return cursor.rowcount
