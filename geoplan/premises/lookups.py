"""Checks that read the database without holding a connection, so one check runs on a
synchronous connection or on the API's asyncio read pool.

A search's checks look a few things up (is ``kommune`` a municipality, ``area`` a focus area,
does ``near`` lie in the served region). Written as generators that *yield* each statement and
are *sent* its rows, they are one piece of code whatever runs them: :func:`answer` on a
``psycopg.Connection`` (the CLI, the maps, a search naming ``hub``), :func:`answer_async` on
the API's asyncio read pool, where ``GET /premises`` runs them without a worker thread.

A lookup reads only the reference layers (:data:`LOOKUP_LAYERS`), so its rows stay true until
one of them is written: the API keeps them per data version (:class:`Known`) and a repeated
search asks the database only for its results.
"""

from __future__ import annotations

from collections.abc import Generator, Hashable
from typing import Any, Protocol, TypeVar

import psycopg

T = TypeVar("T")
Lookup = tuple[str, dict[str, Any] | tuple[Any, ...]]
"""A statement a check asks the database, and its parameters."""
Checking = Generator[Lookup, list[tuple[Any, ...]], T]
"""A check that reads the database without holding a connection: it yields each
:data:`Lookup` and is sent back its rows, and returns its result — so one check runs on a
synchronous connection (:func:`answer`) or on the API's asyncio read pool
(:func:`answer_async`)."""


LOOKUP_LAYERS: tuple[str, ...] = ("boundary", "areas", "hubs", "municipalities")
"""The layers every lookup reads (``data_versions`` names): its rows hold while none of them
is written."""

Rows = list[tuple[Any, ...]]


class Known(Protocol):
    """Rows of lookups asked before, while :data:`LOOKUP_LAYERS` are unchanged."""

    def get(self, lookup: Hashable) -> Rows | None: ...

    def put(self, lookup: Hashable, rows: Rows) -> None: ...


def lookup_key(lookup: Lookup) -> Hashable:
    """``lookup`` as a dictionary key (its parameters' lists as tuples)."""
    sql, params = lookup

    def frozen(value: Any) -> Hashable:
        return tuple(value) if isinstance(value, list) else value

    if isinstance(params, dict):
        return sql, tuple(sorted((k, frozen(v)) for k, v in params.items()))
    return sql, tuple(frozen(v) for v in params)


def answer(conn: psycopg.Connection | None, checking: Checking[T]) -> T:
    """Run ``checking`` on ``conn`` (None for a check that asks nothing)."""
    try:
        lookup = next(checking)
        while True:
            if conn is None:
                raise TypeError("this check reads the database: give it a connection")
            lookup = checking.send(conn.execute(*lookup).fetchall())
    except StopIteration as done:
        return done.value


async def answer_async(
    conn: psycopg.AsyncConnection, checking: Checking[T], known: Known | None = None
) -> T:
    """Run ``checking`` on an asyncio connection; a lookup ``known`` holds is not asked again
    (and one asked is kept there)."""
    try:
        lookup = next(checking)
        while True:
            lookup = checking.send(await _rows_async(conn, lookup, known))
    except StopIteration as done:
        return done.value


async def _rows_async(conn: psycopg.AsyncConnection, lookup: Lookup, known: Known | None) -> Rows:
    """The rows of ``lookup``: those ``known`` holds, else asked (and kept there)."""
    if known is None:
        return await (await conn.execute(*lookup)).fetchall()
    key = lookup_key(lookup)
    rows = known.get(key)
    if rows is None:
        rows = await (await conn.execute(*lookup)).fetchall()
        known.put(key, rows)
    return rows
