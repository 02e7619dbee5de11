"""Saved premises searches: a search's filters kept under an unguessable id, so a premises seeker
can come back to it (a stable URL), follow it in a feed reader (new and changed matches, see
:func:`feed_entries`) or have it call a webhook (:mod:`geoplan.premises.alerts`).

Who may do what: the id is the capability. Anyone may save a search (a company looking for
premises has no API key); the id is 128 random bits (``secrets.token_urlsafe(16)``), so only
whoever was given it can read, follow or delete the search, and ids cannot be listed over HTTP.
A webhook makes geoplan send requests, so only an API key may attach one (checked by the API);
its URL is checked against private addresses (:func:`geoplan.premises.alerts.check_webhook_url`).

The filters are those of ``GET /premises`` (names as users type them), checked exactly as a
search checks them when the search is saved; a bad one is a :class:`ValidationError` naming
``filters.<name>``. Paging and order (``limit``, ``offset``, ``sort``) are no filters and are not
kept.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from geoplan.errors import NotFoundError, ValidationError
from geoplan.premises.frames import search_frame
from geoplan.premises.query import (
    MAX_ID,
    SEARCH_FILTERS,
    PremisesQuery,
    Sort,
    check_parameter_names,
    check_query,
    query_from_params,
    query_params,
    text_problem,
)

NOT_KEPT = ("limit", "offset", "sort")
"""Search parameters that are no filter: a saved search keeps none of them."""
_REPEATABLE = frozenset(f.name for f in SEARCH_FILTERS if f.many)
MAX_TITLE = 200
FEED_SIZE = 50
"""Entries in a saved search's feed: its most recently changed matches."""
_COLUMNS = (
    "id, title, filters, created_at, created_by, webhook_url, notified_until, "
    "webhook_failures, webhook_last_error, webhook_next_attempt"
)


def _prefixed(exc: ValidationError) -> ValidationError:
    errors = [{**e, "field": f"filters.{e['field']}"} for e in exc.errors] or [
        {"field": f"filters.{exc.field}", "message": str(exc)}
    ]
    return ValidationError(
        "; ".join(f"{e['field']}: {e['message']}" for e in errors),
        field=errors[0]["field"],
        errors=errors,
    )


def checked_filters(conn: psycopg.Connection, filters: Mapping[str, Any]) -> dict[str, Any]:
    """``filters`` (``GET /premises`` parameters) checked as a search checks them, in their
    canonical form (each as the search's links spell it; repeatable ones as lists)."""
    if not isinstance(filters, Mapping):
        raise ValidationError("must be an object of search filters", field="filters")
    names = [str(n) for n in filters]
    kept = [n for n in names if n not in NOT_KEPT]
    try:
        check_parameter_names(kept)
        q = check_query(conn, query_from_params({n: filters[n] for n in kept}))
    except ValidationError as exc:
        raise _prefixed(exc) from None
    return saved_filters(q)


def saved_filters(q: PremisesQuery) -> dict[str, Any]:
    """The filters of the search ``q`` as a saved search keeps them (and ``POST
    /premises/searches`` takes them): names as ``GET /premises``, repeatable ones as lists,
    without paging and order."""
    filters: dict[str, Any] = {}
    for name, value in query_params(q):
        if name in NOT_KEPT:
            continue
        filters[name] = [*filters.get(name, []), value] if name in _REPEATABLE else value
    return filters


def query_of(record: Mapping[str, Any], **override: Any) -> PremisesQuery:
    """The :class:`PremisesQuery` a saved search stands for (with ``override``, by field)."""
    q = query_from_params(record["filters"])
    return replace(q, **override) if override else q


def create(
    conn: psycopg.Connection,
    filters: Mapping[str, Any],
    *,
    title: str | None = None,
    webhook_url: str | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Save a search; returns its record, with ``webhook_secret`` (shown once) when it has a
    webhook. ``webhook_url`` must already be checked (:func:`~geoplan.premises.alerts.
    check_webhook_url`); matches are notified from now on, not the ones already there."""
    canonical = checked_filters(conn, filters)
    if title is not None:
        problem = text_problem(title, MAX_TITLE)
        if problem:
            raise ValidationError(f"title: {problem}", field="title")
    secret = secrets.token_urlsafe(32) if webhook_url else None
    with conn.transaction():
        row = conn.execute(
            f"""INSERT INTO saved_searches (id, title, filters, created_by, webhook_url,
                                            webhook_secret, notified_until)
                VALUES (%s, %s, %s, %s, %s, %s, CASE WHEN %s THEN now() END)
                RETURNING {_COLUMNS}""",
            (
                secrets.token_urlsafe(16),
                title or None,
                Jsonb(canonical),
                created_by,
                webhook_url,
                secret,
                webhook_url is not None,
            ),
        ).fetchone()
    record = _record(row)
    if secret:
        record["webhook_secret"] = secret
    return record


def _record(row: tuple) -> dict[str, Any]:
    return dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))


def get(conn: psycopg.Connection, search_id: str) -> dict[str, Any]:
    """The saved search ``search_id``; :class:`NotFoundError` when there is none."""
    if text_problem(search_id, MAX_ID) is None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM saved_searches WHERE id = %s", (search_id,)
        ).fetchone()
        if row is not None:
            return _record(row)
    raise NotFoundError(f"no saved search {search_id[:60]!r}")


def delete(conn: psycopg.Connection, search_id: str) -> None:
    """Delete a saved search (its feed and webhook stop); :class:`NotFoundError` if unknown."""
    get(conn, search_id)
    with conn.transaction():
        conn.execute("DELETE FROM saved_searches WHERE id = %s", (search_id,))


def list_all(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every saved search, newest first (the CLI's; the API lists none)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM saved_searches ORDER BY created_at DESC, id")
    return [_record(r) for r in rows]


@dataclass(frozen=True)
class Match:
    """A listing matching a saved search, as a feed entry or webhook item tells of it."""

    id: str
    new: bool
    """No change since it was listed (its history is one create or import)."""
    published: datetime
    updated: datetime
    row: dict[str, Any]
    """The search's row (address, uses, floor area, rent, walk...)."""


def _when(value: Any) -> datetime | None:
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(value).to_pydatetime()


def _matches(conn: psycopg.Connection, rows: list[dict[str, Any]]) -> list[Match]:
    ids = [r["id"] for r in rows]
    history = {
        h[0]: h[1:]
        for h in conn.execute(
            """SELECT premises_id, min(at), max(at), count(*) FILTER (WHERE action = 'update')
               FROM premises_history WHERE premises_id = ANY(%s) GROUP BY premises_id""",
            (ids,),
        )
    }
    out = []
    for r in rows:
        r["updated_at"] = _when(r.get("updated_at"))
        first, last, updates = history.get(r["id"], (None, None, 0))
        updated = max(x for x in (_when(last), r["updated_at"]) if x is not None)
        published = first or _when(r.get("created_at")) or updated
        out.append(Match(r["id"], updates == 0, published, updated, r))
    return out


def feed_entries(conn: psycopg.Connection, record: Mapping[str, Any]) -> list[Match]:
    """The :data:`FEED_SIZE` matches of a saved search changed last, newest first, each with
    its times from the listing's history (first and last change)."""
    q = query_of(record, sort=Sort.updated, limit=FEED_SIZE, offset=0)
    found = search_frame(conn, q).features
    return sorted(
        _matches(conn, found.drop(columns="geometry").to_dict("records")),
        key=lambda m: (m.updated, m.id),
        reverse=True,
    )


def changed_since(
    conn: psycopg.Connection, record: Mapping[str, Any], since: datetime, *, page: int = 200
) -> list[Match]:
    """Matches of a saved search whose listing changed after ``since`` (its ``updated_at``),
    oldest first; read in pages by last change, stopping at ``since``."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        q = query_of(record, sort=Sort.updated, limit=page, offset=offset)
        found = search_frame(conn, q).features.drop(columns="geometry").to_dict("records")
        newer = [r for r in found if _when(r["updated_at"]) > since]
        rows += newer
        if len(newer) < len(found) or len(found) < page:
            break
        offset += page
    return sorted(_matches(conn, rows), key=lambda m: (m.updated, m.id))
