"""``geoplan premises searches list | delete`` and ``geoplan alerts run``: saved searches from the
server's side, and the webhook deliveries.

Saved searches are made over HTTP (``POST /premises/searches``) by whoever searches; an operator
lists and deletes them here. ``geoplan alerts run`` delivers the webhooks: one pass with
``--once`` (for cron or a systemd timer), else a pass every ``--interval`` seconds until
Ctrl-C. Several runners may run at once (rows are locked, no change is sent twice).
"""

from __future__ import annotations

import time

import typer
from rich.table import Table

from geoplan.cli.common import console, info, user_errors

searches_app = typer.Typer(help="Saved premises searches (made with POST /premises/searches).",
                           no_args_is_help=True)  # fmt: skip
alerts_app = typer.Typer(help="Deliver saved searches' webhooks.", no_args_is_help=True)


def list_() -> None:
    """List every saved search: id, title, filters, webhook and its state."""
    from geoplan.premises import saved
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        records = saved.list_all(conn)
    table = Table(title=f"{len(records)} saved search(es)")
    for column in ("id", "title", "filters", "created", "webhook"):
        table.add_column(column, overflow="fold")
    for r in records:
        hook = r["webhook_url"] or "–"
        if r["webhook_url"] and r["webhook_failures"]:
            hook += f" ({r['webhook_failures']} failure(s): {r['webhook_last_error']})"
        filters = ", ".join(f"{k}={v}" for k, v in r["filters"].items()) or "(all)"
        table.add_row(r["id"], r["title"] or "–", filters[:300],
                      f"{r['created_at']:%Y-%m-%d %H:%M}", hook)  # fmt: skip
    console.print(table)


def delete(search_id: str = typer.Argument(..., help="Saved search id.")) -> None:
    """Delete a saved search (its feed and webhook stop)."""
    from geoplan.premises import saved
    from geoplan.store import db

    with user_errors(), db.transaction() as conn:
        saved.delete(conn, search_id)
    info(f"Deleted saved search {search_id}.")


def run(
    once: bool = typer.Option(False, "--once", help="One pass, then exit (cron, systemd timer)."),
    interval: float = typer.Option(
        60.0, "--interval", min=1.0, max=86_400.0, help="Seconds between passes."
    ),
    base_url: str = typer.Option(
        None,
        "--base-url",
        help="Public URL of the API for the links in payloads (default: GEOPLAN_PUBLIC_URL, "
        "else http://GEOPLAN_HOST:GEOPLAN_PORT).",
    ),
    attempts: int = typer.Option(4, "--attempts", min=1, max=10, help="Tries per delivery."),
) -> None:
    """Deliver new and changed matches of saved searches to their webhooks."""
    from geoplan.config import get_settings
    from geoplan.premises import alerts
    from geoplan.store import db

    settings = get_settings()
    base = base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    while True:
        with user_errors(), db.connect() as conn:
            report = alerts.run_once(
                conn,
                base_url=base,
                allow_private=settings.webhook_allow_private,
                attempts=attempts,
            )
        for d in report.deliveries:
            if not d.delivered:
                console.print(f"{d.search_id}: {d.matches} match(es) not delivered: {d.error}",
                              markup=False)  # fmt: skip
        info(report.summary)
        if once:
            return
        time.sleep(interval)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (``searches`` under ``premises``)."""
    searches_app.command("list")(list_)
    searches_app.command("delete")(delete)
    alerts_app.command("run")(run)
    app.add_typer(alerts_app, name="alerts")


def register_searches(premises_app: typer.Typer) -> None:
    premises_app.add_typer(searches_app, name="searches")
