"""Prebuilt statements run straight on the session's DB-API cursor.

A statement the merge runs on every submission goes through SQLAlchemy's execution
machinery each time: the compiled-cache lookup by cache key, the parameters built and
processed, an execution context, a result object. On SQLite that is four times the
driver's own cost of the statement, on PostgreSQL three times (bench/README.md, "what one
statement costs"). `Plain` keeps SQLAlchemy as the author of the SQL and of the type
handling: the statement is compiled by the engine's own dialect once, and its bind and
result processors (JSON through the engine's serializer, SQLite's dates as text, …) are
taken from that compilation. What runs per call is the processors and the cursor.

A list for ``IN`` (an expanding bind parameter) is written as one bind per element, and the
statement is compiled once per length (``x IN ()`` is false). Other post-compile parameters
raise at the first compile. SQLAlchemy's ``before_cursor_execute`` listeners still see each
statement when any are registered (the tests' and the bench's statement counters).
"""

from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, false, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement, operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from ..extensions import db


class _Compiled:
    """One statement as one dialect runs it."""

    __slots__ = ("sql", "positional", "binds", "fixed", "defaults", "types", "dialect",
                 "results", "row")

    def __init__(self, statement: ClauseElement, dialect, keys: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        if compiled.post_compile_params or getattr(compiled, "literal_execute_params", None):
            raise TypeError(f"not a fixed-shape statement (post-compile parameters): {compiled}")
        if compiled.escaped_bind_names:
            raise TypeError(f"escaped bind names are not supported: {compiled}")
        self.sql = compiled.string
        self.positional = compiled.positional
        names = (compiled.positiontup if compiled.positional
                 else list(dict.fromkeys(compiled.bind_names.values())))
        processors = compiled._bind_processors
        # (name, processor or None) in the order the driver wants them.
        self.binds = tuple((name, processors.get(name)) for name in names)
        # Values the statement carries itself (literals, bindparam values); callers' values
        # win over them.
        self.fixed = {
            name: value for name, value in compiled.construct_params(_check=False).items()
            if value is not None
        }
        # Columns of an INSERT/UPDATE whose Python-side default (or onupdate) the caller left
        # out: computed per call, as SQLAlchemy's execution computes them.
        self.defaults = (
            *((column.key, column_default(column)) for column in compiled.insert_prefetch),
            *((column.key, column_default(column, on_update=True))
              for column in compiled.update_prefetch),
        )
        # The result columns' types; their processors depend on the driver's type codes
        # (cursor.description), so they are taken at the first run.
        self.types = tuple(column.type for column in compiled._result_columns)
        self.dialect = dialect
        self.results = None
        # Rows read by position or by the columns' labels (as SQLAlchemy's Row is).
        self.row = namedtuple(
            "Row", [column.keyname for column in compiled._result_columns], rename=True
        )._make if compiled._result_columns else None

    def processors_for(self, description) -> tuple:
        """Return (and keep) the result columns' processors for the driver's description."""
        self.results = tuple(
            kind._cached_result_processor(self.dialect, column[1])
            for kind, column in zip(self.types, description, strict=True)
        )
        return self.results


# Compiled forms a statement keeps (one per dialect, column set and list lengths).
_FORMS_KEPT = 256


def _element(name: str, index: int) -> str:
    """The bind name of a list parameter's element."""
    return f"{name}__{index}"


def _with_lists(statement: ClauseElement, lengths: dict[str, int]) -> ClauseElement:
    """Return the statement with each ``IN`` over a list parameter written as one bind per
    element (``x IN (:ids__0, :ids__1)``): SQLAlchemy renders an expanding IN anew on every
    run. An empty list is ``IN ()``: false (and NOT IN: true), as SQLAlchemy makes it."""
    def replace(element):
        if not (isinstance(element, BinaryExpression) and isinstance(element.right, BindParameter)
                and element.right.expanding):
            return None
        name, kind = element.right.key, element.right.type
        binds = [bindparam(_element(name, index), type_=kind)
                 for index in range(lengths[name])]
        if element.operator is operators.in_op:
            return element.left.in_(binds) if binds else false()
        if element.operator is operators.not_in_op:
            return element.left.not_in(binds) if binds else true()
        raise TypeError(f"an expanding parameter outside IN: {element}")

    return visitors.replacement_traverse(statement, {}, replace)


def column_default(column, *, on_update: bool = False):
    """Return a function of nothing giving a column's Python-side default on INSERT (or its
    onupdate value on UPDATE), as SQLAlchemy's execution computes it; None for a column
    without one."""
    default = column.onupdate if on_update else column.default
    if default is None:
        return None
    if default.is_callable:
        return lambda: default.arg(None)
    if default.is_scalar:
        return lambda: default.arg
    raise TypeError(f"{column}: a default only the database can compute")


class Plain:
    """A statement compiled once per dialect (and per set of column keys for INSERT and
    UPDATE), run on the DB-API cursor of the session's connection, in its transaction."""

    __slots__ = ("statement", "_compiled", "_lists")

    def __init__(self, statement: ClauseElement):
        self.statement = statement
        self._compiled: dict[tuple, _Compiled] = {}
        # The names of its expanding IN parameters (lists): one compiled form per length.
        self._lists = tuple(sorted({
            element.key for element in visitors.iterate(statement)
            if isinstance(element, BindParameter) and element.expanding
        }))

    def _for(self, connection: Connection, keys: tuple[str, ...] | None,
             lengths: tuple[int, ...] = ()) -> _Compiled:
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, keys, lengths)
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) >= _FORMS_KEPT:
                self._compiled.clear()  # list lengths seldom seen: start again
            statement = self.statement
            if lengths:
                statement = _with_lists(statement, dict(zip(self._lists, lengths, strict=True)))
            found = self._compiled.setdefault(key, _Compiled(statement, dialect, keys))
        return found

    def _spread(self, params: Mapping[str, Any]) -> tuple[dict, tuple[int, ...]]:
        """Return the parameters with each list given as one value per element, and the
        lists' lengths."""
        spread = dict(params)
        lengths = []
        for name in self._lists:
            values = spread.pop(name, None)
            if not isinstance(values, list | tuple):
                raise TypeError(f"parameter {name!r} needs a list, not {values!r}")
            lengths.append(len(values))
            for index, value in enumerate(values):
                spread[_element(name, index)] = value
        return spread, tuple(lengths)

    def _arguments(self, compiled: _Compiled, params: Mapping[str, Any]) -> Sequence | dict:
        values = compiled.fixed
        if values:
            values = {**values, **params}
        else:
            values = params
        if compiled.defaults:
            values = dict(values)
            for key, default in compiled.defaults:
                if key not in values:
                    values[key] = default()
        arguments = []
        for name, process in compiled.binds:
            try:
                value = values[name]
            except KeyError:
                raise TypeError(f"no value for parameter {name!r} of: {compiled.sql}") from None
            arguments.append(value if process is None or value is None else process(value))
        if compiled.positional:
            return arguments
        return dict(zip((name for name, _ in compiled.binds), arguments, strict=True))

    def execute(self, params: Mapping[str, Any] | None = None, *,
                columns: bool = False) -> list[tuple] | int:
        """Run the statement with `params` (bind names, or column keys for INSERT/UPDATE,
        whose set picks the columns written); return its rows (processed by the result
        column types) when it returns any, else the number of rows it changed.

        `columns`: the params are column values of an INSERT/UPDATE (every call with the
        same set of keys shares one compiled form).
        """
        params = params or {}
        lengths = ()
        if self._lists:
            params, lengths = self._spread(params)
        connection = db.session.connection()
        compiled = self._for(connection, tuple(sorted(params)) if columns else None, lengths)
        description, rows = _run(connection, compiled, self._arguments(compiled, params))
        if description is None:
            return rows
        processors, make = compiled.results, compiled.row
        if processors is None:
            processors = compiled.processors_for(description)
        if not any(processors):
            return [make(row) for row in rows]
        return [
            make(value if process is None else process(value)
                 for value, process in zip(row, processors, strict=True))
            for row in rows
        ]

    def executemany(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run an INSERT/UPDATE once per row of column values (all rows with the same keys)."""
        if not rows:
            return
        connection = db.session.connection()
        compiled = self._for(connection, tuple(sorted(rows[0])))
        _run(connection, compiled, [self._arguments(compiled, row) for row in rows], many=True)

    def scalar(self, params: Mapping[str, Any] | None = None, *, columns: bool = False) -> Any:
        """Return the first column of the first row, or None without rows."""
        rows = self.execute(params, columns=columns)
        return rows[0][0] if rows else None

    def first(self, params: Mapping[str, Any] | None = None) -> tuple | None:
        """Return the first row, or None."""
        rows = self.execute(params)
        return rows[0] if rows else None


def _run(connection: Connection, compiled: _Compiled, arguments, *, many: bool = False
         ) -> tuple[Any, list | int]:
    """Run a compiled statement on the connection's DB-API cursor; return the cursor's
    description and its rows (or the row count when it returns none).

    The driver's errors go through SQLAlchemy's own handling, so callers and error handlers
    see what they see from any statement (IntegrityError, OperationalError for a full or
    locked database, a dropped connection invalidated in the pool).
    """
    cursor = None
    try:
        cursor = connection.connection.dbapi_connection.cursor()
        if connection.dispatch.before_cursor_execute:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, compiled.sql, arguments, None, many)
        if many:
            cursor.executemany(compiled.sql, arguments)
            return None, cursor.rowcount
        cursor.execute(compiled.sql, arguments)
        description = cursor.description
        if description is None:
            return None, cursor.rowcount
        return description, cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as error:
        # (SQLAlchemy's one handler for a driver error: wraps it, invalidates a dropped
        # connection, runs handle_error listeners; a private method, pinned with
        # SQLAlchemy <2.2 and covered by tests/test_plain_sql.py.)
        connection._handle_dbapi_exception(error, compiled.sql, arguments, cursor, None)
    finally:
        if cursor is not None:
            cursor.close()
