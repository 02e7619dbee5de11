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
    """Print one readable error line and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, never wrapped
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn geoplan's own error types (and bad values) into :func:`fail`, not a traceback."""
    from geoplan.errors import GeoplanError

    try:
        yield
    except GeoplanError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename or exc}")


def info(message: str) -> None:
    err_console.print(message)
