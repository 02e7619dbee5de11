"""Norway's municipalities, the ones a store serves, and the municipality a location lies in.

Three things, kept in the store (migration 0005):

- **The national register**, table ``municipalities``: every municipality (kommunenummer, name,
  generalised polygon) from the national file shipped in ``layers/`` (© Kartverket, CC BY 4.0),
  loaded by :mod:`geoplan.ingest.municipalities`. It names the numbers that exist and gives
  the municipality of a location outside the served ones.
- **The served municipalities**: the rows of the ``boundary`` layer, one municipality or
  several (a city region such as Nedre Romerike: 3205, 3222, 3224), chosen with ``geoplan init
  --kommune``. Region checks (:mod:`geoplan.geo.region`), map extents, titles and the search
  scope follow them.
- **The municipality of a feature**: every boundary, area, hub and premises row keeps a
  ``kommunenummer``; when the data does not give one, the store derives it from the geometry
  (``geoplan_kommunenummer``: the served boundary first, then the register).

This module reads; writing the register and choosing the served municipalities is
:mod:`geoplan.ingest.municipalities`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from shapely.geometry.base import BaseGeometry

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.vocab import KOMMUNENUMMER_PATTERN

NATIONAL_FILE = "kommuner_norge_2024.geojson"
"""The national file in the layers directory: all 357 municipalities of 2024, generalised."""

__all__ = [
    "NATIONAL_FILE",
    "Kommune",
    "check_known",
    "join_names",
    "kommune_phrase",
    "kommunenummer_at",
    "national_loaded",
    "parse_kommuner",
    "scope",
    "served",
]

_NUMBER = re.compile(KOMMUNENUMMER_PATTERN)
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Kommune:
    """A municipality: its number and name (``0301``, ``Oslo``)."""

    kommunenummer: str
    name: str


def parse_kommuner(value: str | Iterable[str], field: str = "kommune") -> tuple[str, ...]:
    """Municipality numbers as a user gives them: ``3222``, ``3205,3222,3224`` (commas, spaces
    or semicolons between), or a list of such texts. Duplicates are dropped, order kept.

    Raises :class:`ValidationError` naming ``field`` and the first value that is not four
    digits (``abc``, ``03011``, ``301``). Whether the number exists is :func:`check_known`'s.
    """
    texts = [value] if isinstance(value, str) else list(value)
    numbers: list[str] = []
    for text in texts:
        for part in _SEPARATORS.split(str(text).strip()):
            if not part:
                continue
            if not _NUMBER.fullmatch(part):
                raise ValidationError(
                    f"{field}: {part[:40]!r} is not a kommunenummer (four digits, e.g. 0301 or "
                    "3222)",
                    field=field,
                )
            if part not in numbers:
                numbers.append(part)
    if not numbers:
        raise ValidationError(
            f"{field}: give at least one kommunenummer (four digits, e.g. 3222)", field=field
        )
    return tuple(numbers)


def join_names(names: Sequence[str], conjunction: str = "and") -> str:
    """``A``, ``A and B``, ``A, B and C`` (``conjunction="og"`` for Norwegian text)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def kommune_phrase(names: Sequence[str]) -> str:
    """How English messages name the served municipalities: ``Lørenskog kommune``;
    ``the municipalities Lillestrøm, Lørenskog and Rælingen``."""
    names = list(names)
    if len(names) == 1:
        return f"{names[0]} kommune"
    return f"the municipalities {join_names(names)}"


def served(conn: psycopg.Connection, kommuner: Sequence[str] | None = None) -> list[Kommune]:
    """The municipalities the store serves (its boundary rows with a number), by number;
    ``kommuner`` narrows them to those numbers."""
    rows = conn.execute(
        """SELECT kommunenummer, min(name) FROM boundary
           WHERE kommunenummer IS NOT NULL
             AND (%(k)s::text[] IS NULL OR kommunenummer = ANY(%(k)s))
           GROUP BY kommunenummer ORDER BY kommunenummer""",
        {"k": list(kommuner) if kommuner is not None else None},
    ).fetchall()
    return [Kommune(r[0], r[1]) for r in rows]


def national_loaded(conn: psycopg.Connection) -> bool:
    """Whether the national register holds any municipality (``geoplan db up`` fills it)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM municipalities)").fetchone()[0]


def check_known(conn: psycopg.Connection, numbers: Sequence[str], field: str = "kommune") -> None:
    """Raise :class:`ValidationError` naming the first of ``numbers`` that is not a municipality
    in the national register. Without a register (never loaded) only the format was checked."""
    if not numbers or not national_loaded(conn):
        return
    known = {
        r[0]
        for r in conn.execute(
            "SELECT kommunenummer FROM municipalities WHERE kommunenummer = ANY(%s)",
            (list(numbers),),
        )
    }
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise ValidationError(
            f"{field}: unknown kommunenummer {unknown[0]!r}: no municipality has that number "
            "in the national register (2024)",
            field=field,
        )


def scope(
    conn: psycopg.Connection, kommune: str | Sequence[str] | None, field: str = "kommune"
) -> list[str] | None:
    """A ``kommune`` parameter (maps, coverage) as the numbers it scopes to; None (no value,
    or only empty text, as a form sends it): not scoped. Raises :class:`ValidationError`
    naming ``field`` for a malformed or unknown number."""
    texts = [kommune] if isinstance(kommune, str) else list(kommune or [])
    if not any(str(t).strip() for t in texts):
        return None
    numbers = list(parse_kommuner(texts, field))
    check_known(conn, numbers, field)
    return numbers


def kommunenummer_at(conn: psycopg.Connection, geom: BaseGeometry) -> str | None:
    """The municipality ``geom`` (EPSG:25833) lies in, as the store derives it for its rows: a
    point as it is, another geometry by a point on its surface; the served boundary first, then
    the national register. None outside both."""
    return conn.execute(
        f"SELECT geoplan_kommunenummer(ST_SetSRID(ST_GeomFromWKB(%s), {STORAGE_SRID}))",
        (geom.wkb,),
    ).fetchone()[0]
