"""``geoplan import-addresses``: a Matrikkelen – Adresse file into the ``addresses`` table.

All or nothing, inside the caller's transaction: the file is read and checked completely
(:mod:`geoplan.addresses.matrikkel`), then checked against the municipality the store serves,
then the municipality's addresses are *replaced* — every row of each kommunenummer in the file
is deleted and the file's rows copied in — so importing a newer extract of the same
municipality is safe to repeat and leaves exactly the file's addresses.

"The municipality the store serves" is the loaded ``boundary`` (see :mod:`geoplan.geo.region`):
when the boundary rows carry kommunenummer, the file's must be among them; and every address
must lie within the region margin of the boundary (else of Lørenskog's envelope, when no
boundary is loaded). A file for another municipality is refused with a message that says which
boundary to load.

Provenance of every row: ``source`` (Kartverket, the dataset and the file name),
``source_url`` (the dataset on Geonorge), ``licence`` (CC BY 4.0 © Kartverket), the dataset date
(the file's ``datauttaksdato``), ``accuracy_m`` (:data:`DEFAULT_ACCURACY_M` unless told),
``verified`` (true: the official register) and ``sample`` (false unless told).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import shapely

from geoplan.addresses.matrikkel import SHOW_ERRORS, AddressFileError, AddressRows, read_addresses
from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import region
from geoplan.layers.spec import ProvenanceDefaults, provenance_columns

LICENCE = "CC BY 4.0 © Kartverket"
SOURCE_URL = (
    "https://kartkatalog.geonorge.no/metadata/matrikkelen-adresse/"
    "f7df7a18-b30f-4745-bd64-d0863812350c"
)
DATASET = "Kartverket, Matrikkelen – Adresse"
PROVENANCE_BY_NAME = {c.name: c for c in provenance_columns()}
DEFAULT_ACCURACY_M = 10.0
"""The register gives no accuracy per address. Its points mark the building's entrance or the
middle of the property; geoplan assumes they are within about 10 m of where a visitor arrives.
A planner who knows better passes ``--accuracy-m``."""

Progress = Callable[[str, int, int | None], None]

COLUMNS = (
    "lokalid",
    "kommunenummer",
    "kommunenavn",
    "adressekode",
    "adressenavn",
    "nummer",
    "bokstav",
    "adressetilleggsnavn",
    "adresse_tekst",
    "postnummer",
    "poststed",
    "street_key",
    "street_loose",
    "dataset_date",
    "attributes",
    "geom",
    "source",
    "source_url",
    "licence",
    "accuracy_m",
    "verified",
    "sample",
)


AddressProvenance = ProvenanceDefaults
"""Provenance for the imported rows; ``None`` means the default named in the module doc."""


@dataclass(frozen=True)
class AddressImport:
    """What an import did."""

    source_name: str
    rows: int
    replaced: int  # rows of the same municipalities (or the same lokalid) that were deleted
    kommuner: dict[str, str | None]
    epsg: int
    dataset_date: date | None
    skipped_matrikkeladresser: int


def check_municipality(conn: psycopg.Connection, rows: AddressRows) -> None:
    """Refuse a file whose municipality is not the one the store serves (see module doc)."""
    loaded = conn.execute(
        "SELECT kommunenummer, name FROM boundary WHERE kommunenummer IS NOT NULL ORDER BY id"
    ).fetchall()
    kommuner = rows.kommuner
    known = {nr for nr, _ in loaded}
    if known and not set(kommuner) <= known:
        other = ", ".join(f"{nr} {name or ''}".strip() for nr, name in kommuner.items())
        have = ", ".join(f"{nr} {name}" for nr, name in loaded)
        raise AddressFileError(
            f"{rows.source_name}: the file is for kommune {other}, but the loaded boundary is "
            f"{have}; load that municipality's boundary first (geoplan import FILE --layer "
            "boundary); nothing was imported",
            field="kommunenummer",
        )
    where = region(conn)
    outside = np.flatnonzero(~where.contains_xy(rows.x, rows.y))
    if len(outside):
        shown = "; ".join(
            f"line {rows.lines[i]}: {rows.adresse_tekst[i]} ({rows.kommunenummer[i]})"
            for i in outside[:SHOW_ERRORS]
        )
        more = f" and {len(outside) - SHOW_ERRORS} more" if len(outside) > SHOW_ERRORS else ""
        raise AddressFileError(
            f"{rows.source_name}: {len(outside)} of {len(rows)} addresses lie outside the "
            f"region ({where.description}), e.g. {shown}{more}; is the file for another "
            "municipality? Load its boundary first (geoplan import FILE --layer boundary); "
            "nothing was imported",
            field="Nord",
        )


def write_addresses(
    conn: psycopg.Connection,
    rows: AddressRows,
    provenance: AddressProvenance | None = None,
    progress: Progress | None = None,
) -> int:
    """Replace the file's municipalities' addresses with ``rows``; returns the rows deleted."""
    report = progress or (lambda *_: None)
    p = provenance or AddressProvenance()
    source = p.source or f"{DATASET} ({rows.source_name})"
    source_url = p.source_url or SOURCE_URL
    licence = p.licence or LICENCE
    accuracy = DEFAULT_ACCURACY_M if p.accuracy_m is None else float(p.accuracy_m)
    bounds = PROVENANCE_BY_NAME["accuracy_m"]
    if not (np.isfinite(accuracy) and bounds.in_range(accuracy)):
        raise ValidationError(
            f"accuracy_m must be a finite number {bounds.range_text}, not {accuracy:g}",
            field="accuracy_m",
        )
    verified = True if p.verified is None else p.verified
    sample = bool(p.sample)
    deleted = conn.execute(
        "DELETE FROM addresses WHERE kommunenummer = ANY(%s) OR lokalid = ANY(%s)",
        (list(rows.kommuner), rows.lokalid),
    ).rowcount
    points = shapely.set_srid(shapely.points(rows.x, rows.y), STORAGE_SRID)
    geoms = shapely.to_wkb(points, hex=True, include_srid=True)
    n = len(rows)
    with conn.cursor().copy(f"COPY addresses ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for i in range(n):
            copy.write_row(
                (
                    rows.lokalid[i],
                    rows.kommunenummer[i],
                    rows.kommunenavn[i],
                    rows.adressekode[i],
                    rows.adressenavn[i],
                    rows.nummer[i],
                    rows.bokstav[i],
                    rows.adressetilleggsnavn[i],
                    rows.adresse_tekst[i],
                    rows.postnummer[i],
                    rows.poststed[i],
                    rows.street_key[i],
                    rows.street_loose[i],
                    rows.dataset_date,
                    json.dumps(rows.attributes[i], ensure_ascii=False),
                    geoms[i],
                    source,
                    source_url,
                    licence,
                    accuracy,
                    verified,
                    sample,
                )
            )
            if (i + 1) % 5000 == 0:
                report("writing", i + 1, n)
    report("writing", n, n)
    # the geocoder's plans depend on the street statistics, which a replaced file changes
    conn.execute("ANALYZE addresses")
    refresh_streets(conn, list(rows.kommuner))
    return deleted


STREETS_SQL = """
WITH a AS (
    SELECT id, kommunenummer, adressekode, street_loose, adressenavn, nummer, bokstav, geom,
           ST_X(geom) AS x, ST_Y(geom) AS y,
           avg(ST_X(geom)) OVER w AS cx, avg(ST_Y(geom)) OVER w AS cy, count(*) OVER w AS n
    FROM addresses
    WHERE kommunenummer = ANY(%(k)s)
    WINDOW w AS (PARTITION BY kommunenummer, adressekode, street_loose)
),
m AS (
    SELECT DISTINCT ON (kommunenummer, adressekode, street_loose) *
    FROM a
    ORDER BY kommunenummer, adressekode, street_loose, (x - cx) ^ 2 + (y - cy) ^ 2, nummer,
             bokstav, id
)
INSERT INTO address_streets
    (kommunenummer, adressekode, street_loose, adressenavn, addresses, middle_id, radius_m)
SELECT m.kommunenummer, m.adressekode, m.street_loose, m.adressenavn, m.n, m.id,
       max(ST_Distance(a.geom, m.geom))
FROM m JOIN a USING (kommunenummer, adressekode, street_loose)
GROUP BY m.kommunenummer, m.adressekode, m.street_loose, m.adressenavn, m.n, m.id"""
"""Each street of the municipalities: its count, the address nearest the mean of its addresses
and the farthest of them from that one."""


def refresh_streets(conn: psycopg.Connection, kommuner: list[str]) -> int:
    """Rebuild ``address_streets`` for ``kommuner`` from their addresses; returns the streets."""
    conn.execute("DELETE FROM address_streets WHERE kommunenummer = ANY(%s)", (kommuner,))
    n = conn.execute(STREETS_SQL, {"k": kommuner}).rowcount
    conn.execute("ANALYZE address_streets")
    return n


def import_addresses(
    conn: psycopg.Connection,
    path: Path,
    provenance: AddressProvenance | None = None,
    progress: Progress | None = None,
) -> AddressImport:
    """Read, check and write one Matrikkelen – Adresse CSV inside the caller's transaction."""
    rows = read_addresses(Path(path), progress)
    check_municipality(conn, rows)
    replaced = write_addresses(conn, rows, provenance, progress)
    return AddressImport(
        source_name=rows.source_name,
        rows=len(rows),
        replaced=replaced,
        kommuner=rows.kommuner,
        epsg=rows.epsg or STORAGE_SRID,
        dataset_date=rows.dataset_date,
        skipped_matrikkeladresser=rows.skipped_matrikkeladresser,
    )
