"""Checks that read the database without holding a connection, so one check runs on a
synchronous connection or on the API's asyncio read pool.

A search's checks look a few things up (is ``kommune`` a municipality, ``area`` a focus area,
does ``near`` lie in the served region). Written as generators that *yield* each statement and
are *sent* its rows, they are one piece of code whatever runs them: :func:`answer` on a
``psycopg.Connection`` (the CLI, the maps, a search naming ``hub``), :func:`answer_async` on
the API's asyncio read pool, where ``GET /premises`` runs them without a worker thread.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")
Lookup = tuple[str, dict[str, Any] | tuple[Any, ...]]
"""A statement a check asks the database, and its parameters."""
Checking = Generator[Lookup, list[tuple[Any, ...]], T]
"""A check that reads the database without holding a connection: it yields each
:data:`Lookup` and is sent back its rows, and returns its result — so one check runs on a
synchronous connection (:func:`answer`) or on the API's asyncio read pool
(:func:`answer_async`)."""


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


async def answer_async(conn: psycopg.AsyncConnection, checking: Checking[T]) -> T:
    """Run ``checking`` on an asyncio connection."""
    try:
        lookup = next(checking)
        while True:
            rows = await (await conn.execute(*lookup)).fetchall()
            lookup = checking.send(rows)
    except StopIteration as done:
        return done.value
