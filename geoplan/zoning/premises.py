"""Vacant premises counted per land-use purpose: how much of what is for rent lies in areas the
zoning plans set aside for business, centre purposes, housing...

A premises counts for a purpose when its position lies in (or on the edge of) an area with that
arealformål. Plans overlap (a newer plan over an older one, several vertical levels), so one
premises may count for more than one purpose; ``in_land_use`` counts each premises once.
Withdrawn listings are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import psycopg

from geoplan.errors import NotFoundError


@dataclass
class PurposeCount:
    """One arealformål: its areas in the plans and the vacant premises inside them."""

    code: int
    name: str
    main_purpose: str
    areas: int
    area_m2: float
    premises: int
    floor_area_m2: float
    sample_premises: int  # of ``premises``, how many are sample data


@dataclass
class LandUsePremises:
    plan: str | None  # the plan counted, or None for all stored plans
    plans: int
    vacant_premises: int  # available premises in the store
    in_land_use: int  # of them, inside at least one land-use area
    purposes: list[PurposeCount] = field(default_factory=list)

    @property
    def outside_land_use(self) -> int:
        return self.vacant_premises - self.in_land_use

    def to_dict(self) -> dict:
        return {**asdict(self), "outside_land_use": self.outside_land_use}


_IN_KOMMUNER = "(%(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s))"
_LAND_USE = (
    f"(SELECT * FROM land_use WHERE (%(plan)s::text IS NULL OR plan = %(plan)s) AND {_IN_KOMMUNER})"
)
_VACANT = (
    "(SELECT id, floor_area_m2, sample, geom FROM premises WHERE status = 'available' "
    f"AND {_IN_KOMMUNER})"
)


def vacant_premises_by_land_use(
    conn: psycopg.Connection, plan: str | None = None, kommuner: Sequence[str] | None = None
) -> LandUsePremises:
    """Vacant premises per arealformål over all stored plans, or over ``plan`` (its id);
    ``kommuner`` narrows both the land-use areas and the premises to those municipalities."""
    if plan is not None and "\x00" in plan:  # PostgreSQL text cannot hold it: no such plan
        raise NotFoundError(f"no plan {plan!r} is stored")
    params = {"plan": plan, "k": list(kommuner) if kommuner is not None else None}
    plans = conn.execute(
        "SELECT count(*) FROM plans WHERE (%(plan)s::text IS NULL OR id = %(plan)s) "
        f"AND {_IN_KOMMUNER}",
        params,
    ).fetchone()[0]
    if plan is not None and plans == 0:
        raise NotFoundError(f"no plan {plan!r} is stored; import it with `geoplan import-plan`")
    rows = conn.execute(
        f"""
        WITH lu AS {_LAND_USE}, vac AS {_VACANT},
             hits AS (SELECT DISTINCT lu.code, v.id, v.floor_area_m2, v.sample
                      FROM lu JOIN vac v ON ST_Covers(lu.geom, v.geom))
        SELECT a.code, a.name, a.main_purpose, a.areas, a.area_m2,
               coalesce(h.premises, 0), coalesce(h.floor_area_m2, 0), coalesce(h.sample, 0)
        FROM (SELECT code, min(name) AS name, min(main_purpose) AS main_purpose,
                     count(*) AS areas, sum(ST_Area(geom)) AS area_m2
              FROM lu GROUP BY code) a
        LEFT JOIN (SELECT code, count(*) AS premises, sum(floor_area_m2) AS floor_area_m2,
                          count(*) FILTER (WHERE sample) AS sample
                   FROM hits GROUP BY code) h USING (code)
        ORDER BY a.code""",
        params,
    ).fetchall()
    vacant, inside = conn.execute(
        f"""WITH lu AS {_LAND_USE}
            SELECT count(*), count(*) FILTER (
                     WHERE EXISTS (SELECT 1 FROM lu WHERE ST_Covers(lu.geom, v.geom)))
            FROM {_VACANT} v""",
        params,
    ).fetchone()
    return LandUsePremises(
        plan=plan,
        plans=int(plans),
        vacant_premises=int(vacant),
        in_land_use=int(inside),
        purposes=[
            PurposeCount(
                code=int(r[0]),
                name=r[1],
                main_purpose=r[2],
                areas=int(r[3]),
                area_m2=round(float(r[4]), 1),
                premises=int(r[5]),
                floor_area_m2=round(float(r[6]), 1),
                sample_premises=int(r[7]),
            )
            for r in rows
        ],
    )
