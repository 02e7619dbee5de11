"""``geoplan import-addresses | geocode``: the official address register and the geocoder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from geoplan.cli.common import console, fail, info, user_errors
from geoplan.cli.layers import QUIET_OPT, SOURCE_URL_OPT, stage_progress


def import_addresses(
    path: Path = typer.Argument(
        ..., help="Kartverket's Matrikkelen – Adresse CSV (Basisdata_NNNN_…_Adresse.csv)."
    ),
    source: str | None = typer.Option(
        None, "--source", help="Provenance (default: Kartverket, Matrikkelen – Adresse (file))."
    ),
    source_url: str | None = SOURCE_URL_OPT,
    licence: str | None = typer.Option(
        None, "--licence", help="Licence (default: CC BY 4.0 © Kartverket)."
    ),
    accuracy_m: float | None = typer.Option(
        None, "--accuracy-m", min=0, help="Positional accuracy of the points (default 10 m)."
    ),
    sample: bool = typer.Option(False, "--sample", help="Mark the rows as sample data."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Import a municipality's addresses, replacing those it had (all rows or none)."""
    from geoplan.addresses import AddressProvenance
    from geoplan.addresses import import_addresses as run
    from geoplan.store import db

    provenance = AddressProvenance(
        source=source, source_url=source_url, licence=licence, accuracy_m=accuracy_m,
        sample=sample,
    )  # fmt: skip
    with user_errors(), stage_progress(quiet) as progress, db.transaction() as conn:
        r = run(conn, path, provenance, progress)
    kommuner = ", ".join(f"{nr} {name or ''}".strip() for nr, name in r.kommuner.items())
    skipped = (
        f"; {r.skipped_matrikkeladresser} matrikkeladresser (gnr/bnr, no street) skipped"
        if r.skipped_matrikkeladresser
        else ""
    )
    dated = f", dataset date {r.dataset_date:%Y-%m-%d}" if r.dataset_date else ""
    console.print(
        f"addresses: {r.rows} from {r.source_name} (kommune {kommuner}; EPSG:{r.epsg}{dated}; "
        f"{r.replaced} replaced){skipped}",
        soft_wrap=True,
    )


def geocode(
    text: str = typer.Argument(..., help='The address, e.g. "Storgata 2, Elverum".'),
    limit: int = typer.Option(5, "--limit", "-n", help="How many candidates (1–50)."),
    as_json: bool = typer.Option(False, "--json", help="JSON, as GET /geocode answers."),
) -> None:
    """Ranked candidates for an address, with score and match kind (exact,
    nearest_house_number, street_only); exit 1 when nothing matches."""
    from geoplan.addresses import addresses_loaded, geocode_report
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        report = geocode_report(conn, text, limit)
        loaded = bool(report["candidates"]) or addresses_loaded(conn)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    if not report["candidates"]:
        if not loaded:
            fail("no addresses are loaded; run `geoplan import-addresses FILE` first")
        fail(f"no address matches {text!r}")
    if as_json:
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    numeric = ("score", "lon", "lat", "E", "N", "±m")
    for name in ("score", "match", "address", "post", "kommune", "lon", "lat", "E", "N", "±m"):
        table.add_column(name, justify="right" if name in numeric else "left")
    for c in report["candidates"]:
        table.add_row(
            f"{c['score']:.3f}",
            c["match_kind"],
            c["address"],
            f"{c['postnummer'] or ''} {c['poststed'] or ''}".strip(),
            c["kommunenummer"],
            f"{c['lon']:.6f}",
            f"{c['lat']:.6f}",
            f"{c['epsg25833']['x']:.1f}",
            f"{c['epsg25833']['y']:.1f}",
            "" if c["accuracy_m"] is None else f"{c['accuracy_m']:g}",
        )
    console.print(table)
    first = report["candidates"][0]
    info(f"source: {first['source']}; {first['licence']}")


def register(app: typer.Typer) -> None:
    app.command("import-addresses")(import_addresses)
    app.command("geocode")(geocode)
