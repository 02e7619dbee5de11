"""``GET /healthz``: is the database reachable, and which PostGIS does it run."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends

from api.deps import get_conn
from geoplan.store import db

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(conn: psycopg.Connection = Depends(get_conn)) -> dict:
    return {
        "status": "ok",
        "database": "reachable",
        "postgis_version": db.postgis_version(conn),
        "schema_revision": conn.execute("SELECT version_num FROM alembic_version").fetchone()[0],
    }
