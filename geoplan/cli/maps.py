"""``geoplan map overview|premises|area``: write the interactive maps as self-contained HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from geoplan.cli.common import console, fail, user_errors

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


def _write(out: Path, html: str) -> None:
    if not out.parent.exists():
        fail(f"directory does not exist: {out.parent}")
    out.write_text(html, encoding="utf-8")
    console.print(f"wrote {out} ({len(html.encode('utf-8')) / 1e6:.2f} MB)")


@map_app.command("overview")
def overview(out: Path = OUT, link_base: str | None = LINK_BASE) -> None:
    """Boundary, focus areas, hubs, walking catchments and all vacant premises."""
    from geoplan import db
    from maps.overview import render_overview

    with user_errors(), db.connect() as conn:
        html = render_overview(conn, link_base=_link_base(link_base))
    _write(out, html)


@map_app.command("premises")
def premises(
    out: Path = OUT,
    use: list[str] = typer.Option([], "--use", help="Use category (repeatable)."),
    min_area: float | None = typer.Option(None, "--min-area", help="Smallest floor area, m²."),
    max_area: float | None = typer.Option(None, "--max-area", help="Largest floor area, m²."),
    max_rent: float | None = typer.Option(None, "--max-rent", help="Highest rent, NOK/m²/year."),
    area: str | None = typer.Option(None, "--area", help="Focus-area slug, e.g. visperud."),
    available_by: str | None = typer.Option(None, "--available-by", help="YYYY-MM-DD."),
    max_walk: float | None = typer.Option(
        None, "--max-walk-min", "--max-walk", help="Most minutes' walk to a hub."
    ),
    hub: str | None = typer.Option(None, "--hub", help="Hub id --max-walk-min refers to."),
    sort: str = typer.Option("walk", "--sort", help="walk | area | rent | updated"),
    limit: int = typer.Option(100, "--limit", help="Results on the map and in the table."),
    link_base: str | None = LINK_BASE,
) -> None:
    """Premises matching the filters (as GET /premises), with hubs, catchments and a table."""
    from geoplan import db
    from geoplan.errors import ValidationError
    from geoplan.premises import PremisesQuery
    from maps.base import render_html
    from maps.search import build_premises_map

    with user_errors(), db.connect() as conn:
        try:
            by = date.fromisoformat(available_by) if available_by else None
        except ValueError:
            raise ValidationError(
                "--available-by must be YYYY-MM-DD", field="available_by"
            ) from None
        q = PremisesQuery(
            uses=[u for v in use for u in v.split(",") if u] or None,
            min_area_m2=min_area,
            max_area_m2=max_area,
            max_rent_nok_m2=max_rent,
            area=area,
            available_by=by,
            max_walk_min=max_walk,
            hub=hub,
            sort=sort,
            limit=limit,
        )
        m, result = build_premises_map(conn, q, link_base=_link_base(link_base))
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
    from geoplan import db
    from maps.area import render_area_map

    with user_errors(), db.connect() as conn:
        html = render_area_map(conn, slug, link_base=_link_base(link_base))
    _write(out, html)


def register(app: typer.Typer) -> None:
    """Add ``geoplan map ...`` to the root app."""
    app.add_typer(map_app, name="map")
