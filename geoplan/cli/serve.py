"""``geoplan serve``: run the HTTP API and maps with uvicorn, in one or several processes."""

from __future__ import annotations

import copy
from typing import Any

import typer

from geoplan.cli.common import err_console, fail, info


def serve(
    host: str | None = typer.Option(None, help="Default: GEOPLAN_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: GEOPLAN_PORT (8000)."),
    workers: int | None = typer.Option(
        None,
        min=1,
        max=64,
        help="Worker processes. Default: GEOPLAN_WORKERS (1). Each has its own database pools "
        "(see docs/operations.md, Sizing).",
    ),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the API and the maps (http://127.0.0.1:8000 by default).

    The server starts even when the database is down: it says so in one line, answers 503 with
    Retry-After to what needs the database, and serves again as soon as the database is back.
    """
    import uvicorn

    from geoplan.config import get_settings

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    if reload and workers > 1:
        fail("--reload serves from one process; leave out --workers (or set GEOPLAN_WORKERS=1)")
    for line in capacity_warnings(settings, workers):
        err_console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)
    processes = f", {workers} worker processes" if workers > 1 else ""
    info(f"serving geoplan on http://{host}:{port}{processes}  (API docs: /docs, OGC API: /ogc)")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers if workers > 1 else None,
        log_config=log_config(),
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging, extended to geoplan's own log lines (the database going down and
    coming back, 5xx answers), which then read like uvicorn's. psycopg's pool logs every failed
    reconnection attempt during an outage; geoplan's one line per outage replaces them."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["geoplan"] = {"handlers": ["default"], "level": "WARNING", "propagate": False}
    config["loggers"]["psycopg.pool"] = {
        "handlers": ["default"],
        "level": "ERROR",
        "propagate": False,
    }
    return config


def capacity_warnings(settings: Any, workers: int) -> list[str]:
    """A line for each database whose ``max_connections`` the workers' pools could exhaust.

    Pools grow on demand, so an overcommitted server is met only under load — as refused
    connections, long after start. Said at start instead; an unreachable database is skipped
    (the server says so itself when it starts).
    """
    from api.database import CONNECT_TIMEOUT_S, connections_per_worker
    from geoplan.store import db

    need = workers * connections_per_worker(settings)
    urls = {"database": db.database_url(settings), "read replica": settings.read_database_url}
    lines = []
    for name, url in urls.items():
        if not url:
            continue
        try:
            with db.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                limit = int(conn.execute("SHOW max_connections").fetchone()[0])
                reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
        except db.DatabaseError:
            continue
        if need > limit - reserved:
            lines.append(
                f"{workers} worker(s) × {connections_per_worker(settings)} connections "
                f"(GEOPLAN_POOL_SIZE + GEOPLAN_READ_POOL_SIZE) = {need} may exceed what the "
                f"{name} allows (max_connections {limit}, {reserved} reserved); under load "
                "requests would be refused. Lower --workers or the pool sizes, or raise "
                "max_connections (docs/operations.md, Sizing)"
            )
    return lines


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
