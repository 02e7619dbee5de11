"""``GET /healthz``: is the database reachable, which PostGIS does it run, and — with a read
replica — is the replica reachable and how far behind."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request

from api.deps import on_primary
from geoplan.store import db
from geoplan.store.replication import format_lsn, standby_state, wal_position

router = APIRouter(tags=["health"])


async def replica_health(request: Request) -> dict[str, Any] | None:
    """The read replica's state (None without one). A replica outage is reported, not failed:
    the primary serves its reads meanwhile."""
    replica = request.app.state.replica
    if replica is None:
        return None
    try:
        async with replica.read_connection(request) as conn:
            in_recovery, replayed = await standby_state(conn)
    except (db.DatabaseUnavailableError, psycopg.OperationalError):
        return {"status": "unreachable", "reads_from": "primary"}
    return {
        "status": "reachable",
        "reads_from": "replica",
        "in_recovery": in_recovery,
        "replay_lsn": replayed,
    }


@router.get("/healthz", summary="Service and database health")
async def healthz(
    request: Request, replica: dict[str, Any] | None = Depends(replica_health)
) -> dict:
    return await on_primary(request, _health, replica)


def _health(conn: psycopg.Connection, replica: dict[str, Any] | None) -> dict:
    health: dict[str, Any] = {
        "status": "ok",
        "database": "reachable",
        "postgis_version": db.postgis_version(conn),
        "schema_revision": conn.execute("SELECT version_num FROM alembic_version").fetchone()[0],
    }
    if replica is not None:
        if replica.get("replay_lsn") is not None:
            replica["lag_bytes"] = max(0, wal_position(conn) - replica["replay_lsn"])
            replica["replay_lsn"] = format_lsn(replica["replay_lsn"])
        health["read_replica"] = replica
    return health
