"""``geoplan load | import | import-gtfs | export``: getting layers in and out of the store."""

from __future__ import annotations

from pathlib import Path

import typer

from geoplan.cli.common import console, user_errors


def load(
    layers_dir: Path | None = typer.Option(None, "--dir", help="Default: GEOPLAN_LAYERS_DIR."),
) -> None:
    """Load all shipped layers (boundary, areas, hubs, sample premises) in one transaction."""
    from geoplan import db
    from geoplan.config import get_settings
    from geoplan.layers import load_layers

    with user_errors(), db.transaction() as conn:
        results = load_layers(conn, layers_dir or get_settings().layers_dir)
    for r in results:
        console.print(f"{r.layer:10} {r.rows:6d} rows")


def register(app: typer.Typer) -> None:
    app.command("load")(load)
