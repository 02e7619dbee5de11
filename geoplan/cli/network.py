"""``geoplan network import | catchments | info``: the walking network and hub catchments."""

from __future__ import annotations

from pathlib import Path

import typer

from geoplan.cli.common import console, settings_walk, user_errors

network_app = typer.Typer(
    help="The pedestrian network (from OpenStreetMap) and the hubs' walking catchments.",
    no_args_is_help=True,
)


def _progress_bar():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@network_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="OpenStreetMap extract: .osm.pbf, .osm or .osm.bz2."),
) -> None:
    """Replace the walking network with the walkable ways of an OSM extract (all-or-nothing).

    Catchments and every premises' walking time are recomputed on the new network in the same
    transaction.
    """
    from geoplan.proximity.network import import_osm
    from geoplan.store import db

    with user_errors():
        if not file.is_file():
            raise FileNotFoundError(2, "No such file", str(file))
    with user_errors(), _progress_bar() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        with db.transaction() as conn:
            r = import_osm(conn, file, progress=progress)
        for task in bar.tasks:  # stages of unknown length end as complete
            bar.update(task.id, total=task.completed or 1, completed=task.completed or 1)
    console.print(
        f"{r.path.name}: {r.ways_kept} of {r.ways_read} highway ways walkable → "
        f"{r.nodes} nodes, {r.edges} edges, {r.length_km:.1f} km; "
        f"{r.catchments} catchments, {r.premises_annotated} premises updated"
    )


@network_app.command("catchments")
def catchments() -> None:
    """Recompute the 5/10/15-minute walking catchments of every hub."""
    from geoplan.proximity import refresh_catchments
    from geoplan.store import db

    with user_errors(), console.status("computing catchments"), db.transaction() as conn:
        n = refresh_catchments(conn, walk=settings_walk())
        methods = conn.execute(
            "SELECT method, count(*) FROM catchments GROUP BY method ORDER BY method"
        ).fetchall()
    detail = ", ".join(f"{c} {m}" for m, c in methods) or "no hubs loaded"
    console.print(f"{n} catchments ({detail})")


@network_app.command("info")
def info() -> None:
    """How big the loaded network is."""
    from geoplan.proximity.network import network_summary
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        s = network_summary(conn)
    if not s["edges"]:
        console.print("no walking network loaded (walking times use straight line × detour factor)")
    else:
        console.print(f"{s['nodes']} nodes, {s['edges']} edges, {s['length_km']:.1f} km")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(network_app, name="network")
