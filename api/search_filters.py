"""The premises search filters as FastAPI query parameters, generated from their one declaration
(:data:`geoplan.premises.SEARCH_FILTERS`).

Two dependencies, each resolving to a :class:`~geoplan.premises.PremisesQuery`:

* :func:`premises_query` for ``GET /premises``: each filter typed and bounded as declared, so
  OpenAPI documents (and FastAPI checks, 422 naming the parameter) its type, bounds, enum and
  default before geoplan's own checks run.
* :func:`premises_form_query` for ``/maps/premises``: the same parameters as text, because the
  map's filter form sends every field and an empty one means "no filter"; their values are
  parsed (and checked) by geoplan as for ``GET /premises``.

Both refuse a parameter that is no filter (422 naming it): a misspelt filter would otherwise
answer with every listing.

Both are plain functions whose ``__signature__`` FastAPI reads, built once from the declaration.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Query, Request

from geoplan.premises import (
    SEARCH_FILTERS,
    PremisesQuery,
    SearchFilter,
    check_parameter_names,
    query_from_params,
)

_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _typed(f: SearchFilter) -> inspect.Parameter:
    """``f`` as ``GET /premises`` declares it. Optional filters are typed ``float`` (default
    None), not ``float | None``: a nullable schema invites clients to send the text "null"."""
    kind: Any = f.kind
    if f.enum is not None:
        kind = Literal[f.enum]
    elif issubclass(kind, Enum):
        kind = Literal[tuple(member.value for member in kind)]
    if f.many:
        kind = list[kind]
    query = Query(description=f.help, ge=f.minimum, le=f.maximum, max_length=f.max_length)
    default = f.default.value if isinstance(f.default, Enum) else f.default
    return inspect.Parameter(f.name, _KEYWORD, default=default, annotation=Annotated[kind, query])


def _text(f: SearchFilter) -> inspect.Parameter:
    """``f`` as ``/maps/premises`` declares it: text (repeatable where ``f`` may repeat)."""
    kind = list[str] | None if f.many else str | None
    return inspect.Parameter(
        f.name, _KEYWORD, default=None, annotation=Annotated[kind, Query(description=f.help)]
    )


def _with_parameters(function: Callable[..., Any], params: list[inspect.Parameter]) -> Any:
    function.__signature__ = inspect.Signature(params, return_annotation=PremisesQuery)  # type: ignore[attr-defined]
    return function


LINK_DECORATIONS = ("fbclid", "gclid", "msclkid", "mc_cid", "mc_eid")
"""Parameters that social sites, ad networks and mailing tools append to a link someone shares
(with every ``utm_*``): a map page opened from such a link ignores them."""


PAGE_PARAMETERS = ("embed",)
"""The map page's own parameters besides the filters (``?embed=1``, :mod:`maps.embed`)."""


def _decoration(name: str) -> bool:
    return name.startswith("utm_") or name in LINK_DECORATIONS


async def _premises_query(request: Request, **params: Any) -> PremisesQuery:
    # async: parsing is a few microseconds of CPU; a plain def would cost a worker-thread hop
    # A parameter that is no filter is refused (422 naming it): a typo must not answer with
    # every listing.
    check_parameter_names(request.query_params.keys())
    return query_from_params(params)


async def _premises_form_query(request: Request, **_declared: Any) -> PremisesQuery:
    # async, like _premises_query: no worker-thread hop for a few microseconds of parsing
    # Read from the request itself, as a form sends it: every value of a repeated parameter
    # (the last non-empty one counts), empty fields meaning no filter. The form sends only the
    # filters, so anything else is a typo in a hand-made link, refused as on GET /premises;
    # only the decorations of a shared link are ignored, and the page's own parameters.
    names = [k for k in request.query_params if not _decoration(k) and k not in PAGE_PARAMETERS]
    check_parameter_names(names)
    return query_from_params({k: request.query_params.getlist(k) for k in names})


_REQUEST = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)

premises_query = _with_parameters(_premises_query, [_REQUEST, *(_typed(f) for f in SEARCH_FILTERS)])
"""The search of ``GET /premises`` (a dependency): every filter typed and bounded; any other
parameter refused."""

premises_form_query = _with_parameters(
    _premises_form_query, [_REQUEST, *(_text(f) for f in SEARCH_FILTERS)]
)
"""The search of ``/maps/premises`` (a dependency): every filter as text, as a form sends it;
any other parameter refused, except a shared link's decorations (:data:`LINK_DECORATIONS`) and
the page's own :data:`PAGE_PARAMETERS`."""
