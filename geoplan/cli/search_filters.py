"""The search filters of ``GET /premises`` as options of ``geoplan premises search`` and
``geoplan map premises``, declared once.

Typer reads a command's options from its function signature, so two commands taking the same
filters would each list all of them and pass each one on. The filters are the signature of
:func:`search_filter_options`; :func:`with_search_filters` splices it into a command's signature
where the command has a ``filters`` parameter, and calls the command with the values as one dict
in the names :func:`geoplan.premises.query_from_params` takes (the API's parameter names). Both
commands therefore take the same options, parsed as the API parses its parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import typer


class Sort(StrEnum):
    walk = "walk"
    area = "area"
    rent = "rent"
    updated = "updated"


def search_filter_options(
    use: list[str] | None = typer.Option(
        None, "--use", help="Use category (repeat or comma-separate to match any of several)."
    ),
    min_area: float | None = typer.Option(None, "--min-area", help="Minimum floor area, m²."),
    max_area: float | None = typer.Option(None, "--max-area", help="Maximum floor area, m²."),
    max_rent: float | None = typer.Option(
        None, "--max-rent", help="Maximum rent, NOK per m² and year."
    ),
    area: str | None = typer.Option(None, "--area", help="Focus-area slug, e.g. visperud."),
    available_by: str | None = typer.Option(
        None, "--available-by", help="Available on or before (YYYY-MM-DD)."
    ),
    max_walk_min: float | None = typer.Option(
        None,
        "--max-walk-min",
        "--max-walk",
        help="Max walking minutes to the nearest existing hub (or to --hub).",
    ),
    hub: str | None = typer.Option(None, "--hub", help="Measure walking time to this hub id."),
    sort: Sort = typer.Option(Sort.walk, "--sort", help="walk, area (largest), rent, updated."),
) -> dict[str, Any]:
    """The filter options, declared as typer declares options (this signature is spliced into
    commands by :func:`with_search_filters`), and their values in ``query_from_params`` names."""
    return {
        "use": use,
        "min_area_m2": min_area,
        "max_area_m2": max_area,
        "max_rent_nok_m2": max_rent,
        "area": area,
        "available_by": available_by,
        "max_walk_min": max_walk_min,
        "hub": hub,
        "sort": sort.value,
    }


_FILTER_PARAMS = list(inspect.signature(search_filter_options, eval_str=True).parameters.values())

OFFSET = typer.Option(0, "--offset", help="Skip this many rows (paging).")


def with_search_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with the options of :func:`search_filter_options` in place of its ``filters``
    parameter, which receives their values as :func:`search_filter_options` returns them."""
    signature = inspect.signature(command, eval_str=True)
    params = list(signature.parameters.values())
    at = next(i for i, p in enumerate(params) if p.name == "filters")
    keyword = inspect.Parameter.KEYWORD_ONLY
    spliced = [p.replace(kind=keyword) for p in (*_FILTER_PARAMS, *params[at + 1 :])]

    @functools.wraps(command)
    def run(**options: Any) -> Any:
        given = {p.name: options.pop(p.name) for p in _FILTER_PARAMS}
        return command(filters=search_filter_options(**given), **options)

    new = signature.replace(parameters=[*params[:at], *spliced])
    run.__signature__ = new  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in new.parameters.values()}
    if new.return_annotation is not inspect.Signature.empty:
        run.__annotations__["return"] = new.return_annotation
    return run
