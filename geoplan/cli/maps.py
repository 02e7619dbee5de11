"""``geoplan map overview|premises|area``: write the interactive maps as self-contained HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from geoplan.cli.common import console, fail, settings_walk, user_errors
from geoplan.cli.search_filters import with_search_filters

map_app = typer.Typer(help="Write interactive maps (self-contained HTML files).")

OUT = typer.Option(..., "--out", "-o", help="HTML file to write.", dir_okay=False)
LINK_BASE = typer.Option(
    None,
    "--link-base",
    help="Server URL the map's links point to (default: GEOPLAN_PUBLIC_URL or http://HOST:PORT).",
)


def _link_base(value: str | None) -> str:
    from geoplan.config import get_settings

    if value is not None:
        return value.rstrip("/")
    s = get_settings()
    return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/")


def _tiles_threshold() -> int:
    """Above this many premises a written map loads them as tiles from ``--link-base``."""
    from geoplan.config import get_settings

    return get_settings().map_tiles_threshold


def _write(out: Path, html: str) -> None:
    if not out.parent.exists():
        fail(f"directory does not exist: {out.parent}")
    out.write_text(html, encoding="utf-8")
    console.print(f"wrote {out} ({len(html.encode('utf-8')) / 1e6:.2f} MB)")


@map_app.command("overview")
def overview(
    out: Path = OUT,
    link_base: str | None = LINK_BASE,
    kommune: str | None = typer.Option(
        None,
        "--kommune",
        help="Municipality number(s) to show, e.g. 3222 or 3205,3222 (default: all served).",
    ),
) -> None:
    """Boundary, focus areas, hubs, walking catchments and all vacant premises."""
    from geoplan.geo import municipalities
    from geoplan.store import db
    from maps.overview import render_overview

    with user_errors(), db.connect() as conn:
        kommuner = municipalities.scope(conn, kommune, "--kommune")
        html = render_overview(
            conn,
            link_base=_link_base(link_base),
            walk=settings_walk(),
            tiles_threshold=_tiles_threshold(),
            kommuner=kommuner,
        )
    _write(out, html)


@map_app.command("premises")
@with_search_filters
def premises(
    out: Path = OUT,
    *,
    filters: dict[str, Any],
    link_base: str | None = LINK_BASE,
) -> None:
    """Premises matching the filters (as `geoplan premises search`), with hubs, catchments and
    a table."""
    from geoplan import premises as core
    from geoplan.store import db
    from maps.base import render_html
    from maps.search import build_premises_map

    with user_errors(), db.connect() as conn:
        q = core.query_from_params(filters)
        m, result = build_premises_map(
            conn,
            q,
            link_base=_link_base(link_base),
            walk=settings_walk(),
            tiles_threshold=_tiles_threshold(),
        )
        html = render_html(m)
    console.print(f"{result.number_matched} premises match; {len(result.features)} on the map")
    _write(out, html)


@map_app.command("area")
def area(
    slug: str = typer.Argument(..., help="Focus-area slug, e.g. sentrum or visperud."),
    out: Path = OUT,
    link_base: str | None = LINK_BASE,
) -> None:
    """One focus area with its identity, hubs, catchments and premises around it."""
    from geoplan.store import db
    from maps.area import render_area_map

    with user_errors(), db.connect() as conn:
        html = render_area_map(conn, slug, link_base=_link_base(link_base), walk=settings_walk())
    _write(out, html)


def register(app: typer.Typer) -> None:
    """Add ``geoplan map ...`` to the root app."""
    app.add_typer(map_app, name="map")
