"""``geoplan import-plan`` and ``geoplan plans list | premises-by-land-use``: zoning plans in,
and vacant premises counted per land-use purpose."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from geoplan.cli.common import console, err_console, user_errors
from geoplan.cli.layers import LICENCE_OPT, QUIET_OPT, SOURCE_URL_OPT, stage_progress

plans_app = typer.Typer(
    help="Zoning plans (reguleringsplaner): the stored plans, and vacant premises per purpose.",
    no_args_is_help=True,
)


def import_plan(
    path: Path = typer.Argument(
        ..., help="Reguleringsplanforslag 5.0 GML (.gml) or SOSI (.sos) file of one plan."
    ),
    no_region_check: bool = typer.Option(
        False,
        "--no-region-check",
        help="Only for schema examples and test data whose coordinates lie nowhere real: do not "
        "refuse a plan outside the municipality (warn instead). Mark such plans --sample.",
    ),
    source: str | None = typer.Option(
        None, "--source", help="Provenance (default: file name, plan name and format)."
    ),
    source_url: str | None = SOURCE_URL_OPT,
    licence: str | None = LICENCE_OPT,
    verified: bool = typer.Option(False, "--verified/--no-verified", help="Verified flag."),
    sample: bool = typer.Option(
        False, "--sample/--no-sample", help="Mark the plan as sample data (not a real plan)."
    ),
    quiet: bool = QUIET_OPT,
) -> None:
    """Import one zoning plan into the layers plans and land_use: all of it or, if anything
    geoplan stores is faulty, nothing (re-importing a plan replaces it)."""
    from geoplan.store import db
    from geoplan.zoning import PlanImportOptions
    from geoplan.zoning import import_plan as run

    options = PlanImportOptions(
        check_region=not no_region_check,
        source=source,
        source_url=source_url,
        licence=licence,
        verified=verified,
        sample=sample,
    )
    with user_errors(), stage_progress(quiet) as progress, db.transaction() as conn:
        r = run(conn, path, options, progress)
    for w in r.warnings:  # one line each, as written (no markup: messages may hold brackets)
        err_console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    purposes = ", ".join(f"{n}× {code} {name}" for code, name, n in r.by_code) or "none"
    ignored = ", ".join(f"{n} {t}" for t, n in sorted(r.ignored.items()))
    console.print(
        f"plan {r.plan.id} «{r.plan.name}» ({r.format}) "
        f"{'replaced' if r.replaced else 'imported'}: {r.areas} land-use areas ({purposes})"
        + ("" if r.has_plan_area else "; no plan area (RpOmråde) in the file")
        + (f"; not stored: {ignored}" if ignored else "")
        + (f"; {len(r.warnings)} warnings" if r.warnings else ""),
        soft_wrap=True,
    )


@plans_app.command("list")
def list_plans(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The stored plans with their land-use areas."""
    from rich.table import Table

    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        cur = conn.execute(
            """SELECT p.id, p.name, p.plan_type_name, p.status_name, p.decision_date::text,
                      p.kommunenummer, p.sample, count(lu.id)
               FROM plans p LEFT JOIN land_use lu ON lu.plan = p.id
               GROUP BY p.id ORDER BY p.id"""
        )
        cols = ["id", "name", "type", "status", "decided", "kommunenummer", "sample", "areas"]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} zoning plans")
    for col in cols:
        table.add_column(col, justify="right" if col == "areas" else "left")
    for r in rows:
        table.add_row(*("–" if v is None else str(v) for v in r.values()))
    console.print(table)


@plans_app.command("premises-by-land-use")
def premises_by_land_use(
    plan: str | None = typer.Option(None, "--plan", help="One plan's id; default: all plans."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Vacant premises counted per land-use purpose (arealformål) of the stored plans."""
    from rich.table import Table

    from geoplan.store import db
    from geoplan.zoning import vacant_premises_by_land_use

    with user_errors(), db.connect() as conn:
        report = vacant_premises_by_land_use(conn, plan)
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return
    table = Table(
        title="Vacant premises per land-use purpose"
        + (f" in plan {plan}" if plan else f" ({report.plans} plans)"),
        caption=(
            f"{report.vacant_premises} vacant premises: {report.in_land_use} in a land-use area, "
            f"{report.outside_land_use} outside all; a premises in overlapping areas counts for "
            "each purpose"
        ),
    )
    for col, justify in (
        ("code", "right"),
        ("arealformål", "left"),
        ("areas", "right"),
        ("area m²", "right"),
        ("premises", "right"),
        ("floor m²", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in report.purposes:
        premises = f"{p.premises}" + (f" ({p.sample_premises} sample)" if p.sample_premises else "")
        table.add_row(
            str(p.code),
            p.name,
            str(p.areas),
            f"{p.area_m2:,.0f}",
            premises,
            f"{p.floor_area_m2:,.0f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("import-plan")(import_plan)
    app.add_typer(plans_app, name="plans")
