"""Database work written once for a synchronous connection and for an asyncio one.

The API answers its busiest reads (the premises search, OGC items, nearest hubs) on an asyncio
read pool, without a worker thread; the CLI, the maps and the assessments run the same work on a
``psycopg.Connection``. Rather than writing each twice, such work is a generator of
:data:`Steps`: it *yields* each statement it needs and is *sent* that statement's rows, and
returns its result. :func:`run` drives it on a synchronous connection, :func:`run_async` on an
asyncio one; the work itself never holds a connection, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Generator, Hashable
from typing import Any, Protocol, TypeVar

import psycopg

T = TypeVar("T")
Statement = tuple[str, dict[str, Any] | tuple[Any, ...]]
"""A statement the work asks the database, and its parameters."""
Rows = list[tuple[Any, ...]]
Steps = Generator[Statement, Rows, T]
"""Work that reads the database without holding a connection: it yields each
:data:`Statement` and is sent back its rows, and returns its result."""


class Known(Protocol):
    """Rows of statements asked before, kept by the caller while what they read is unchanged
    (the API keeps a search's lookups per data version)."""

    def get(self, key: Hashable) -> Rows | None: ...

    def put(self, key: Hashable, rows: Rows) -> None: ...


def statement_key(statement: Statement) -> Hashable:
    """``statement`` as a dictionary key (its parameters' lists as tuples)."""
    sql, params = statement

    def frozen(value: Any) -> Hashable:
        return tuple(value) if isinstance(value, list) else value

    if isinstance(params, dict):
        return sql, tuple(sorted((k, frozen(v)) for k, v in params.items()))
    return sql, tuple(frozen(v) for v in params)


def run(conn: psycopg.Connection | None, steps: Steps[T]) -> T:
    """Run ``steps`` on ``conn`` (None for work that turns out to ask nothing)."""
    try:
        statement = next(steps)
        while True:
            if conn is None:
                raise TypeError("this work reads the database: give it a connection")
            statement = steps.send(conn.execute(*statement).fetchall())
    except StopIteration as done:
        return done.value


async def run_async(
    conn: psycopg.AsyncConnection, steps: Steps[T], known: Known | None = None
) -> T:
    """Run ``steps`` on an asyncio connection; a statement ``known`` holds is not asked again
    (and one asked is kept there)."""
    try:
        statement = next(steps)
        while True:
            statement = steps.send(await _rows_async(conn, statement, known))
    except StopIteration as done:
        return done.value


async def _rows_async(
    conn: psycopg.AsyncConnection, statement: Statement, known: Known | None
) -> Rows:
    """The rows of ``statement``: those ``known`` holds, else asked (and kept there)."""
    if known is None:
        return await (await conn.execute(*statement)).fetchall()
    key = statement_key(statement)
    rows = known.get(key)
    if rows is None:
        rows = await (await conn.execute(*statement)).fetchall()
        known.put(key, rows)
    return rows
