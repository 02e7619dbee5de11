"""The premises search filters as query parameters, read from the request and documented in
OpenAPI, both from their one declaration (:data:`geoplan.premises.SEARCH_FILTERS`).

Two readers, each returning a :class:`~geoplan.premises.PremisesQuery`, called by their route:

* :func:`premises_query` for ``GET /premises``;
* :func:`premises_form_query` for ``/maps/premises``, which also ignores the decorations a
  shared link picks up (:data:`LINK_DECORATIONS`) and the page's own :data:`PAGE_PARAMETERS`.

Both parse with geoplan's own :func:`~geoplan.premises.query_from_params` (the parser of the
CLI and of saved searches too), so a value means the same wherever it is typed: empty means no
filter (a GET form sends every field), a repeated parameter's last value counts. Both refuse a
parameter that is no filter (422 naming it): a misspelt filter would otherwise answer with
every listing.

Why not FastAPI's ``Query(...)`` declarations: FastAPI's dependency solver resolves the ≈ 30
declared parameters on every request, a third of the worker's CPU for a search
(docs/premises.md). :func:`openapi` writes the entries FastAPI would have written — typed and
bounded for ``GET /premises``, text for the map's form — for ``/docs`` and the schemathesis
run; :func:`geoplan.premises.check_query` checks the same bounds and enums, and the lengths
a URL may carry are checked here (a saved search may hold a longer polygon).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum
from typing import Any

from fastapi import Request
from starlette.datastructures import QueryParams

from geoplan.errors import ValidationError
from geoplan.premises import (
    SEARCH_FILTERS,
    PremisesQuery,
    SearchFilter,
    check_parameter_names,
    query_from_params,
)

LINK_DECORATIONS = ("fbclid", "gclid", "msclkid", "mc_cid", "mc_eid")
"""Parameters that social sites, ad networks and mailing tools append to a link someone shares
(with every ``utm_*``): a map page opened from such a link ignores them."""


PAGE_PARAMETERS = ("embed",)
"""The map page's own parameters besides the filters (``?embed=1``, :mod:`maps.embed`)."""


def _decoration(name: str) -> bool:
    return name.startswith("utm_") or name in LINK_DECORATIONS


_IN_A_URL = [f for f in SEARCH_FILTERS if f.max_length is not None]
"""The filters whose text a URL may carry only so much of (a saved search may hold more)."""


def _read(params: QueryParams, names: Iterable[str]) -> PremisesQuery:
    check_parameter_names(names)
    for f in _IN_A_URL:
        limit: int = f.max_length  # type: ignore[assignment]
        if any(len(value) > limit for value in params.getlist(f.name)):
            raise ValidationError(f"must be at most {limit} characters", field=f.name)
    return query_from_params({k: params.getlist(k) for k in names})


def premises_query(request: Request) -> PremisesQuery:
    """The search ``GET /premises`` was asked for; any other parameter is refused."""
    params = request.query_params
    return _read(params, params.keys())


def premises_form_query(request: Request) -> PremisesQuery:
    """The search ``/maps/premises`` was asked for, as its filter form sends it. The form sends
    only the filters, so anything else is a typo in a hand-made link, refused as on ``GET
    /premises``; only a shared link's decorations are ignored, and the page's own parameters."""
    params = request.query_params
    return _read(params, [k for k in params if not _decoration(k) and k not in PAGE_PARAMETERS])


# -- OpenAPI -------------------------------------------------------------------------------------
_JSON_TYPE = {float: "number", int: "integer", str: "string", bool: "boolean", date: "string"}


def _typed_schema(f: SearchFilter) -> dict[str, Any]:
    """One value of ``f`` as ``GET /premises`` documents it: its type, bounds, enum, length."""
    if f.enum is not None:
        one: dict[str, Any] = {"enum": list(f.enum), "type": "string"}
    elif issubclass(f.kind, Enum):
        one = {"enum": [member.value for member in f.kind], "type": "string"}
    else:
        one = {"type": _JSON_TYPE[f.kind]}
        if f.kind is date:
            one["format"] = "date"
    if f.many:
        return {"type": "array", "items": one}
    for key, value in (("maximum", f.maximum), ("minimum", f.minimum), ("maxLength", f.max_length)):
        if value is not None:
            one[key] = value
    default = f.default.value if isinstance(f.default, Enum) else f.default
    if default is not None:
        one["default"] = default
    return one


def _text_schema(f: SearchFilter) -> dict[str, Any]:
    """One value of ``f`` as the map's form sends it: text, empty meaning no filter."""
    text: dict[str, Any] = (
        {"type": "array", "items": {"type": "string"}} if f.many else {"type": "string"}
    )
    return {"anyOf": [text, {"type": "null"}]}


def openapi(*, form: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads the search filters: one entry per filter, as
    ``GET /premises`` (typed) or the map's form (``form``: text) documents them."""
    schema = _text_schema if form else _typed_schema
    return {
        "parameters": [
            {
                "name": f.name,
                "in": "query",
                "required": False,
                "schema": {
                    **schema(f),
                    "description": f.help,
                    "title": f.name.replace("_", " ").title(),
                },
                "description": f.help,
            }
            for f in SEARCH_FILTERS
        ]
    }
