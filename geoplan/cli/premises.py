"""``geoplan premises search | show | history``: find vacant premises from the terminal.

The same search as ``GET /premises``: both run the fast search
(:func:`geoplan.premises.search_features`; the table and CSV read its page as rows through
:func:`geoplan.premises.search_frame`), so they list the same values. Sample
listings are marked SAMPLE in the table and carry ``sample: true`` in GeoJSON/CSV, so invented
data can never pass for a real offer.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from geoplan.cli.alerts import register_searches
from geoplan.cli.common import console, settings_walk, user_errors
from geoplan.cli.search_filters import with_search_filters
from geoplan.geo.geojson import feature_collection
from geoplan.layers.spec import (
    API_ORDER,
    ATTRIBUTE,
    KEY,
    PREMISES,
    PROVENANCE,
    RECORD_ROLES,
)

premises_app = typer.Typer(
    help="Search vacant premises and see their history.", no_args_is_help=True
)


class Format(StrEnum):
    table = "table"
    geojson = "geojson"
    csv = "csv"


def _csv_columns() -> tuple[str, ...]:
    """The short listing's fields (``summary`` in the description), the position before the
    provenance."""
    fields = PREMISES.by_role(*API_ORDER)
    own = [c.name for c in fields if c.summary and c.role != PROVENANCE]
    provenance = [c.name for c in fields if c.summary and c.role == PROVENANCE]
    return (*own, "lon", "lat", *provenance)


CSV_COLUMNS = _csv_columns()


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}".replace(",", " ")
    return str(value)


@with_search_filters(limit=50)
def search(
    filters: dict[str, Any],
    fmt: Format = typer.Option(Format.table, "--format", help="table, geojson or csv."),
) -> None:
    """Search vacant premises, nearest-hub walking time first by default."""
    from geoplan import premises as core
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        q = core.query_from_params(filters)
        core.check_query(conn, q)
        if fmt is Format.geojson:
            page = core.search_features(conn, q, walk=settings_walk())
            collection = feature_collection(
                page.features_json,
                numberMatched=page.number_matched,
                numberReturned=page.number_returned,
            )
            sys.stdout.write(collection + "\n")
            return
        result = core.search_frame(conn, q, walk=settings_walk())
    gdf = result.features
    if fmt is Format.csv:
        wgs = gdf.to_crs(4326)  # already WGS84: the search's GeoJSON positions
        # a search sorted by distance says how far each listing is, as GET /premises does
        columns = (*CSV_COLUMNS, "distance_m") if "distance_m" in gdf else CSV_COLUMNS
        writer = csv.DictWriter(sys.stdout, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for (_, row), point in zip(wgs.iterrows(), wgs.geometry, strict=True):
            record = {k: row.get(k) for k in columns}
            record["uses"] = ";".join(row["uses"])
            record["lon"], record["lat"] = round(point.x, 7), round(point.y, 7)
            writer.writerow({k: "" if v is None or v != v else v for k, v in record.items()})
        return
    _print_table(result, q)


def _print_table(result: Any, q: Any) -> None:
    gdf = result.features
    walk_col, walk_title = ("hub_walk_min", f"walk to {q.hub}") if q.hub else ("walk_min", "walk")
    about = "" if result.number_matched_exact else "about "  # an estimate past COUNT_CAP
    table = Table(title=f"Vacant premises: {len(gdf)} of {about}{result.number_matched} matching")
    # sorted by distance (--sort distance with --near): the distance it was sorted by
    distance = "distance_m" in gdf
    for title, justify in (
        ("id", "left"),
        ("address", "left"),
        ("uses", "left"),
        ("m²", "right"),
        ("NOK/m²/yr", "right"),
        ("from", "left"),
        *([("distance (m)", "right")] if distance else []),
        ("nearest hub", "left"),
        (f"{walk_title} (min)", "right"),
        ("data", "left"),
    ):
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for row in gdf.itertuples():
        walk = getattr(row, walk_col)
        method = row.hub_walk_method if q.hub else row.walk_method
        data = "[bold yellow]SAMPLE[/]" if row.sample else ("verified" if row.verified else "")
        if row.status != "available":
            data = f"{data} [red]{row.status}[/]".strip()
        table.add_row(
            row.id,
            row.address,
            ", ".join(row.uses),
            _fmt(row.floor_area_m2),
            _fmt(row.rent_nok_m2_year),
            _fmt(row.available_from),
            *([_fmt(row.distance_m)] if distance else []),
            _fmt(row.nearest_hub_name),
            _fmt(walk, 1) + ("*" if method == "straight_line" else ""),
            data,
        )
    console.print(table)
    notes = []
    if gdf["sample"].any() if len(gdf) else False:
        notes.append("SAMPLE = invented demonstration data, not a real listing.")
    if len(gdf) and (gdf["hub_walk_method" if q.hub else "walk_method"] == "straight_line").any():
        notes.append("* straight line × detour factor (no walking network loaded).")
    if result.number_matched > q.offset + len(gdf):
        notes.append(f"More results: --offset {q.offset + len(gdf)}.")
    for note in notes:
        console.print(note, style="dim")


def _show_order() -> tuple[str, ...]:
    """A record's fields as ``premises show`` lists them: id, address and position first, the
    short listing's attributes before the others, then the rest of the record in API order."""
    key, first, *attrs = PREMISES.by_role(KEY, ATTRIBUTE)
    rest = PREMISES.names(*(r for r in RECORD_ROLES if r not in (KEY, ATTRIBUTE)))
    return (
        key.name,
        first.name,
        "geometry",
        *(c.name for c in attrs if c.summary),
        *(c.name for c in attrs if not c.summary),
        *rest,
    )


SHOW_ORDER = _show_order()


def show(premises_id: str = typer.Argument(..., help="Premises id.")) -> None:
    """Show one premises (including withdrawn ones) with its provenance."""
    from geoplan import premises as core
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        record = core.get(conn, premises_id)
    table = Table(show_header=False, title=f"Premises {record['id']}")
    table.add_column("field", style="bold")
    table.add_column("value")
    if record.get("sample"):
        table.add_row("SAMPLE", "[bold yellow]invented demonstration data, not a real listing[/]")
    order = {k: i for i, k in enumerate(SHOW_ORDER)}
    for key, value in sorted(record.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])):
        if key == "geometry":
            lon, lat = value["coordinates"][:2]
            value = f"{lat:.6f} N, {lon:.6f} E (WGS84)"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        table.add_row(key, _fmt(value, 1))
    console.print(table)


def history(premises_id: str = typer.Argument(..., help="Premises id.")) -> None:
    """Every recorded change to a premises: who, when, and which fields changed."""
    from geoplan import premises as core
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        entries = core.history(conn, premises_id)
    if not entries:
        console.print(f"{premises_id}: no recorded changes (loaded from a layer file).")
        return
    table = Table(title=f"History of {premises_id}")
    for col in ("at", "action", "by", "changes"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e["at"].strftime("%Y-%m-%d %H:%M:%S"),
            e["action"],
            e["actor"] or "–",
            _changes(e["before"], e["after"]),
        )
    console.print(table)


def _short(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:60]


IGNORED_IN_DIFF = {"updated_at", "version", "walk_m", "created_at"}


def _changes(before: dict | None, after: dict | None) -> str:
    """A short, readable summary of what a history entry changed."""
    if before is None:
        return "created"
    lines = []
    for key in sorted(set(before) | set(after or {})):
        if key in IGNORED_IN_DIFF:
            continue
        old, new = before.get(key), (after or {}).get(key)
        if old != new:
            lines.append(f"{key}: {_short(old)} → {_short(new)}")
    return "\n".join(lines) or "(no field changed)"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    premises_app.command("search")(search)
    premises_app.command("show")(show)
    premises_app.command("history")(history)
    register_searches(premises_app)
    app.add_typer(premises_app, name="premises")
