"""hostile input: no stored number is infinite, NaN or beyond its plausible range; premises
history is stamped with the time of the change.

Before this revision ``inf`` in a CSV or ``Infinity`` in a GeoJSON number column imported
(issue 14): the API then served ``"floor_area_m2": "Infinity"``, coverage totals became null and
exports invalid JSON; two listings of 1e308 m² overflowed every coverage sum. The imports and the
API now refuse such values, and these CHECK constraints make sure no other path can store them:

* the numbers a layer description (``geoplan/layers/spec.py``) bounds get that range — floor
  area (0, 1 000 000] m², rent [0, 100 000] NOK/m²/year, accuracy [0, 100 000] m, departures
  [0, 1 000] per hour, a boundary's ``valid_from`` year [1800, 2200]. A range check also refuses
  ±Infinity and NaN (PostgreSQL sorts NaN above every number). ``tests/hostile`` checks that
  these bounds are the layer description's;
* every other float column is checked to be finite (zoning utilisation, the walking network's
  costs and lengths, address streets' radius).

Rows that break a new check can only have been stored by the defect. They are not changed
here: the revision stops with a message naming the table, column and rows, and says how to
correct them, so that nothing is silently rewritten.

``premises_history.at`` defaulted to ``now()``, the start of the writing transaction, so 30
parallel PATCHes recorded times out of order; it now defaults to ``clock_timestamp()`` (the
writes set it so too) and the history is read in version order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FINITE = "{c} > '-Infinity'::float8 AND {c} < 'Infinity'::float8"
ACCURACY = "accuracy_m BETWEEN 0 AND 100000"
DEPARTURES = "departures_per_hour BETWEEN 0 AND 1000"

CHECKS: dict[str, dict[str, str]] = {
    "boundary": {"accuracy_m": ACCURACY, "valid_from": "valid_from BETWEEN 1800 AND 2200"},
    "areas": {"accuracy_m": ACCURACY},
    "hubs": {"accuracy_m": ACCURACY, "departures_per_hour": DEPARTURES},
    "hub_stops": {"accuracy_m": ACCURACY, "departures_per_hour": DEPARTURES},
    "premises": {
        "accuracy_m": ACCURACY,
        "floor_area_m2": "floor_area_m2 > 0 AND floor_area_m2 <= 1000000",
        "rent_nok_m2_year": "rent_nok_m2_year BETWEEN 0 AND 100000",
    },
    "addresses": {"accuracy_m": ACCURACY},
    "plans": {"accuracy_m": ACCURACY},
    "land_use": {
        "accuracy_m": ACCURACY,
        "utilisation": FINITE.format(c="utilisation"),
        "utilisation_min": FINITE.format(c="utilisation_min"),
    },
    "walk_edges": {c: FINITE.format(c=c) for c in ("cost", "reverse_cost", "length_m")},
    "address_streets": {"radius_m": FINITE.format(c="radius_m")},
    "premises_tile_cells": {c: FINITE.format(c=c) for c in ("sx", "sy")},
}
"""table → column → the condition every non-NULL value must meet (constraint
``<table>_<column>_range``)."""
KEYS = {
    "address_streets": "kommunenummer || ':' || adressekode",
    "premises_tile_cells": "z || '/' || cx || '/' || cy || '/' || status",
}
"""How a message names a row of a table without an ``id``."""
SHOW = 5


def _broken(table: str, column: str, check: str) -> tuple[int, list[str]]:
    bind = op.get_bind()
    key = KEYS.get(table, "id::text")
    rows = bind.exec_driver_sql(
        f"SELECT count(*) OVER (), {key} FROM {table} "
        f"WHERE {column} IS NOT NULL AND NOT ({check}) ORDER BY 2 LIMIT {SHOW}"
    ).fetchall()
    return (rows[0][0] if rows else 0), [r[1] for r in rows]


def upgrade() -> None:
    problems = []
    for table, columns in CHECKS.items():
        for column, check in columns.items():
            n, keys = _broken(table, column, check)
            if n:
                more = f" and {n - len(keys)} more" if n > len(keys) else ""
                problems.append(
                    f"{table}.{column} of {n} row{'s' if n > 1 else ''} "
                    f"({', '.join(keys)}{more}) is not a finite number within {check!r}"
                )
    if problems:
        from geoplan.store.db import DatabaseError

        raise DatabaseError(
            "cannot add the checks on stored numbers (schema revision hostile_input): "
            + "; ".join(problems)
            + ". An earlier version of geoplan stored these values by mistake; correct or "
            "delete those rows (`geoplan db shell`, e.g. UPDATE premises SET floor_area_m2 = "
            "<the real area> WHERE id = '<id>'), or re-import them, then run `geoplan db up` again"
        )
    for table, columns in CHECKS.items():
        for column, check in columns.items():
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_range CHECK ({check})")
    op.execute("ALTER TABLE premises_history ALTER COLUMN at SET DEFAULT clock_timestamp()")


def downgrade() -> None:
    op.execute("ALTER TABLE premises_history ALTER COLUMN at SET DEFAULT now()")
    for table, columns in CHECKS.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_range")
