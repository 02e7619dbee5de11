"""Writing the municipalities: the national register, the ones a store serves, and every
feature's ``kommunenummer`` where it is still missing.

- :func:`load_national` fills the table ``municipalities`` from the national file in
  ``layers/`` (:data:`~geoplan.geo.municipalities.NATIONAL_FILE`: all 357 municipalities of
  2024, generalised, © Kartverket CC BY 4.0 via robhop/fylker-og-kommuner). The file's
  polygons are not all valid — 33 of them cross themselves where the generalisation folded a
  border — so each is made valid in PostGIS (``ST_MakeValid``, keeping the polygon parts) after
  reprojection, and the result is checked: every polygon valid and non-empty, and no repaired
  polygon's area changed by more than :data:`MAX_REPAIR_CHANGE` (measured: at most 0.01 %).
  It runs again only when the file changed (its MD5 is stored with the rows).
- :func:`serve` makes the store serve the chosen municipalities (``geoplan init --kommune``):
  their boundary rows come from the register, except where the store already holds a boundary
  for that number (a finer one, e.g. Lørenskog's shipped ``boundary.geojson``); boundaries of
  other municipalities are removed.
- :func:`backfill` gives rows written before migration 0005 (or before the register was
  loaded) their ``kommunenummer``: ``geoplan db up`` and ``geoplan load`` run it, so an
  existing installation migrates in place. New rows get theirs from the store's trigger.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geoplan.config import REPO_ROOT, STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.municipalities import NATIONAL_FILE, Kommune, check_known, served
from geoplan.vocab import KOMMUNENUMMER_PATTERN

NATIONAL_VALID_FROM = 2024
NATIONAL_PROVENANCE: dict[str, object] = {
    "source": "Kartverket, Administrative enheter – kommuner (via robhop/fylker-og-kommuner, "
    "generalised; kommuner_norge_2024.geojson)",
    "source_url": "https://github.com/robhop/fylker-og-kommuner",
    "licence": "CC BY 4.0 © Kartverket",
    "accuracy_m": 200.0,
    "verified": False,
    "sample": False,
}
"""Provenance of every register row and of every boundary taken from it."""
MAX_REPAIR_CHANGE = 0.001
"""Largest relative area change accepted when an invalid polygon is made valid (0.1 %)."""
FEATURE_TABLES = ("boundary", "areas", "hubs", "premises")
"""The layers that carry a ``kommunenummer``, boundary first (the others look it up there)."""


def national_file(layers_dir: Path | str) -> Path:
    """The national file in ``layers_dir``, else the one shipped with geoplan (a custom
    ``GEOPLAN_LAYERS_DIR`` need not copy it)."""
    own = Path(layers_dir) / NATIONAL_FILE
    return own if own.exists() else REPO_ROOT / "layers" / NATIONAL_FILE


@dataclass(frozen=True)
class NationalFile:
    """The national file, read and checked: number → name, and each geometry as GeoJSON text."""

    path: Path
    md5: str
    names: dict[str, str]
    geometries: dict[str, str]

    def check_known(self, numbers: Sequence[str], field: str = "kommune") -> None:
        """:func:`geoplan.geo.municipalities.check_known` against the file (no store needed)."""
        unknown = [n for n in numbers if n not in self.names]
        if unknown:
            raise ValidationError(
                f"{field}: unknown kommunenummer {unknown[0]!r}: no municipality has that "
                f"number in the national register ({self.path.name}, "
                f"{len(self.names)} municipalities)",
                field=field,
            )


def read_national(path: Path | str) -> NationalFile:
    """Read the national file; :class:`ValidationError` naming the file and feature when it is
    not a FeatureCollection of municipalities (``kommunenummer``, ``kommunenavn``, polygons)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
        features = doc["features"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError(
            f"{path}: not a GeoJSON FeatureCollection of municipalities", field="kommune"
        ) from None
    names: dict[str, str] = {}
    geometries: dict[str, str] = {}
    rule = re.compile(KOMMUNENUMMER_PATTERN)
    for i, f in enumerate(features, 1):
        props = (f or {}).get("properties") or {}
        number, name = props.get("kommunenummer"), props.get("kommunenavn")
        geometry = (f or {}).get("geometry") or {}
        problem = (
            "kommunenummer is not four digits"
            if not isinstance(number, str) or not rule.fullmatch(number)
            else "kommunenavn is missing"
            if not isinstance(name, str) or not name.strip()
            else f"geometry is {geometry.get('type')}, expected Polygon or MultiPolygon"
            if geometry.get("type") not in ("Polygon", "MultiPolygon")
            else f"kommunenummer {number} appears twice"
            if number in names
            else None
        )
        if problem:
            raise ValidationError(f"{path}: feature {i}: {problem}", field="kommune")
        names[number] = name.strip()
        geometries[number] = json.dumps(geometry)
    return NationalFile(path, hashlib.md5(raw).hexdigest(), names, geometries)


@dataclass(frozen=True)
class RegisterLoad:
    """What :func:`load_national` did: the register's size, whether it was (re)loaded now, and
    how many of the file's polygons were made valid."""

    path: Path
    municipalities: int
    loaded: bool
    repaired: int = 0


def load_national(conn: psycopg.Connection, path: Path | str) -> RegisterLoad:
    """Fill ``municipalities`` from the national file (in the caller's transaction), unless it
    already holds this very file. Raises :class:`ValidationError` if a polygon cannot be made
    valid without changing its area."""
    national = read_national(path)
    stored = conn.execute(
        "SELECT count(*), array_agg(DISTINCT file_md5) FROM municipalities"
    ).fetchone()
    if stored[0] == len(national.names) and stored[1] == [national.md5]:
        return RegisterLoad(national.path, stored[0], loaded=False)
    numbers = list(national.names)
    conn.execute("DROP TABLE IF EXISTS _geoplan_national")
    # Validity is counted as the file has it (WGS84): 33 of its polygons cross themselves.
    # They are made valid after reprojection, where the store keeps them (one of the 33 is
    # valid in EPSG:25833 already; ST_MakeValid leaves valid polygons as they are).
    conn.execute(
        f"""CREATE TEMP TABLE _geoplan_national ON COMMIT DROP AS
            SELECT nr, name, raw, was_valid,
                   ST_Multi(ST_CollectionExtract(ST_MakeValid(raw), 3)) AS geom
            FROM (SELECT nr, name, ST_IsValid(g) AS was_valid,
                         ST_Transform(g, {STORAGE_SRID}) AS raw
                  FROM (SELECT nr, name, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) AS g
                        FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(nr, name, g)) u
                 ) s""",
        (numbers, [national.names[n] for n in numbers], [national.geometries[n] for n in numbers]),
    )
    bad = conn.execute(
        """SELECT nr, name, ST_IsValid(geom) AND NOT ST_IsEmpty(geom),
                  abs(ST_Area(geom) - ST_Area(raw)) / nullif(ST_Area(raw), 0)
           FROM _geoplan_national
           WHERE NOT (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
              OR (NOT was_valid
                  AND abs(ST_Area(geom) - ST_Area(raw)) > %s * ST_Area(raw))
           ORDER BY nr LIMIT 1""",
        (MAX_REPAIR_CHANGE,),
    ).fetchone()
    if bad is not None:
        nr, name, valid, change = bad
        why = "cannot be made valid" if not valid else f"changes area by {change:.2%} when repaired"
        raise ValidationError(f"{national.path}: {name} ({nr}): the polygon {why}", field="kommune")
    repaired = conn.execute(
        "SELECT count(*) FROM _geoplan_national WHERE NOT was_valid"
    ).fetchone()[0]
    conn.execute("DELETE FROM municipalities")
    p = NATIONAL_PROVENANCE
    conn.execute(
        """INSERT INTO municipalities (kommunenummer, name, valid_from, file_md5, geom, source,
                                       source_url, licence, accuracy_m, verified, sample)
           SELECT nr, name, %s, %s, geom, %s, %s, %s, %s, %s, %s FROM _geoplan_national""",
        (
            NATIONAL_VALID_FROM,
            national.md5,
            p["source"],
            p["source_url"],
            p["licence"],
            p["accuracy_m"],
            p["verified"],
            p["sample"],
        ),
    )
    conn.execute("DROP TABLE _geoplan_national")
    conn.execute("ANALYZE municipalities")
    return RegisterLoad(national.path, len(numbers), loaded=True, repaired=repaired)


def serve(conn: psycopg.Connection, numbers: Sequence[str]) -> list[Kommune]:
    """Make the store serve the municipalities ``numbers`` (already format-checked, see
    :func:`geoplan.geo.municipalities.parse_kommuner`): keep the boundary rows it holds for
    them, add the register's boundary for the others, and remove every other boundary row.

    Rows of the other layers are kept, each with its ``kommunenummer`` (scope them with
    ``kommune=``). Raises :class:`ValidationError` for a number not in the register.
    """
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM municipalities)").fetchone()[0]:
        raise ValidationError(
            "the national register of municipalities is empty; run `geoplan db up` (or "
            "`geoplan load`) first",
            field="kommune",
        )
    numbers = list(numbers)
    check_known(conn, numbers)
    conn.execute(
        "DELETE FROM boundary WHERE kommunenummer IS NULL OR NOT kommunenummer = ANY(%s)",
        (numbers,),
    )
    conn.execute(
        """INSERT INTO boundary (id, name, kommunenummer, valid_from, geom, source, source_url,
                                 licence, accuracy_m, verified, sample)
           SELECT m.kommunenummer, m.name, m.kommunenummer, m.valid_from, m.geom, m.source,
                  m.source_url, m.licence, m.accuracy_m, m.verified, m.sample
           FROM municipalities m
           WHERE m.kommunenummer = ANY(%s)
             AND NOT EXISTS (SELECT 1 FROM boundary b WHERE b.kommunenummer = m.kommunenummer)
           ON CONFLICT (id) DO UPDATE SET
               name = EXCLUDED.name, kommunenummer = EXCLUDED.kommunenummer,
               valid_from = EXCLUDED.valid_from, geom = EXCLUDED.geom, source = EXCLUDED.source,
               source_url = EXCLUDED.source_url, licence = EXCLUDED.licence,
               accuracy_m = EXCLUDED.accuracy_m, verified = EXCLUDED.verified,
               sample = EXCLUDED.sample""",
        (numbers,),
    )
    return served(conn)


def backfill(conn: psycopg.Connection) -> dict[str, int]:
    """Derive ``kommunenummer`` for the rows of every layer that lack one (table → rows given
    one). Rows the store cannot place (outside every municipality) stay without."""
    done: dict[str, int] = {}
    for table in FEATURE_TABLES:
        served_first = "false" if table == "boundary" else "true"
        cur = conn.execute(
            f"""UPDATE {table} t SET kommunenummer = d.nr
                FROM (SELECT id, geoplan_kommunenummer(geom, {served_first}) AS nr
                      FROM {table} WHERE kommunenummer IS NULL) d
                WHERE d.id = t.id AND d.nr IS NOT NULL"""
        )
        done[table] = cur.rowcount
    return done


@dataclass(frozen=True)
class Refresh:
    """What :func:`refresh` did: the register load and the rows backfilled, by table."""

    register: RegisterLoad
    backfilled: dict[str, int]


def refresh(conn: psycopg.Connection, layers_dir: Path | str) -> Refresh:
    """The register from the national file (when it changed), then :func:`backfill`: what
    ``geoplan db up`` and ``geoplan load`` run after migrating."""
    register = load_national(conn, national_file(layers_dir))
    return Refresh(register, backfill(conn))
