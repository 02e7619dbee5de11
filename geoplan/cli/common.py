"""What every CLI command shares: the console, turning known errors into one line and exit 1,
and the process settings handed to the core as it takes them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

# Typer vendors click as ``typer._click``; its exception classes are only importable from there.
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperGroup

if TYPE_CHECKING:
    from geoplan.proximity import WalkSettings

# soft_wrap: rich wraps nothing itself (piped, it would cut lines at 80 columns, breaking
# `psql "$(geoplan db url --show-password)"`, CSV and JSON); tables still fit the width.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one readable error line and exit non-zero.

    The message is printed as is (no rich markup, no wrapping), so the first line stays one
    line in logs and pipes; validation errors may list rows on the lines after it.
    """
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def settings_walk() -> WalkSettings:
    """The walking model of the process settings (``GEOPLAN_WALK_SPEED_KMH``, ...): what the
    commands pass to every core function whose result depends on it."""
    from geoplan.config import get_settings
    from geoplan.proximity import WalkSettings

    return WalkSettings.from_settings(get_settings())


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn geoplan's own error types (and bad values) into :func:`fail`, not a traceback.

    The classes are the ones ``api/errors.py`` maps to HTTP statuses, all under
    :class:`~geoplan.errors.GeoplanError` (``DatabaseUnavailableError`` included); here each is
    one line and exit 1.
    """
    import psycopg

    from geoplan.errors import GeoplanError

    try:
        yield
    except GeoplanError as exc:
        fail(str(exc))
    except psycopg.Error as exc:
        # A query the store refused: one line, not a trace; the hint about the schema only when
        # the store lacks a table, column or function the code uses (a schema older than it).
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = " (is the schema current? run `geoplan db up`)" if schema_error(exc) else ""
        fail(f"database error: {first}{hint}")
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename or exc}")


SCHEMA_SQLSTATES = ("42P01", "42703", "42883", "42704")
"""undefined table, column, function, object: what a schema older than the code raises."""


def schema_error(exc: BaseException) -> bool:
    """Whether a database error says the schema lacks something the code uses."""
    return getattr(exc, "sqlstate", None) in SCHEMA_SQLSTATES


def _param_name(param: Any) -> str:
    """How the user wrote the parameter: ``--format`` for an option, ``premises_id`` for an
    argument (as ``--help`` lists it)."""
    opts = getattr(param, "opts", None) or []
    if getattr(param, "param_type_name", "") == "option" and opts:
        return max(opts, key=len)  # the long name: ``--out`` rather than ``-o``
    return getattr(param, "human_readable_name", None) or getattr(param, "name", "?")


def _bad_input(exc: BadParameter) -> Any:
    """The value typer's pydantic coercion refused, or ``None`` when the error does not say."""
    errors = getattr(exc.__cause__, "errors", None)
    try:
        return errors()[0]["input"] if callable(errors) else None
    except (IndexError, KeyError, TypeError):
        return None


def _sentence(text: str) -> str:
    """``text`` as the tail of an ``error:`` line: one line, no final period, lower-case start
    (unless the first word is an acronym or an option)."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def usage_error_line(exc: ClickException) -> str:
    """One readable line for an error typer/click found in the command line itself, naming
    the option or argument: ``--format: 'xls' is not one of 'table', 'geojson', 'csv'``.

    Click's own rendering is a usage line, a hint and a boxed panel over several lines; the
    house rule is one line that a log or a pipe keeps whole.
    """
    ctx = getattr(exc, "ctx", None)
    see = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    if isinstance(exc, MissingParameter):
        param = exc.param
        if param is None:
            return _sentence(exc.format_message()) + see
        kind = getattr(param, "param_type_name", "parameter")
        return f"missing {kind} {_param_name(param)}{see}"
    if isinstance(exc, BadParameter):
        message = exc.message.removeprefix("Value error, ")
        value = _bad_input(exc)
        if value is not None and repr(value) not in message:
            message = f"{_sentence(message)} (got {value!r})"
        if exc.param is None:
            return f"invalid value: {_sentence(message)}"
        return f"{_param_name(exc.param)}: {_sentence(message)}"
    if isinstance(exc, NoSuchOption):
        line = f"no such option: {exc.option_name}"
        if exc.possibilities:
            line += f" (did you mean {' or '.join(sorted(exc.possibilities))}?)"
            return line
        return line + see
    if isinstance(exc, BadOptionUsage):  # "Option '--limit' requires an argument."
        message = exc.message.removeprefix(f"Option '{exc.option_name}' ")
        return f"{exc.option_name}: {_sentence(message)}"
    if isinstance(exc, UsageError):
        return _sentence(exc.message) + see
    return _sentence(exc.format_message())


class OneLineErrorsGroup(TyperGroup):
    """The root command: errors in the command line (a bad option value, an unknown option, a
    missing argument) end it as :func:`fail` does, with one line, but with exit code 2 as click
    uses for usage errors; a ``GEOPLAN_*`` setting that does not pass, wherever a command reads
    the settings, with one line naming the variable and exit 1.

    Parsing happens in ``make_context`` (the root's options) and ``invoke`` (every subcommand's),
    so catching there covers ``geoplan ...`` from a shell and typer's ``CliRunner`` alike;
    ``--help`` exits before any of this, and a bare group still prints its help.
    """

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        with _usage_errors():
            return super().make_context(info_name, args, *a, **kw)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors():
            return super().invoke(ctx)


@contextmanager
def _usage_errors() -> Iterator[None]:
    import pydantic

    from geoplan.config import Settings, settings_error_line

    try:
        yield
    except NoArgsIsHelpError:
        raise  # typer has printed the help already
    except ClickException as exc:
        fail(usage_error_line(exc), code=exc.exit_code)
    except pydantic.ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        fail(settings_error_line(exc))  # a bad GEOPLAN_* value, wherever a command read them


def info(message: str) -> None:
    err_console.print(message)
