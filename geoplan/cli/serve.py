"""``geoplan serve``: run the HTTP API and maps with uvicorn."""

from __future__ import annotations

import typer

from geoplan.cli.common import info


def serve(
    host: str | None = typer.Option(None, help="Default: GEOPLAN_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: GEOPLAN_PORT (8000)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the API and the maps (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from geoplan.config import get_settings

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    info(f"serving geoplan on http://{host}:{port}  (API docs: /docs, OGC API: /ogc)")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, reload=reload)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
