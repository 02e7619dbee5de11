"""The premises search filters as options of ``geoplan premises search`` and ``geoplan map
premises``, generated from their one declaration (:data:`geoplan.premises.SEARCH_FILTERS`).

Typer reads a command's options from its function signature, so the options are built as
signature parameters, one per filter, named as the API names the parameter (``min_area_m2``)
and spelt as declared for the CLI (``--min-area``). :func:`with_search_filters` splices them
into a command's signature where the command has a ``filters`` parameter, and calls the command
with their values as one dict in the names :func:`geoplan.premises.query_from_params` takes.
Both commands therefore take the same options, parsed as the API parses its parameters: values
stay as typed (a date as text, no bounds) so that geoplan's checks, not typer's, report them,
in the words the API uses.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import typer

from geoplan.premises import SEARCH_FILTERS, SearchFilter

_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_CODE = re.compile(r"`([^`]*)`")


def _cli_spelling(code: re.Match[str]) -> str:
    """A name in backticks in a filter's help as the CLI spells it (`hub` → --hub)."""
    named = [f.cli[0] for f in SEARCH_FILTERS if f.name == code[1]]
    return named[0] if named else code[1]


def _option(f: SearchFilter, default: Any) -> inspect.Parameter:
    """``f`` as a typer option with this default."""
    # A date stays text: query_from_params parses it, with the API's message for a bad one.
    kind: Any = str if f.kind is date else f.kind
    if f.many:
        kind = list[kind]
    annotation = kind if default is not None else kind | None
    help_text = _CODE.sub(_cli_spelling, f.help) + "."
    option = typer.Option(default, *f.cli, help=help_text)
    return inspect.Parameter(f.name, _KEYWORD, default=option, annotation=annotation)


def _options(defaults: dict[str, Any]) -> list[inspect.Parameter]:
    unknown = set(defaults) - {f.name for f in SEARCH_FILTERS}
    if unknown:
        raise TypeError(f"not search filters: {', '.join(sorted(unknown))}")
    return [_option(f, defaults.get(f.name, f.default)) for f in SEARCH_FILTERS]


def search_filter_options(**values: Any) -> dict[str, Any]:
    """The filter options with their declared defaults, as typer declares options (this
    function's signature); called with their values, returns them by filter name."""
    return values


search_filter_options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    _options({}), return_annotation=dict[str, Any]
)


def with_search_filters(
    command: Callable[..., Any] | None = None, /, **defaults: Any
) -> Callable[..., Any]:
    """``command`` with an option for each search filter in place of its ``filters`` parameter,
    which receives their values by filter name. ``defaults`` overrides a filter's declared
    default for this command (``@with_search_filters(limit=50)``)."""
    if command is None:
        return functools.partial(with_search_filters, **defaults)
    options = _options(defaults)
    signature = inspect.signature(command, eval_str=True)
    params = list(signature.parameters.values())
    clash = {p.name for p in params} & {p.name for p in options}
    if clash:
        raise TypeError(f"{command.__name__} declares search filters itself: {sorted(clash)}")
    at = next(i for i, p in enumerate(params) if p.name == "filters")
    spliced = [p.replace(kind=_KEYWORD) for p in (*options, *params[at + 1 :])]

    @functools.wraps(command)
    def run(**given: Any) -> Any:
        filters = {p.name: given.pop(p.name) for p in options}
        return command(filters=filters, **given)

    new = signature.replace(parameters=[*params[:at], *spliced])
    run.__signature__ = new  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in new.parameters.values()}
    if new.return_annotation is not inspect.Signature.empty:
        run.__annotations__["return"] = new.return_annotation
    return run
