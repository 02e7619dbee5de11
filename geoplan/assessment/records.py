"""Stored cases: an assessment with its id, time and author, and reading one back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from geoplan.config import STORAGE_SRID
from geoplan.errors import NotFoundError


def store_assessment(
    conn: psycopg.Connection, result: dict[str, Any], created_by: str | None = None
) -> dict[str, Any]:
    """Store a case (id + timestamp added here, never inside the assessment itself)."""
    case_id = "asm-" + uuid.uuid4().hex[:12]
    created_at = conn.execute(
        """
        INSERT INTO assessments (id, created_by, use, verdict, input, result, geom)
        VALUES (%s, %s, %s, %s, %s, %s,
                ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s))
        RETURNING created_at
        """,
        (
            case_id,
            created_by,
            result["input"]["use"],
            result["verdict"],
            json.dumps(result["input"]),
            json.dumps(result),
            json.dumps(result["facts"]["site"]["geometry_wgs84"]),
            STORAGE_SRID,
        ),
    ).fetchone()[0]
    return _record(case_id, created_at, created_by, result)


def get_assessment(conn: psycopg.Connection, case_id: str) -> dict[str, Any]:
    if "\x00" in case_id:  # no id holds one (PostgreSQL text cannot)
        raise NotFoundError(f"assessment {case_id!r} does not exist")
    row = conn.execute(
        "SELECT id, created_at, created_by, result FROM assessments WHERE id = %s", (case_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"assessment {case_id!r} does not exist")
    return _record(*row)


def _record(case_id: str, created_at: Any, created_by: str | None, result: dict) -> dict[str, Any]:
    return {
        "id": case_id,
        "created_at": created_at.isoformat() if created_at is not None else None,
        "created_by": created_by,
        **result,
    }
