"""``/plans``: zoning plans — vacant premises counted per land-use purpose.

Thin: one call into :mod:`geoplan.zoning`; the plans and their land-use areas themselves are
served as OGC API – Features collections (``/ogc/collections/plans``, ``.../land_use``).
"""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Query, Request

from api.deps import on_read_connection
from geoplan import zoning

router = APIRouter(prefix="/plans", tags=["plans"])


@router.get(
    "/land-use/premises", summary="Vacant premises per land-use purpose (arealformål) of the plans"
)
async def land_use_premises(
    request: Request,
    plan: str | None = Query(
        None, description="A plan's id (<kommunenummer>_<planidentifikasjon>); all when omitted"
    ),
) -> dict:
    """Per arealformål: its areas in the stored plans and the vacant premises inside them
    (count, floor area, how many are sample data); plus how many vacant premises lie in no
    land-use area. A premises in overlapping areas counts for each of their purposes."""
    return await on_read_connection(request, _by_land_use, plan)


def _by_land_use(conn: psycopg.Connection, plan: str | None) -> dict:
    return zoning.vacant_premises_by_land_use(conn, plan).to_dict()
