"""Reading from a streaming replica without reading the past: positions in the write-ahead log.

Every write commits on the primary at a position in its write-ahead log (WAL, an LSN such as
``0/3000148``); a streaming replica applies ("replays") the primary's WAL a moment later. Reads
may go to a replica, but a client that has just written must not be sent to one that has not
yet replayed its write, or it would not see what it was just told is saved. So after a write the
API hands the client :func:`wal_position` of the primary; a read carrying that position goes to a
replica only once :func:`replay_position` there has reached it (``api/consistency.py``).

LSNs travel as PostgreSQL prints them (``pg_lsn``: two hexadecimal halves) and are compared as
integers here, so no comparison needs a round trip.
"""

from __future__ import annotations

import re

import psycopg

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str | None) -> int | None:
    """``'0/3000148'`` → an integer; ``None`` for anything else (a mangled cookie is no error:
    the read simply goes to the primary or the replica as if no write had been made)."""
    m = _LSN.fullmatch(text.strip()) if text else None
    return (int(m.group(1), 16) << 32) | int(m.group(2), 16) if m else None


def format_lsn(lsn: int) -> str:
    """An integer LSN as PostgreSQL writes it: ``'0/3000148'``."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


WAL_POSITION_SQL = "SELECT pg_current_wal_insert_lsn()::text"
"""The primary's WAL insert position: past every transaction committed before it is asked."""

REPLAY_POSITION_SQL = "SELECT pg_last_wal_replay_lsn()::text"
"""How far a replica has replayed the primary's WAL (NULL on a primary)."""


def wal_position(conn: psycopg.Connection) -> int:
    """The primary's WAL position now: a read that waits for it sees every commit before."""
    return parse_lsn(conn.execute(WAL_POSITION_SQL).fetchone()[0])  # type: ignore[index,return-value]


def replay_position(conn: psycopg.Connection) -> int | None:
    """How far the replica behind ``conn`` has replayed; ``None`` when ``conn`` is a primary."""
    return parse_lsn(conn.execute(REPLAY_POSITION_SQL).fetchone()[0])  # type: ignore[index]


async def replay_position_async(conn: psycopg.AsyncConnection) -> int | None:
    """:func:`replay_position` on an asyncio connection."""
    cur = await conn.execute(REPLAY_POSITION_SQL)
    row = await cur.fetchone()
    return parse_lsn(row[0])  # type: ignore[index]


def in_recovery(conn: psycopg.Connection) -> bool:
    """True on a replica (a server replaying another's WAL), False on a primary."""
    return bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])  # type: ignore[index]


async def standby_state(conn: psycopg.AsyncConnection) -> tuple[bool, int | None]:
    """Whether the server behind ``conn`` is a replica, and how far it has replayed."""
    cur = await conn.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
    row = await cur.fetchone()
    return bool(row[0]), parse_lsn(row[1])  # type: ignore[index]
