"""The search filters of ``GET /premises`` as options of ``geoplan premises search`` and
``geoplan map premises``, declared once.

Typer reads a command's options from its function signature, so two commands taking the same
filters would each list all of them and pass each one on. :func:`with_search_filters` splices
the filter options into a command's signature where it has a ``filters`` parameter, and calls
the command with their values as one dict in the names
:func:`geoplan.premises.query_from_params` takes (the API's parameter names). Both commands
therefore take the same options, parsed as the API parses its parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

import typer


class Sort(StrEnum):
    walk = "walk"
    area = "area"
    rent = "rent"
    updated = "updated"


@dataclass(frozen=True)
class SearchFilter:
    """One filter: the command parameter, its ``query_from_params`` name, type and option."""

    param: str
    key: str
    annotation: Any
    option: Any  # a typer.Option (its default, names and help)


SEARCH_FILTERS: tuple[SearchFilter, ...] = (
    SearchFilter(
        "use",
        "use",
        list[str] | None,
        typer.Option(
            None, "--use", help="Use category (repeat or comma-separate to match any of several)."
        ),
    ),
    SearchFilter(
        "min_area",
        "min_area_m2",
        float | None,
        typer.Option(None, "--min-area", help="Minimum floor area, m²."),
    ),
    SearchFilter(
        "max_area",
        "max_area_m2",
        float | None,
        typer.Option(None, "--max-area", help="Maximum floor area, m²."),
    ),
    SearchFilter(
        "max_rent",
        "max_rent_nok_m2",
        float | None,
        typer.Option(None, "--max-rent", help="Maximum rent, NOK per m² and year."),
    ),
    SearchFilter(
        "area",
        "area",
        str | None,
        typer.Option(None, "--area", help="Focus-area slug, e.g. visperud."),
    ),
    SearchFilter(
        "available_by",
        "available_by",
        str | None,
        typer.Option(None, "--available-by", help="Available on or before (YYYY-MM-DD)."),
    ),
    SearchFilter(
        "max_walk_min",
        "max_walk_min",
        float | None,
        typer.Option(
            None,
            "--max-walk-min",
            "--max-walk",
            help="Max walking minutes to the nearest existing hub (or to --hub).",
        ),
    ),
    SearchFilter(
        "hub",
        "hub",
        str | None,
        typer.Option(None, "--hub", help="Measure walking time to this hub id."),
    ),
    SearchFilter(
        "sort",
        "sort",
        Sort,
        typer.Option(Sort.walk, "--sort", help="walk, area (largest), rent, updated."),
    ),
)

OFFSET = typer.Option(0, "--offset", help="Skip this many rows (paging).")


def with_search_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with the :data:`SEARCH_FILTERS` as options in place of its ``filters``
    parameter, which receives ``{query_from_params name: value}`` (enums as their values)."""
    signature = inspect.signature(command, eval_str=True)
    params = list(signature.parameters.values())
    at = next(i for i, p in enumerate(params) if p.name == "filters")
    spliced = [
        inspect.Parameter(
            f.param, inspect.Parameter.KEYWORD_ONLY, default=f.option, annotation=f.annotation
        )
        for f in SEARCH_FILTERS
    ]
    rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params[at + 1 :]]

    @functools.wraps(command)
    def run(**options: Any) -> Any:
        filters = {}
        for f in SEARCH_FILTERS:
            value = options.pop(f.param)
            filters[f.key] = value.value if isinstance(value, Enum) else value
        return command(filters=filters, **options)

    new = signature.replace(parameters=[*params[:at], *spliced, *rest])
    run.__signature__ = new  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in new.parameters.values()}
    if new.return_annotation is not inspect.Signature.empty:
        run.__annotations__["return"] = new.return_annotation
    return run
