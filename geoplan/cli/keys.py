"""``geoplan keys create | list | revoke``: the API keys that allow writes to the register.

Run on the server by an operator (anyone with database access). The plaintext key is printed
once, to stdout only, and never stored or logged; the store keeps a SHA-256 hash.
"""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.table import Table

from geoplan.cli.common import console, info, user_errors

keys_app = typer.Typer(help="API keys for writing premises.", no_args_is_help=True)


class Scope(StrEnum):
    write = "write"
    admin = "admin"


def create(
    name: str = typer.Option(..., "--name", help="Who holds the key (person, broker, system)."),
    scope: Scope = typer.Option(
        Scope.write,
        "--scope",
        help="write (a broker: changes only the listings it creates) or admin (every listing).",
    ),
    admin: bool = typer.Option(False, "--admin", help="Same as --scope admin."),
) -> None:
    """Create a key and print it ONCE (it cannot be shown again)."""
    from geoplan.auth.keys import create_key
    from geoplan.store import db

    with user_errors(), db.transaction() as conn:
        plaintext, key = create_key(conn, name, Scope.admin if admin else scope.value)
    info(f"created key #{key.id} for {key.name!r} (scope {key.scope}); store it now:")
    typer.echo(plaintext)
    info("Send it as: Authorization: Bearer <key>")


def list_(
    include_revoked: bool = typer.Option(True, "--all/--active", help="Show revoked keys too."),
) -> None:
    """List keys (prefix, holder, scope, state); the keys themselves are not stored."""
    from geoplan.auth.keys import list_keys
    from geoplan.store import db

    with user_errors(), db.connect() as conn:
        keys = list_keys(conn, include_revoked=include_revoked)
    table = Table(title=f"API keys ({len(keys)})")
    for col in ("id", "prefix", "name", "scope", "created", "state"):
        table.add_column(col)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "[green]active[/]"
        table.add_row(str(k.id), k.prefix + "…", k.name, k.scope, f"{k.created_at:%Y-%m-%d}", state)
    console.print(table)


def revoke(key_id: int = typer.Argument(..., help="Key id (see `geoplan keys list`).")) -> None:
    """Revoke a key; requests using it get 401 from now on."""
    from geoplan.auth.keys import revoke_key
    from geoplan.store import db

    with user_errors(), db.transaction() as conn:
        key = revoke_key(conn, key_id)
    console.print(f"revoked key #{key.id} ({key.prefix}…, {key.name})")


def register(app: typer.Typer) -> None:
    keys_app.command("create")(create)
    keys_app.command("list")(list_)
    keys_app.command("revoke")(revoke)
    app.add_typer(keys_app, name="keys")
