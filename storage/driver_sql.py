"""Fixed statements sent as driver SQL: compiled once per dialect, processed as SQLAlchemy would.

`Connection.execute` on a Core statement looks the statement up in the compiled cache, builds
its parameters and sets up typed result processing on every call; for the webhook's few fixed
statements that bookkeeping costs several times what the database does. A DriverStatement
keeps the compiled SQL and the bind processors of each parameter's type, and sends the
statement with `Connection.exec_driver_sql`: the same SQL and values, the same events (SQLite's
deferred write lock hangs on one) and the same error wrapping and reconnection handling.
Rows come back as the driver returns them; `row_processors` converts them like a typed result.
`fetch_one` reads a row on the driver's own cursor: exec_driver_sql builds a result's column
metadata on every call, which for a row of twenty columns costs more than the query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, CursorResult, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class DriverStatement:
    sql: str
    positional: bool
    # (the name the SQL uses, the caller's key or None for a fixed value, the type's bind
    # processor), in the SQL's order when it is positional
    variables: tuple[tuple[str, str | None, Processor], ...]
    fixed: Mapping[str, Any]  # values the statement itself carries, already processed

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.positional:
            return tuple(
                self.fixed[name] if key is None else _process(proc, values[key])
                for name, key, proc in self.variables
            )
        params = dict(self.fixed)
        for name, key, proc in self.variables:
            if key is not None:
                params[name] = _process(proc, values[key])
        return params

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self.params(values))  # type: ignore[arg-type]


def fetch_one(
    conn: Connection, statement: DriverStatement, values: Mapping[str, Any]
) -> Sequence[Any] | None:
    """The first row of a statement that reads (nothing else: no event sees it), as the
    driver returns it.

    A driver error is handed to SQLAlchemy exactly as one in its own execution is: wrapped
    in its exception classes, and a dead connection invalidated (so that the caller's retry,
    storage.db.retry_on_disconnect, gets a new one).
    """
    params = statement.params(values)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement.sql, params)
        row: Sequence[Any] | None = cursor.fetchone()
    except Exception as exc:
        # SQLAlchemy's own handler (the same in every 2.0 release) keeps this path's errors
        # and disconnects the same as every other statement's.
        conn._handle_dbapi_exception(exc, statement.sql, params, cursor, None)
    finally:
        cursor.close()
    return row


def _process(proc: Processor, value: Any) -> Any:
    return value if proc is None else proc(value)


@functools.lru_cache(maxsize=256)
def driver_statement(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for `dialect`, once (statements are kept by identity).

    Only plain bind parameters are supported: one that expands at execution time (IN lists,
    literal_execute) or computes its value would be sent wrong, so it is refused here.
    """
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    if "__[POSTCOMPILE" in compiled.string or compiled.escaped_bind_names:
        raise ValueError("a statement with expanding or escaped parameters")
    by_name: dict[str, tuple[str | None, Processor, Any]] = {}
    for bind, name in compiled.bind_names.items():
        if bind.callable is not None:
            raise ValueError(f"parameter {name} computes its value")
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        key = bind.key if bind.required else None
        by_name[name] = (key, proc, None if bind.required else _process(proc, bind.value))
    order: Iterable[str] = (compiled.positiontup or ()) if compiled.positional else by_name
    variables = tuple((name, by_name[name][0], by_name[name][1]) for name in order)
    fixed = {name: value for name, (key, _, value) in by_name.items() if key is None}
    return DriverStatement(compiled.string, compiled.positional, variables, fixed)


def row_processors(
    columns: Sequence[ColumnElement[Any]], dialect: Dialect
) -> tuple[Processor, ...]:
    """Each column's result processor: what turns a driver's value into the column type's."""
    return tuple(col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns)


def process_row(processors: Sequence[Processor], row: Sequence[Any]) -> list[Any]:
    return [_process(proc, value) for proc, value in zip(processors, row, strict=True)]
