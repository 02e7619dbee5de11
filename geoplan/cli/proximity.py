"""``geoplan proximity nearest | coverage``: hubs within walking reach, as a table or JSON."""

from __future__ import annotations

import json

import typer

from geoplan.cli.common import console, settings_walk, user_errors

GROUP_LABELS = {
    "existing": "any hub",
    "existing_rail_metro": "rail/metro",
    "planned": "planned",
    "planned_adds": "+planned",
}

proximity_app = typer.Typer(
    help="Walking distance to transit hubs: nearest hubs, and coverage of vacant premises.",
    no_args_is_help=True,
)


@proximity_app.command("nearest")
def nearest(
    lon: float = typer.Option(..., help="Longitude (WGS84), e.g. 10.9548"),
    lat: float = typer.Option(..., help="Latitude (WGS84), e.g. 59.9267"),
    k: int = typer.Option(3, "--k", "-k", help="How many hubs (1–50)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The k transit hubs nearest on foot to a point, with walking time and method."""
    from rich.table import Table

    from geoplan.config import get_settings
    from geoplan.proximity import nearest_report
    from geoplan.store import db

    margin_m = get_settings().region_margin_m
    with user_errors(), db.connect() as conn:
        report = nearest_report(conn, lon, lat, k, walk=settings_walk(), margin_m=margin_m)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=f"Nearest hubs on foot from {lat:.5f} N, {lon:.5f} E")
    for col, justify in (
        ("hub", "left"),
        ("mode", "left"),
        ("status", "left"),
        ("straight m", "right"),
        ("walk m", "right"),
        ("walk min", "right"),
        ("method", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=col != "hub")  # type: ignore[arg-type]
    for h in report["hubs"]:
        table.add_row(
            h["name"],
            h["mode"],
            h["status"],
            f"{h['straight_m']:.0f}",
            f"{h['walk_m']:.0f}",
            f"{h['walk_min']:.1f}",
            h["method"],
        )
    console.print(table)
    if any(h["method"] == "straight_line" for h in report["hubs"]):
        console.print(
            f"straight_line = straight-line distance × {report['detour_factor']:g} "
            + ("(no walking network loaded)" if not report["network_loaded"] else "")
        )


@proximity_app.command("coverage")
def coverage(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    kommune: str | None = typer.Option(
        None,
        "--kommune",
        help="Only these municipalities' premises and areas, e.g. 3222 or 3205,3222.",
    ),
) -> None:
    """Vacant premises within 5/10/15 minutes' walk of hubs, per focus area and in total."""
    from rich.table import Table

    from geoplan.geo import municipalities
    from geoplan.proximity import coverage_report
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        kommuner = municipalities.scope(conn, kommune, "--kommune")
        report = coverage_report(conn, walk=settings_walk(), kommuner=kommuner)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
        return
    minutes = report["minutes"]
    table = Table(
        title="Vacant premises within walking reach (count / floor area m²)",
        caption=(
            "+planned = near a planned hub but not an existing rail/metro hub"
            + ("" if report["network_loaded"] else "; no network: straight line × detour factor")
        ),
    )
    table.add_column("area", overflow="fold")
    table.add_column("hubs", no_wrap=True)
    table.add_column("all", justify="right", no_wrap=True)
    for m in minutes:
        table.add_column(f"≤{m} min", justify="right", no_wrap=True)
    previous = None
    for r in report["rows"]:
        name = r["area_name"] if r["area_id"] != previous else ""
        previous = r["area_id"]
        cells = [f"{r['premises']} / {r['floor_area_m2']:,.0f}"]
        for m in minutes:
            w = r["within"][m]
            cells.append(f"{w['premises']} / {w['floor_area_m2']:,.0f}")
        label = GROUP_LABELS.get(r["hubs"], r["hubs"])
        table.add_row(name, label, *cells, end_section=r["hubs"] == "planned_adds")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(proximity_app, name="proximity")
