"""``geoplan init | load | import | import-gtfs | import-netex | export``: choosing the
municipality, and getting layers in and out of the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import typer

from geoplan.cli.common import console, err_console, fail, info, user_errors


class Layer(StrEnum):
    premises = "premises"
    areas = "areas"
    hubs = "hubs"
    boundary = "boundary"


class ExportFormat(StrEnum):
    geojson = "geojson"
    gpkg = "gpkg"
    csv = "csv"


@contextmanager
def stage_progress(quiet: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar with one line per stage (reading, validating, writing).

    Hidden with ``--quiet`` and when stderr is not a terminal (pipes, CI logs, tests).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    disabled = quiet or not err_console.is_terminal
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disabled,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        yield report


def _provenance(source, source_url, licence, accuracy_m, verified, sample):
    from geoplan.ingest.validation import ProvenanceDefaults

    return ProvenanceDefaults(
        source=source,
        source_url=source_url,
        licence=licence,
        accuracy_m=accuracy_m,
        verified=verified,
        sample=sample,
    )


SOURCE_OPT = typer.Option(
    None, "--source", help="Provenance for rows without a 'source' (default: the file name)."
)
SOURCE_URL_OPT = typer.Option(None, "--source-url", help="Provenance URL for rows without one.")
LICENCE_OPT = typer.Option(None, "--licence", help="Licence for rows without one.")
ACCURACY_OPT = typer.Option(
    None, "--accuracy-m", min=0, help="Positional accuracy (m) for rows without one."
)
VERIFIED_OPT = typer.Option(
    None, "--verified/--no-verified", help="Verified flag for rows without one (default: no)."
)
SAMPLE_OPT = typer.Option(
    None, "--sample/--no-sample", help="Mark rows without a 'sample' value as sample data."
)
QUIET_OPT = typer.Option(False, "--quiet", "-q", help="No progress bar.")

# -- what import-gtfs and import-netex share (stop registers with timetables) ---------------------
MARGIN_OPT = typer.Option(
    None, "--margin-m", min=0, help="Keep hubs within this distance of the municipality."
)
DATE_OPT = typer.Option(
    None, "--date", help="Day to count departures on (YYYY-MM-DD); default: the busiest weekday."
)


def _service_day(service_date: str | None) -> date | None:
    """``--date`` as a date (None: let the importer choose), or one error line."""
    if not service_date:
        return None
    try:
        return datetime.strptime(service_date, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--date must look like 2025-03-04, got {service_date!r}")


def _margin(margin_m: float | None) -> float:
    from geoplan.ingest.departures import DEFAULT_MARGIN_M

    return DEFAULT_MARGIN_M if margin_m is None else margin_m


def _write_counts(w, replace: bool) -> str:
    """``3 new, 1 updated, 0 unchanged[, 2 removed]`` of an import's write."""
    return f"{w.inserted} new, {w.updated} updated, {w.unchanged} unchanged" + (
        f", {w.deleted} removed" if replace else ""
    )


LAYERS_DIR_OPT = typer.Option(None, "--dir", help="Default: GEOPLAN_LAYERS_DIR.")


def _print_loaded(conn, results) -> None:
    """What ``init``/``load`` left in the store: the municipalities served, the layers loaded."""
    from geoplan.geo.municipalities import served
    from geoplan.ingest.shipped import SHIPPED_KOMMUNE

    kommuner = served(conn)
    console.print("serving    " + ", ".join(f"{k.kommunenummer} {k.name}" for k in kommuner))
    for r in results:
        console.print(f"{r.layer:10} {r.rows:6d} rows ({r.inserted} new, {r.updated} updated)")
    if all(k.kommunenummer != SHIPPED_KOMMUNE for k in kommuner):
        info(
            f"note: the shipped focus areas, hubs and sample premises are Lørenskog's "
            f"({SHIPPED_KOMMUNE}) and were not loaded; import your own with `geoplan import`"
        )


def init(
    kommune: str | None = typer.Option(
        None,
        "--kommune",
        help="Municipality number(s) to serve: 0301, or several comma-separated "
        "(3205,3222,3224). Default: GEOPLAN_KOMMUNE (3222, Lørenskog).",
    ),
    layers_dir: Path | None = LAYERS_DIR_OPT,
) -> None:
    """Set up the store for a municipality: start and migrate the database (as `db up`),
    load Norway's municipalities, serve the chosen ones (their boundaries) and load what is
    shipped for them (Lørenskog's layers only for 3222)."""
    from geoplan.config import get_settings
    from geoplan.geo.municipalities import parse_kommuner
    from geoplan.ingest.municipalities import load_national, national_file, read_national, serve
    from geoplan.ingest.shipped import load_layers
    from geoplan.store import db

    settings = get_settings()
    layers = layers_dir or settings.layers_dir
    field = "--kommune" if kommune is not None else "GEOPLAN_KOMMUNE"
    with user_errors():
        # every number checked against the national file before the database is touched
        numbers = parse_kommuner(kommune if kommune is not None else settings.kommune, field)
        national = read_national(national_file(layers))
        national.check_known(numbers, field)
        url = db.ensure_store(log=info)
        db.ensure_current_schema(url, log=info)
        with db.transaction(url) as conn:
            load_national(conn, national.path)
            serve(conn, numbers)
            results = load_layers(conn, layers, kommuner=numbers)
            _print_loaded(conn, results)


def load(layers_dir: Path | None = LAYERS_DIR_OPT) -> None:
    """Load what is shipped in one transaction: Norway's municipalities, and — for a store
    serving Lørenskog (3222, the default) — its boundary, focus areas, hubs and sample premises.
    A store that serves no municipality yet is set to GEOPLAN_KOMMUNE's."""
    from geoplan.config import get_settings
    from geoplan.geo.municipalities import parse_kommuner
    from geoplan.ingest.municipalities import national_file, read_national
    from geoplan.ingest.shipped import load_layers
    from geoplan.store import db

    settings = get_settings()
    layers = layers_dir or settings.layers_dir
    with user_errors():
        kommuner = parse_kommuner(settings.kommune, "GEOPLAN_KOMMUNE")
        read_national(national_file(layers)).check_known(kommuner, "GEOPLAN_KOMMUNE")
        with db.transaction() as conn:
            results = load_layers(conn, layers, kommuner=kommuner)
            _print_loaded(conn, results)


def import_(
    path: Path = typer.Argument(..., help="GeoJSON, GeoPackage, Shapefile (.shp/.zip) or CSV."),
    layer: Layer = typer.Option(..., "--layer", "-l", help="Layer to import into."),
    crs: str | None = typer.Option(
        None, "--crs", help="CRS of the file's coordinates, e.g. EPSG:25832 (sets/overrides)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace the layer: delete its rows that are not in the file."
    ),
    make_valid: bool = typer.Option(
        False, "--make-valid", help="Repair invalid geometries instead of rejecting the file."
    ),
    source_layer: str | None = typer.Option(
        None, "--source-layer", help="Layer inside a multi-layer GeoPackage."
    ),
    source: str | None = SOURCE_OPT,
    source_url: str | None = SOURCE_URL_OPT,
    licence: str | None = LICENCE_OPT,
    accuracy_m: float | None = ACCURACY_OPT,
    verified: bool | None = VERIFIED_OPT,
    sample: bool | None = SAMPLE_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Import a file into a layer: all rows or, if any row is bad, none (errors list rows)."""
    from geoplan.ingest.files import ImportOptions, import_file
    from geoplan.store import db

    options = ImportOptions(
        crs=crs,
        replace=replace,
        make_valid=make_valid,
        provenance=_provenance(source, source_url, licence, accuracy_m, verified, sample),
        sublayer=source_layer,
    )
    with user_errors(), stage_progress(quiet) as progress, db.transaction() as conn:
        result = import_file(conn, path, layer.value, options, progress)
    for note in result.notes:
        info(f"note: {note}")
    w = result.write
    console.print(f"{layer.value}: {w.rows} rows from {path.name} ({_write_counts(w, replace)})")


def import_gtfs(
    feed: Path = typer.Argument(..., help="GTFS zip (stops, routes, trips, stop_times...)."),
    replace: bool = typer.Option(
        False, "--replace", help="Remove gtfs: hubs the feed no longer has (others stay)."
    ),
    margin_m: float | None = MARGIN_OPT,
    service_date: str | None = DATE_OPT,
    source: str | None = typer.Option(
        None, "--source", help="Provenance (default: publisher + feed file name)."
    ),
    licence: str | None = LICENCE_OPT,
    accuracy_m: float | None = typer.Option(
        None, "--accuracy-m", min=0, help="Positional accuracy of stops (default 10 m)."
    ),
    verified: bool | None = VERIFIED_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Create or update hubs (mode, lines, weekday departures per hour) from a GTFS feed."""
    from geoplan.ingest.gtfs import GtfsOptions
    from geoplan.ingest.gtfs import import_gtfs as run
    from geoplan.store import db

    options = GtfsOptions(
        replace=replace,
        margin_m=_margin(margin_m),
        service_date=_service_day(service_date),
        provenance=_provenance(source, None, licence, accuracy_m, verified, None),
    )
    with user_errors(), stage_progress(quiet) as progress, db.transaction() as conn:
        r = run(conn, feed, options, progress)
    w = r.write
    console.print(
        f"hubs: {r.hubs} from {r.feed} ({_write_counts(w, replace)}); "
        f"departures counted on {r.service_date:%A %Y-%m-%d}; {r.outside} outside the region, "
        f"{r.unsupported} served only by other modes skipped"
    )


def import_netex(
    path: Path = typer.Argument(
        ..., help="NeTEx (Entur's Nordic profile): an .xml file, a folder of them, or a .zip."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Remove netex: hubs the data no longer has (others stay)."
    ),
    margin_m: float | None = MARGIN_OPT,
    service_date: str | None = DATE_OPT,
    include_unserved: bool = typer.Option(
        False,
        "--include-unserved",
        help="Also import stop places no journey of the data departs from (no frequency).",
    ),
    source: str | None = typer.Option(
        None, "--source", help="Provenance (default: NeTEx + file name + validity period)."
    ),
    source_url: str | None = SOURCE_URL_OPT,
    licence: str | None = typer.Option(
        None, "--licence", help="Licence (default: NLOD, © Entur and the data's network)."
    ),
    accuracy_m: float | None = typer.Option(
        None,
        "--accuracy-m",
        min=0,
        help="Positional accuracy for every row (default: a hub's furthest quay, ≥ 10 m).",
    ),
    verified: bool | None = VERIFIED_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Create or update hubs (and their stop places and quays) from NeTEx, with departures/hour."""
    from geoplan.ingest.netex import NetexOptions
    from geoplan.ingest.netex import import_netex as run
    from geoplan.store import db

    options = NetexOptions(
        replace=replace,
        margin_m=_margin(margin_m),
        service_date=_service_day(service_date),
        include_unserved=include_unserved,
        provenance=_provenance(source, source_url, licence, accuracy_m, verified, None),
    )
    with user_errors(), stage_progress(quiet) as progress, db.transaction() as conn:
        r = run(conn, path, options, progress)
    for note in r.notes:
        info(f"note: {note}")
    w = r.write
    counted = (
        f"departures counted on {r.service_date:%A %Y-%m-%d}"
        if r.service_date
        else "no timetable (departures unknown)"
    )
    console.print(
        f"hubs: {r.hubs} from {r.feed} ({_write_counts(w, replace)}), "
        f"with {r.hub_stops} stop places and quays; read {r.stop_places} stop places, "
        f"{r.quays} quays, {r.journeys} journeys; {counted}; {r.outside} outside the region, "
        f"{r.unserved} without departures, {r.unsupported} served only by other modes, "
        f"{r.without_coordinates} without coordinates (not placed)"
    )


def export(
    layer: Layer = typer.Option(..., "--layer", "-l", help="Layer to export."),
    fmt: ExportFormat = typer.Option(
        ..., "--format", "-f", help="geojson/csv in WGS84, gpkg in EPSG:25833."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (overwritten)."),
) -> None:
    """Export a layer with its provenance columns (re-importable with `geoplan import`)."""
    from geoplan.ingest.export import export_layer
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        n = export_layer(conn, layer.value, fmt.value, out)
    console.print(f"{layer.value}: {n} features written to {out}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("load")(load)
    app.command("import")(import_)
    app.command("import-gtfs")(import_gtfs)
    app.command("import-netex")(import_netex)
    app.command("export")(export)
