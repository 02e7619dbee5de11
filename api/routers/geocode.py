"""``/geocode``: addresses from the official register (Matrikkelen – Adresse) for free text.

Thin: the query and limit are checked by :mod:`geoplan.addresses` (a ``ValidationError`` naming
``q`` or ``limit`` becomes a 422 problem), which also ranks the candidates.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from api.deps import on_read_connection
from geoplan import addresses

router = APIRouter(tags=["geocoding"])


@router.get("/geocode", summary="Ranked address candidates for a free-text address")
async def geocode(
    request: Request,
    q: str = Query(
        ...,
        description="The address: street, house number and letter, optionally postnummer, "
        f"poststed or kommune (at most {addresses.MAX_QUERY_CHARS} characters). Tolerant of "
        "case, `gt.`/`gate`, `vn.`/`veien`/`vegen`, `pl.`/`plass` and æ/ø/å spelt ae/oe/aa.",
        examples=["Storgata 2, Elverum"],
    ),
    limit: int = Query(
        addresses.DEFAULT_LIMIT, description=f"How many candidates (1–{addresses.MAX_LIMIT})"
    ),
) -> dict:
    """Candidates best first, each with WGS84 ``lon``/``lat`` and EPSG:25833 ``x``/``y``, the
    address text, kommunenummer, ``score`` (0–1), ``match_kind`` (``exact``,
    ``nearest_house_number``, ``street_only``) and provenance (source, licence, dataset date,
    accuracy). An unknown address gives an empty list; an ambiguous one several candidates —
    never a silent guess."""
    return await on_read_connection(request, addresses.geocode_report, q, limit)
