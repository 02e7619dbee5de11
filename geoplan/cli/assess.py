"""``geoplan assess``: a first assessment of a site and use against the policy file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from geoplan.cli.common import console, fail, info, settings_walk, user_errors

EFFECT_STYLE = {"conforms": "green", "needs_review": "dark_orange", "conflicts": "red"}


def assess_command(
    use: str = typer.Option(None, "--use", help="Use category, e.g. office, retail, hotel."),
    floor_area: float = typer.Option(None, "--floor-area", help="Gross floor area in m²."),
    lon: float | None = typer.Option(None, "--lon", help="Site longitude (WGS84)."),
    lat: float | None = typer.Option(None, "--lat", help="Site latitude (WGS84)."),
    site: Path | None = typer.Option(
        None,
        "--site",
        help="GeoJSON file with one Point/Polygon (geometry, Feature or collection).",
    ),
    crs: str | None = typer.Option(None, "--crs", help="CRS of --site when not in the file."),
    employees: int | None = typer.Option(None, "--employees", help="Number of employees."),
    visitors: int | None = typer.Option(None, "--visitors", help="Daily visitors."),
    report: Path | None = typer.Option(None, "--report", help="Write the HTML report here."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    save: bool = typer.Option(False, "--save", help="Store the case (prints its id)."),
    check_policy: bool = typer.Option(
        False, "--check-policy", help="Only validate the policy file and exit."
    ),
) -> None:
    """Assess whether a use at a site fits the strategy ("rett virksomhet på rett sted")."""
    from geoplan.assessment import AssessmentInput, assess, store_assessment
    from geoplan.assessment.policy import load_policy
    from geoplan.config import get_settings
    from geoplan.store import db

    with user_errors():
        policy = load_policy()
    if check_policy:
        console.print(
            f"policy OK: {get_settings().policy_file} (version {policy.version}, "
            f"updated {policy.updated}, {len(policy.uses)} uses, {len(policy.areas)} areas)"
        )
        return
    if use is None:
        fail("--use is required (e.g. --use office)")
    if floor_area is None:
        fail("--floor-area is required (m²)")
    if site is not None and (lon is not None or lat is not None):
        fail("give either --site or --lon/--lat, not both")
    if site is None:
        if lon is None or lat is None:
            fail("give the site: --lon and --lat, or --site file.geojson")
        geojson = {"type": "Point", "coordinates": [lon, lat]}
    else:
        try:
            geojson = json.loads(site.read_text(encoding="utf-8"))
        except FileNotFoundError:
            fail(f"file not found: {site}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            fail(f"{site}: not valid JSON ({exc})")
    inp = AssessmentInput(geojson, use, floor_area, employees, visitors, crs)
    walk = settings_walk()
    with user_errors(), db.transaction() as conn:
        result = assess(conn, inp, policy, walk=walk)
        record = store_assessment(conn, result) if save else {"id": None, **result}
        if report is not None:
            from maps.assessment import assessment_report_html

            html = assessment_report_html(conn, record, policy=policy, walk=walk)
            report.write_text(html, encoding="utf-8")
    if as_json:
        print(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        _print_summary(record)
    if report is not None:
        info(f"report written to {report}")
    if save:
        info(f"stored as {record['id']}")


def _print_summary(r: dict) -> None:
    from rich.table import Table

    facts = r["facts"]
    style = EFFECT_STYLE[r["verdict"]]
    console.print(f"[bold {style}]{r['verdict_label'].upper()}[/]  {r['summary']}")
    areas = ", ".join(f"{a['name']} {a['overlap_share']:.0%}" for a in facts["areas"])
    lc = facts["location_class"]
    console.print(
        f"[dim]municipality:[/] {facts['municipality']['name']} ({facts['municipality']['inside']})"
        f"  [dim]areas:[/] {areas or 'outside all focus areas'}"
        f"  [dim]class:[/] {lc['existing']} (needs {lc['required']}"
        + (f", {lc['with_planned']} with planned hubs" if lc["via_planned_hub"] else "")
        + ")"
    )
    hubs = Table(title="Nearest hubs", show_edge=False, title_justify="left")
    for col in ("hub", "mode", "status", "dep/h", "walk", "method", "class"):
        hubs.add_column(col)
    for h in facts["nearest_hubs"][:5]:
        hubs.add_row(
            h["name"],
            h["mode"],
            h["status"],
            str(h["departures_per_hour"] or "–"),
            f"{h['walk_min']} min" if h["walk_min"] is not None else "–",
            h["method"],
            h["grants_class"],
        )
    console.print(hubs)
    reasons = Table(title="Reasons", show_edge=False, title_justify="left")
    reasons.add_column("effect")
    reasons.add_column("rule")
    reasons.add_column("why (source)")
    for x in r["reasons"]:
        cites = "; ".join(c["text"] for c in x["cites"])
        reasons.add_row(
            f"[{EFFECT_STYLE[x['effect']]}]{x['effect']}[/]",
            x["rule"],
            f"{x['message']}\n[dim]{cites}[/]",
        )
    console.print(reasons)
    console.print(
        f"[dim]{len(r['nots'])} further checks did not apply (see --json or --report).[/]"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("assess")(assess_command)
