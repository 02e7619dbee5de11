"""The register: reading one listing and its history; create, update and withdraw with a history
row and a version per change.

Ownership: a listing created through the API remembers the key that created it
(``premises.owner_key_id``). A write names its :class:`Editor` (the key, and whether it is an
``admin`` key); a non-admin editor may change or withdraw only its own listings
(:class:`NotOwnerError`, HTTP 403). Listings without an owner (imported, sample data, created on
the command line, or by an API key before ownership was recorded) are the municipality's: only
admin editors may change them. A write without an editor is an operator's (command line,
imports, tests) and is not checked.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pyproj import Transformer

from geoplan.addresses import (
    AddressNotResolved,
    Candidate,
    NoAddressesLoaded,
    geocoded_position,
    geocoded_provenance,
    own_provenance,
    require_addresses,
    resolve,
)
from geoplan.config import STORAGE_SRID
from geoplan.errors import GeoplanError, NotFoundError, ValidationError
from geoplan.geo.crs import WGS84, parse_crs
from geoplan.geo.region import NoBoundaryError, in_municipality
from geoplan.layers.spec import PREMISES, RECORD_ROLES, ColumnSpec
from geoplan.layers.sql import json_pairs, snapshot_sql, units_json
from geoplan.premises import units as unit_rows
from geoplan.premises.query import text_problem

_EDITABLE = PREMISES.writable
"""The fields a client sets, from the layer's description; everything else geoplan keeps."""
EDITABLE_FIELDS = ("geometry", *(c.name for c in _EDITABLE), "units")
REQUIRED_FIELDS = ("geometry", *(c.name for c in _EDITABLE if c.required))
"""Fields a listing cannot lack; one whose units decide it (``floor_area_m2``) may be left out
when the listing has units."""
GEOM_TOLERANCE_M = 0.001
"""A position that moved less than this (metres) has not moved: what ``geoplan import`` counts
as unchanged too."""
RECORD_DECIMALS = 9
"""Decimals of a record's WGS84 coordinates as ``get`` returns them (the API's responses)."""


class StaleVersionError(GeoplanError):
    """An update named a version (``If-Match``) that is no longer current: someone else won."""

    def __init__(self, premises_id: str, expected: int, current: int):
        super().__init__(
            f"premises {premises_id!r} is at version {current}, not {expected}: it was changed "
            "since you read it; fetch it again and re-apply your change"
        )
        self.premises_id = premises_id
        self.expected = expected
        self.current = current


@dataclass(frozen=True)
class Editor:
    """Who writes, for the ownership rule: an API key's id and whether it is an admin key."""

    key_id: int
    admin: bool = False

    def may_edit(self, owner_key_id: int | None) -> bool:
        """Admin keys edit every listing; other keys only the listings they created."""
        return self.admin or (owner_key_id is not None and owner_key_id == self.key_id)


class NotOwnerError(GeoplanError):
    """A key that is not an admin key tried to change a listing it did not create."""

    def __init__(self, premises_id: str, owned: bool):
        whose = "another API key" if owned else "the municipality (it has no known owner)"
        super().__init__(
            f"premises {premises_id!r} belongs to {whose}: a key may change or withdraw only "
            "the listings it created, unless it has the 'admin' scope"
        )
        self.premises_id = premises_id


_RECORD_SQL = f"""
    SELECT jsonb_build_object(
        {json_pairs(PREMISES.by_role(*RECORD_ROLES), "p", {"nearest_hub_name": "h.name"})},
        'units', {units_json(PREMISES, "p")},
        'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), {RECORD_DECIMALS})::jsonb)
    FROM premises_annotated p LEFT JOIN hubs h ON h.id = p.nearest_hub_id WHERE p.id = %s"""

_SNAPSHOT = snapshot_sql(PREMISES, "p")
"""A listing as its history records it; the same expression ``geoplan import`` records."""


def _record(conn: psycopg.Connection, premises_id: str) -> dict[str, Any] | None:
    row = conn.execute(_RECORD_SQL, (premises_id,)).fetchone()
    return row[0] if row else None


def get(conn: psycopg.Connection, premises_id: str) -> dict[str, Any]:
    """One premises as a dict: its columns plus ``geometry`` (GeoJSON, WGS84) and hub name.

    Withdrawn premises are returned too (with ``status='withdrawn'``): links to them keep working.
    """
    problem = text_problem(premises_id, 200)
    record = None if problem else _record(conn, premises_id)
    if record is None:
        raise NotFoundError(f"no premises with id {premises_id!r}")
    return record


MAX_LISTINGS_PAGE = 200
"""Largest page of :func:`listings` (the broker page shows 50 at a time)."""

_LISTINGS_SQL = f"""
    WITH page AS (
        SELECT o.id, o.updated_at, o.owner_key_id FROM premises o
        WHERE (%(everyone)s OR o.owner_key_id = %(key)s)
          AND (%(q)s::text IS NULL OR o.address ILIKE %(q)s OR o.id = %(id)s)
        ORDER BY o.updated_at DESC, o.id LIMIT %(limit)s OFFSET %(offset)s)
    SELECT jsonb_build_object(
        {json_pairs(PREMISES.by_role(*RECORD_ROLES), "p", {"nearest_hub_name": "h.name"})},
        'geometry', ST_AsGeoJSON(ST_Transform(p.geom, {WGS84}), {RECORD_DECIMALS})::jsonb),
        page.owner_key_id
    FROM page JOIN premises_annotated p ON p.id = page.id
    LEFT JOIN hubs h ON h.id = p.nearest_hub_id
    ORDER BY page.updated_at DESC, page.id"""

_LISTINGS_COUNT_SQL = """
    SELECT count(*) FROM premises o
    WHERE (%(everyone)s OR o.owner_key_id = %(key)s)
      AND (%(q)s::text IS NULL OR o.address ILIKE %(q)s OR o.id = %(id)s)"""


def listings(
    conn: psycopg.Connection,
    owner: int,
    *,
    everyone: bool = False,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[tuple[dict[str, Any], int | None]]]:
    """The listings the key ``owner`` created, newest change first, withdrawn ones included
    (a broker may put one back on the market): ``(how many in all, [(record, owner key id)])``.

    ``everyone`` (for admin keys): every listing, whoever created it. ``q``: only those whose
    address contains it (any case), or whose id it is. Records as :func:`get` returns them.
    """
    if not 1 <= limit <= MAX_LISTINGS_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_LISTINGS_PAGE}", "limit")
    if not 0 <= offset < 2**31:
        raise ValidationError("offset must be between 0 and 2147483647", "offset")
    if q is not None:
        problem = text_problem(q, 200)
        if problem:
            raise ValidationError(f"q {problem}", "q")
        q = q.strip() or None
    pattern = None
    if q is not None:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    params = {
        "everyone": everyone,
        "key": owner,
        "q": pattern,
        "id": q,
        "limit": limit,
        "offset": offset,
    }
    total = conn.execute(_LISTINGS_COUNT_SQL, params).fetchone()[0]
    rows = conn.execute(_LISTINGS_SQL, params).fetchall() if total > offset else []
    return total, [(r[0], r[1]) for r in rows]


def history(conn: psycopg.Connection, premises_id: str) -> list[dict[str, Any]]:
    """Every recorded change to a premises, oldest (lowest version) first (raises
    NotFoundError if unknown)."""
    get(conn, premises_id)
    # In version order: the version each entry produced (an entry that removed the listing,
    # the one it removed), then the order of writing. Time stamps alone could disagree: before
    # revision 0009 they were the start of the writing transaction.
    rows = conn.execute(
        """SELECT id, action, actor, at, before, after FROM premises_history
           WHERE premises_id = %s
           ORDER BY coalesce((after->>'version')::int, (before->>'version')::int), id""",
        (premises_id,),
    ).fetchall()
    return [
        {"id": r[0], "action": r[1], "actor": r[2], "at": r[3], "before": r[4], "after": r[5]}
        for r in rows
    ]


def to_feature(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record from :func:`get` as a GeoJSON Feature (geometry out, everything else props)."""
    props = {k: v for k, v in record.items() if k != "geometry"}
    return {
        "type": "Feature",
        "id": record["id"],
        "geometry": record["geometry"],
        "properties": props,
    }


def srid_of(crs: Any) -> int:
    """The EPSG code of a CRS given as ``EPSG:25833``, an OGC URI/URN, a bare number or any
    name pyproj knows (:func:`geoplan.geo.crs.parse_crs`).

    CRS84 (the GeoJSON default, lon/lat) maps to 4326; coordinates are always read x=lon/east,
    y=lat/north, as GeoJSON clients send them.
    """
    ref = parse_crs(crs, "crs", definitions=True)
    if ref.srid is None:
        raise ValidationError(f"{str(crs).strip()[:100]!r} has no EPSG code; use one", "crs")
    return ref.srid


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _point_25833(geometry: Any, crs: Any, errors: list[dict]) -> tuple[float, float] | None:
    """The point in EPSG:25833 from a GeoJSON geometry in ``crs``, or None (error appended)."""

    def bad(message: str, name: str = "geometry") -> None:
        errors.append({"field": name, "message": message})

    if not isinstance(geometry, Mapping):
        bad("must be a GeoJSON Point object")
        return None
    if geometry.get("type") != "Point":
        bad(f"must be a Point, not {str(geometry.get('type'))[:40]!r}")
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) not in (2, 3):
        bad("coordinates must be [x, y] (or [x, y, z])")
        return None
    xy = [_number(c) for c in coords[:2]]
    if None in xy:
        bad("coordinates must be finite numbers")
        return None
    try:
        srid = srid_of(WGS84 if crs is None else crs)
    except ValidationError as exc:
        bad(str(exc), "crs")
        return None
    x, y = xy
    if srid != STORAGE_SRID:
        try:
            t = Transformer.from_crs(srid, STORAGE_SRID, always_xy=True)
            x, y = t.transform(x, y, errcheck=True)
        except Exception:  # pyproj raises several types for out-of-domain input
            x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        bad(f"coordinates cannot be placed in EPSG:{srid} (outside its area of use?)")
        return None
    return x, y


def _check_inside_boundary(
    conn: psycopg.Connection, xy: tuple[float, float], errors: list[dict]
) -> None:
    """A listing must lie in the municipality itself (not just its region): strict, and only
    against the real boundary (see :mod:`geoplan.geo.region`)."""
    try:
        inside = in_municipality(conn, *xy)
    except NoBoundaryError:
        errors.append(
            {
                "field": "geometry",
                "message": "no municipality boundary is loaded, so the position cannot be "
                "checked (run `geoplan load`)",
            }
        )
        return
    if not inside:
        errors.append({"field": "geometry", "message": "point lies outside the municipality"})


def _check(col: ColumnSpec, value: Any) -> tuple[str | None, Any]:
    """(problem, None) or (None, the value to store) for a non-null ``value`` of ``col``."""
    if col.allowed is not None and col.kind == "text":
        if value in col.allowed:
            return None, value
        return f"must be one of {', '.join(col.allowed)}", None
    if col.kind == "text":
        problem = text_problem(value)
        if problem:
            return problem, None
        if col.required and not value.strip():
            return "must not be empty", None
        return None, value.strip()
    if col.kind == "text[]":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or (col.required and not items):
            return f"must be a non-empty list of {col.label_en.lower()}", None
        unknown = [v for v in items if col.allowed is not None and v not in col.allowed]
        if unknown:
            known = ", ".join(col.allowed or ())
            return f"unknown value {str(unknown[0])[:50]!r}; known: {known}", None
        return None, list(dict.fromkeys(items))
    if col.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not col.in_range(value):
            bound = f" {col.range_text}" if col.range_text else ""
            return f"must be a whole number{bound}", None
        return col.future(value), value
    if col.kind == "float":
        number = _number(value)
        if number is None or not col.in_range(number):
            bound = f" {col.range_text}" if col.range_text else ""
            return f"must be a finite number{bound}", None
        return None, number
    if col.kind == "date":
        if isinstance(value, date):
            return None, value
        if not isinstance(value, str):
            return "must be a date (YYYY-MM-DD)", None
        try:
            return None, date.fromisoformat(value)
        except ValueError:
            return "must be a valid date (YYYY-MM-DD)", None
    if col.kind == "bool":
        return (None, value) if isinstance(value, bool) else ("must be true or false", None)
    raise AssertionError(f"premises field {col.name} of kind {col.kind} cannot be edited")


GEOCODED = "geocoded"
"""Key of :func:`_clean`'s result holding the address match a listing was placed at."""


def _placeable(data: Mapping[str, Any]) -> bool:
    """Whether a listing without geometry can be placed by its address (a usable text)."""
    address = data.get("address")
    return (
        data.get("geometry") is None
        and data.get("crs") is None
        and isinstance(address, str)
        and bool(address.strip())
        and text_problem(address) is None
    )


def _geocode(conn: psycopg.Connection, address: str, errors: list[dict]) -> Candidate | None:
    """The one address ``address`` names, inside the municipality; else None with the error
    (naming ``address``, with the candidates) appended. Never a guess: see
    :func:`geoplan.addresses.resolve`."""
    try:
        # what is missing is the position: named as such, saying how an address could give it
        require_addresses(conn, "the listing", field="geometry")
        match = resolve(conn, address, field="address")
    except (NoAddressesLoaded, AddressNotResolved) as exc:
        errors.extend(exc.errors)
        return None
    try:
        inside = in_municipality(conn, match.x, match.y)
    except NoBoundaryError:
        _check_inside_boundary(conn, (match.x, match.y), errors)  # says what to load
        return None
    if not inside:
        errors.append(
            {
                "field": "address",
                "message": f"the address {address!r} is {match.label()}, outside the municipality",
                "candidates": [match.as_dict()],
            }
        )
        return None
    return match


def _geocoded_provenance(values: dict[str, Any], source: str) -> dict[str, Any]:
    """``values`` with the provenance of a listing placed at its address (its ``source``,
    ``source_url``, ``licence`` and ``accuracy_m``; see :mod:`geoplan.addresses.positions`).
    Values without a geocoded position are returned unchanged, with ``source``."""
    match = values.pop(GEOCODED, None)
    if match is None:
        return values | {"source": source}
    return values | geocoded_provenance(
        match, source=source, source_url=values.get("source_url"), licence=values.get("licence")
    )


def _clean(conn: psycopg.Connection, data: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    """Checked, normalised column values from client ``data`` (all errors raised at once).

    The checks follow the layer's description (kind, vocabulary, bounds), the same one the API's
    request models are generated from, so the two cannot disagree; they are repeated here because
    the register is called without the API too. ``required`` (create, full replace) demands the
    fields a listing cannot lack. The result has ``geom_xy`` (EPSG:25833) instead of ``geometry``.
    A listing created or replaced without geometry but with an address is placed at the one
    address the register names (the match under :data:`GEOCODED`); an ambiguous or unknown
    address is an error naming ``address`` with the candidates.
    """
    errors: list[dict] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not isinstance(data, Mapping):
        raise ValidationError("the body must be a JSON object", "body")
    unknown = [k for k in data if k not in (*EDITABLE_FIELDS, "crs")]
    for k in unknown:
        bad(str(k)[:100], "is not a field of premises that can be set")
    out: dict[str, Any] = {}
    placeable = required and _placeable(data)
    units = None
    if "units" in data:
        units = unit_rows.check_units(data["units"], _check, errors)
        if units is not None:
            out["units"] = units
    for name in REQUIRED_FIELDS:
        if units and name != "geometry" and PREMISES.column(name).from_units:
            continue  # derived from the units
        if required and data.get(name) is None and not (name == "geometry" and placeable):
            bad(name, "is required")
    if data.get("geometry") is not None:
        xy = _point_25833(data["geometry"], data.get("crs"), errors)
        if xy is not None:
            _check_inside_boundary(conn, xy, errors)
            out["geom_xy"] = xy
    elif "crs" in data and data["crs"] is not None:
        bad("crs", "given without a geometry")
    elif placeable:
        match = _geocode(conn, data["address"].strip(), errors)
        if match is not None:
            out["geom_xy"] = (match.x, match.y)
            out[GEOCODED] = match
    for col in _EDITABLE:
        if col.name not in data:
            continue
        value = data[col.name]
        if value is None:
            if col.required:
                if not required:  # else reported above
                    bad(col.name, "is required")
            elif col.kind == "bool" and not col.is_nullable:
                bad(col.name, "must be true or false")
            elif col.is_nullable:
                out[col.name] = None
            # else (status): None keeps the current value
            continue
        problem, clean = _check(col, value)
        if problem:
            bad(col.name, problem)
        else:
            out[col.name] = clean
    _check_years(out, errors)
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )
    return out


def _check_years(values: Mapping[str, Any], errors: list[dict]) -> None:
    """A building is not renovated before it was built (the store's CHECK, named here)."""
    built, renovated = values.get("year_built"), values.get("year_renovated")
    if built is not None and renovated is not None and renovated < built:
        errors.append(
            {
                "field": "year_renovated",
                "message": f"must not be before year_built ({built}), got {renovated}",
            }
        )


def _raise(errors: list[dict]) -> None:
    if errors:
        raise ValidationError(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            errors=errors,
        )


def _write_units(
    conn: psycopg.Connection, premises_id: str, values: Mapping[str, Any], sent: Mapping
) -> None:
    """Store the listing's units (when ``values`` has them) and derive its values from them;
    a value sent for a derived field must agree with its units (:func:`units.check_derived`)."""
    seq = conn.execute("SELECT seq FROM premises WHERE id = %s", (premises_id,)).fetchone()[0]
    if "units" in values:
        unit_rows.write_units(conn, seq, values["units"])
    else:
        unit_rows.rollup(conn, [seq])
    unit_rows.check_derived(conn, seq, sent)


def _finish(
    conn: psycopg.Connection, premises_id: str, action: str, actor: str, before: dict | None
) -> dict[str, Any]:
    """Re-annotate, record history (the listing after, as :data:`_SNAPSHOT`): the common end
    of every write. Returns the record as :func:`get` does."""
    from geoplan.proximity import annotate_premises

    annotate_premises(conn, [premises_id])
    # clock_timestamp(): when this change was made, not when its transaction began (a writer
    # that waited for another's lock began earlier and would sort before it).
    conn.execute(
        f"""INSERT INTO premises_history (premises_id, action, actor, at, before, after)
            SELECT p.id, %s, %s, clock_timestamp(), %s::jsonb, {_SNAPSHOT}
            FROM premises p WHERE p.id = %s""",
        (action, actor, None if before is None else Jsonb(before), premises_id),
    )
    return _record(conn, premises_id)  # type: ignore[return-value]


def _assign(values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """SQL assignments (``col = %s``) and parameters for cleaned ``values``."""
    sets, params = [], []
    for name, value in values.items():
        if name == "geom_xy":
            sets.append(f"geom = ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID})")
            params.extend(value)
        else:
            sets.append(f"{name} = %s")
            params.append(value)
    return sets, params


def default_source(actor: str) -> str:
    """Provenance ``source`` of a record written through the API with the key named ``actor``."""
    return f"geoplan API (key: {actor})"


def create(
    conn: psycopg.Connection,
    data: Mapping[str, Any],
    actor: str,
    *,
    source: str | None = None,
    owner: int | None = None,
) -> dict[str, Any]:
    """Add a premises listing; returns the stored record (see :func:`get`).

    ``data`` holds the editable fields (``geometry`` as GeoJSON, optional ``crs``). Provenance:
    ``source`` (default: written through the API by ``actor``), ``verified`` false unless given,
    never sample data. ``owner``: the id of the API key creating it, which alone (besides admin
    keys) may change it later; None for an operator's listing (admin keys only).
    """
    values = _geocoded_provenance(
        _clean(conn, data, required=True), source or default_source(actor)
    )
    units = values.pop("units", [])
    sent = dict(values)
    if units and "floor_area_m2" not in values:  # a placeholder until the units decide it
        values["floor_area_m2"] = units[0]["area_m2"]
    premises_id = "p-" + uuid.uuid4().hex[:12]
    for col in _EDITABLE:  # columns that cannot be empty: a flag is false, status available
        if not col.is_nullable and not col.required:
            values.setdefault(col.name, False if col.kind == "bool" else col.default)
    with conn.transaction():
        cols = ["id", "sample", "version", "owner_key_id"]
        params: list[Any] = [premises_id, False, 1, owner]
        placeholders = ["%s"] * 4
        for name, value in values.items():
            if name == "geom_xy":
                cols.append("geom")
                placeholders.append(f"ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID})")
                params.extend(value)
            else:
                cols.append(name)
                placeholders.append("%s")
                params.append(value)
        conn.execute(
            f"INSERT INTO premises ({', '.join(cols)}) VALUES ({', '.join(placeholders)})",
            params,
        )
        _write_units(conn, premises_id, {"units": units}, sent)
        return _finish(conn, premises_id, "create", actor, None)


def _lock(
    conn: psycopg.Connection,
    premises_id: str,
    expected_version: int | None,
    editor: Editor | None = None,
) -> dict:
    """The listing as its history records it (:data:`_SNAPSHOT`), locked against concurrent
    writers, after the checks: it exists (404), ``editor`` may change it (403), it is at the
    expected version (412) — in that order, so a stranger learns nothing of its version."""
    problem = text_problem(premises_id, 200)
    row = (
        None
        if problem
        else conn.execute(
            f"SELECT version, owner_key_id, {_SNAPSHOT} FROM premises p WHERE id = %s FOR UPDATE",
            (premises_id,),
        ).fetchone()
    )
    if row is None:
        raise NotFoundError(f"no premises with id {premises_id!r}")
    version, owner, snapshot = row
    if editor is not None and not editor.may_edit(owner):
        raise NotOwnerError(premises_id, owner is not None)
    if expected_version is not None and version != expected_version:
        raise StaleVersionError(premises_id, expected_version, version)
    return snapshot


def update(
    conn: psycopg.Connection,
    premises_id: str,
    data: Mapping[str, Any],
    actor: str,
    expected_version: int | None = None,
    partial: bool = False,
    *,
    source: str | None = None,
    unverify: bool = False,
    editor: Editor | None = None,
) -> dict[str, Any]:
    """Change a premises: replace it (``partial=False``, PUT) or merge ``data`` (PATCH).

    A full replacement resets optional fields that ``data`` leaves out. ``expected_version``
    (from ``If-Match``) guards against overwriting someone else's change: a mismatch raises
    :class:`StaleVersionError` and changes nothing.

    A write that changes nothing (an empty PATCH, the same values again) is no change: the
    listing keeps its version, ``source`` and ``verified``, and no history entry is written.
    ``unverify``: a change clears ``verified`` (the changed listing is no longer the one that
    was checked); ``source`` becomes the writer's. ``editor``: the API key writing, which must
    own the listing unless it is an admin key (:class:`NotOwnerError`).

    A PATCH that changes the address of a listing geocoding placed moves it to the new address
    (or is refused naming ``address``, with the candidates, as a create is); a listing whose
    position was given keeps it (:func:`_moves_with_address`). The position's provenance follows
    the position (:func:`_position_provenance`).
    """
    values = _clean(conn, data, required=not partial)
    match = values.pop(GEOCODED, None)
    with conn.transaction():
        before = _lock(conn, premises_id, expected_version, editor)
        errors: list[dict] = []
        if partial and _moves_with_address(before, values):
            match = _geocode(conn, values["address"].strip(), errors)
            _raise(errors)
            values["geom_xy"] = (match.x, match.y)
        sent = {k: v for k, v in values.items() if k != "units"}
        if not partial:  # fields left out are cleared; a flag is false, status is kept
            values.setdefault("units", [])
            for col in _EDITABLE:
                if col.name in values or col.required:
                    continue
                if col.is_nullable:
                    values[col.name] = None
                else:
                    values[col.name] = False if col.kind == "bool" else before[col.name]
            if values["units"] and "floor_area_m2" not in values:
                values["floor_area_m2"] = before["floor_area_m2"]  # the units decide it below
        years = ("year_built", "year_renovated")
        _check_years({k: values.get(k, before[k]) for k in years}, errors)
        _raise(errors)
        units = values.pop("units", None)
        units_changed = units is not None and unit_rows.as_json(units) != before["units"]
        if not units_changed and (not values or not _changes(conn, premises_id, values)):
            return _record(conn, premises_id)  # type: ignore[return-value]
        if unverify:
            values["verified"] = False
        values = _position_provenance(values, before, match, source or default_source(actor))
        sets, params = _assign(values)
        conn.execute(
            f"""UPDATE premises SET {", ".join(sets)}, version = version + 1,
                       updated_at = clock_timestamp()
                WHERE id = %s""",
            [*params, premises_id],
        )
        _write_units(conn, premises_id, {} if units is None else {"units": units}, sent)
        return _finish(conn, premises_id, "update", actor, before)


def _moves_with_address(before: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether a PATCH of ``values`` moves the listing ``before`` to its new address: it changes
    the address, sends no position, and the listing stands where geocoding placed it (its
    ``source`` says so). A position someone gave (coordinates, a surveyed point) is theirs and
    stays; they send a new one when the listing moves."""
    address = values.get("address")
    return (
        "geom_xy" not in values
        and isinstance(address, str)
        and address != before["address"]
        and geocoded_position(before["source"]) is not None
    )


def _position_provenance(
    values: dict[str, Any], before: Mapping[str, Any], match: Candidate | None, source: str
) -> dict[str, Any]:
    """``values`` of a change with the provenance of the listing's position: the position's
    part of ``source``, ``licence`` and ``accuracy_m`` follows the position.

    Placed at an address now (``match``): the address register's, after the listing's own
    licence (sent, else the stored one without its old position part). Given a position now,
    where geocoding had placed it: the old position's parts go (``accuracy_m`` too, unless
    sent: the address's accuracy is not the given point's). Position unchanged: a geocoded
    listing keeps saying so in ``source``, whoever writes."""
    note = geocoded_position(before["source"])
    _, own_licence = own_provenance(before["source"], before["licence"])
    if match is not None:
        return values | geocoded_provenance(
            match,
            source=source,
            source_url=values.get("source_url", before["source_url"]),
            licence=values.get("licence", own_licence),
        )
    if note is None:
        return values | {"source": source}
    if "geom_xy" in values:
        return {"licence": own_licence, "accuracy_m": None} | values | {"source": source}
    return values | {"source": f"{source}; {note}"}


def _changes(conn: psycopg.Connection, premises_id: str, values: Mapping[str, Any]) -> bool:
    """Whether writing ``values`` (cleaned) would change the stored listing: compared in the
    store, column by column in its own type; a position moved by less than
    :data:`GEOM_TOLERANCE_M` (a round trip through WGS84) is not a change."""
    tests, params = [], []
    for name, value in values.items():
        if name == "geom_xy":
            tests.append(
                f"NOT ST_DWithin(geom, ST_SetSRID(ST_MakePoint(%s, %s), {STORAGE_SRID}), %s)"
            )
            params.extend([*value, GEOM_TOLERANCE_M])
        else:
            tests.append(f"{name} IS DISTINCT FROM %s::{PREMISES.column(name).sql_type}")
            params.append(value)
    row = conn.execute(
        f"SELECT {' OR '.join(tests)} FROM premises WHERE id = %s", [*params, premises_id]
    ).fetchone()
    return bool(row and row[0])


def withdraw(
    conn: psycopg.Connection,
    premises_id: str,
    actor: str,
    expected_version: int | None = None,
    *,
    editor: Editor | None = None,
) -> dict[str, Any]:
    """Mark a premises withdrawn (the row and its history stay). Idempotent. ``editor`` as in
    :func:`update`."""
    with conn.transaction():
        before = _lock(conn, premises_id, expected_version, editor)
        if before["status"] == "withdrawn":
            return _record(conn, premises_id)  # type: ignore[return-value]
        conn.execute(
            """UPDATE premises SET status = 'withdrawn', version = version + 1,
                      updated_at = clock_timestamp()
               WHERE id = %s""",
            (premises_id,),
        )
        return _finish(conn, premises_id, "withdraw", actor, before)
