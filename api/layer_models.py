"""Pydantic models generated from a layer's description (:mod:`geoplan.layers.spec`).

The API's request and response schemas of a layer are not written out field by field: each field's
type, bounds, vocabulary, read-only flag and documentation come from the one description the
store, the register's checks, the OGC collections and the exports use too. Each kind maps to the
type the hand-written models had, so the OpenAPI document is what it was.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from geoplan.layers.spec import API_ORDER, MAX_UNITS, ColumnSpec, LayerSpec
from geoplan.premises import MAX_TEXT

# Strict: JSON ``true`` is no number and ``"100"`` no coordinate (pydantic's lax mode would
# take both); a whole number is still a float.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]
StrictInt = Annotated[int, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(max_length=MAX_TEXT, strict=True)]

_IN_TYPES: dict[str, Any] = {
    "text": Text,
    "float": FiniteFloat,
    "int": StrictInt,
    "bool": StrictBool,
}
_OUT_TYPES: dict[str, Any] = {
    "text": str,
    "text[]": list[str],
    "float": float,
    "int": int,
    "bool": bool,
    "date": date,
    "timestamp": datetime,
}


def _in_type(col: ColumnSpec) -> Any:
    """What a client may send: closed vocabularies as enums, text bounded, numbers finite."""
    vocabulary = Literal[col.allowed] if col.allowed is not None else None  # type: ignore[valid-type]
    if col.kind == "text[]":
        return list[vocabulary or Text]  # type: ignore[misc]
    if col.kind == "date":
        return date
    return vocabulary or _IN_TYPES[col.kind]


def _bounds(col: ColumnSpec) -> dict[str, Any]:
    """The field's constraints: required text not empty, required lists not empty, the
    declared range (so OpenAPI shows ``minimum``/``maximum``)."""
    bounds: dict[str, Any] = {}
    if col.required and col.kind in ("text", "text[]"):
        bounds["min_length"] = 1
    if col.kind == "text[]" and col.allowed is not None:
        bounds["max_length"] = len(col.allowed)
    if col.min_value is not None:
        bounds["gt" if col.min_exclusive else "ge"] = col.min_value
    if col.max_value is not None:
        bounds["le"] = col.max_value
    return bounds


def request_model(
    name: str, spec: LayerSpec, *, partial: bool, base: type[BaseModel], doc: str
) -> type[BaseModel]:
    """The properties a client sends for a layer's record: its writable fields (API order).

    A complete record (``partial=False``: POST, PUT) must hold the required fields, and a flag
    left out is false; a partial one (PATCH) holds any of them. Examples are shown on the
    complete record only.
    """
    fields: dict[str, Any] = {}
    for col in spec.writable:
        type_, bounds = _in_type(col), _bounds(col)
        if partial:
            fields[col.name] = (type_ | None, Field(None, **bounds))
            continue
        if col.examples:
            bounds["examples"] = list(col.examples)
        if col.required and not (col.from_units and spec.unit_fields):
            fields[col.name] = (type_, Field(**bounds))
        elif col.kind == "bool" and not col.is_nullable:
            fields[col.name] = (type_, Field(False, **bounds))
        else:
            fields[col.name] = (type_ | None, Field(None, **bounds))
    if spec.unit_fields:
        units = list[unit_model(f"{name.removesuffix('Properties')}Unit", spec)]  # type: ignore[misc]
        fields["units"] = (
            units | None,
            Field(None, max_length=MAX_UNITS, description=UNITS_DOC),
        )
    return create_model(name, __base__=base, __doc__=doc, **fields)


UNITS_DOC = (
    "The building's vacant (and let) spaces, each with its own area, rent and availability; "
    "with units, `floor_area_m2`, `rent_nok_m2_year` and `available_from` are derived from the "
    "vacant ones. A PUT without `units` removes them; a PATCH replaces the whole list."
)


class _UnitBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unit_model(name: str, spec: LayerSpec) -> type[BaseModel]:
    """One unit as a client sends it (``spec.unit_fields``)."""
    fields: dict[str, Any] = {}
    for col in spec.unit_fields:
        type_, bounds = _in_type(col), _bounds(col)
        if col.examples:
            bounds["examples"] = list(col.examples)
        if col.required:
            fields[col.name] = (type_, Field(description=col.description, **bounds))
        else:
            fields[col.name] = (type_ | None, Field(None, description=col.description, **bounds))
    return create_model(name, __base__=_UnitBase, **fields)


def unit_out_model(name: str, spec: LayerSpec) -> type[BaseModel]:
    """One unit as the API returns it."""
    fields: dict[str, Any] = {}
    for col in spec.unit_fields:
        type_ = _OUT_TYPES[col.kind]
        if col.is_nullable:
            fields[col.name] = (type_ | None, Field(None, description=col.description))
        else:
            fields[col.name] = (type_, Field(description=col.description))
    return create_model(name, **fields)


def response_model(name: str, spec: LayerSpec) -> type[BaseModel]:
    """A layer's record as the API returns it: every field in API order, the search's own
    included (absent outside a search with ``hub``); a field is required unless it may be null."""
    fields: dict[str, Any] = {}
    for col in spec.by_role(*API_ORDER):
        type_ = _OUT_TYPES[col.kind]
        doc = {"description": col.api_description} if col.api_description else {}
        if col.is_nullable:
            fields[col.name] = (type_ | None, Field(None, **doc))
        else:
            fields[col.name] = (type_, Field(**doc))
    if spec.unit_fields:
        unit = unit_out_model(f"{name.removesuffix('Properties')}Unit", spec)
        fields["units"] = (
            list[unit],  # type: ignore[valid-type]
            Field(
                description="The building's units (a search lists those matching its unit "
                "filters); empty: the listing is one space"
            ),
        )
    return create_model(name, **fields)
