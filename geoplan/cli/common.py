"""What every CLI command shares: the console, turning known errors into one line and exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one readable error line and exit non-zero.

    The message is printed as is (no rich markup, no wrapping), so the first line stays one
    line in logs and pipes; validation errors may list rows on the lines after it.
    """
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn geoplan's own error types (and bad values) into :func:`fail`, not a traceback."""
    import psycopg

    from geoplan.errors import GeoplanError

    try:
        yield
    except GeoplanError as exc:
        fail(str(exc))
    except psycopg.Error as exc:
        # A query the store refused (e.g. a schema older than the code): one line, not a trace.
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        fail(f"database error: {first} (is the schema current? run `geoplan db up`)")
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename or exc}")


def info(message: str) -> None:
    err_console.print(message)
