"""``/premises/searches``: saved premises searches, their stable URL and their Atom feed.

Anyone may save a search (no API key: a company looking for premises has none); the id in the
answer is an unguessable token and the only way back to the search, so it is also what lets
one read, follow (``…/feed.atom``) and delete it. Saving is rate-limited per client address
(``GEOPLAN_SAVED_SEARCHES_PER_HOUR``). A webhook makes geoplan send requests, so attaching one
needs an API key with the ``write`` scope; its URL must resolve to public addresses
(:mod:`geoplan.premises.alerts`). Deliveries run from ``geoplan alerts run``.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request, Response, Security
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from api.deps import bearer_scheme, get_conn, on_primary, on_read_connection, require_scope
from api.routers.premises import _base_url, problems
from geoplan.premises import alerts, saved
from geoplan.premises.query import PremisesQuery
from maps.labels import USE_LABELS, nok
from maps.search import describe_query

router = APIRouter(prefix="/premises/searches", tags=["saved searches"])
ATOM = "application/atom+xml"
HTML = "text/html"
SearchId = Annotated[str, Path(max_length=64, description="The saved search's id (its token)")]


class SavedSearchIn(BaseModel):
    """A search to save: the filters of ``GET /premises``, named as there."""

    model_config = ConfigDict(extra="forbid")
    filters: dict[str, Any] = Field(
        description="Search filters as `GET /premises` takes them, e.g. "
        '`{"use": ["office"], "within": "POLYGON((...))", "max_walk_min": 10}`; '
        "`limit`, `offset` and `sort` are ignored.",
        examples=[{"use": ["office"], "near": "10.9548,59.9267", "radius_m": 800}],
    )
    title: str | None = Field(default=None, max_length=saved.MAX_TITLE)
    webhook_url: str | None = Field(
        default=None,
        max_length=alerts.MAX_URL,
        description="Optional: POST new and changed matches here (needs an API key with "
        "`write` scope; public addresses only).",
    )


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Webhook(BaseModel):
    url: str
    secret: str | None = Field(
        default=None,
        description="Only in the answer to POST: the HMAC-SHA256 key of `X-Geoplan-Signature`.",
    )
    failures: int = 0
    last_error: str | None = None
    next_attempt: datetime | None = None


class SavedSearchOut(BaseModel):
    id: str
    title: str | None = None
    filters: dict[str, Any]
    created_at: datetime
    webhook: Webhook | None = None
    links: list[Link]


# -- rate limit ---------------------------------------------------------------------------------
class _Limiter:
    """At most ``n`` saves per client address per hour, in this worker's memory (no address is
    stored): a sliding window of the times of its saves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def admit(self, client: str, limit: int) -> float | None:
        """None when admitted, else seconds until the next save is."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - 3600}
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - 3600:
                times.popleft()
            if len(times) >= limit:
                return times[0] + 3600 - now
            times.append(now)
            return None


def _limiter(request: Request) -> _Limiter:
    state = request.app.state
    if not hasattr(state, "saved_search_limiter"):
        state.saved_search_limiter = _Limiter()
    return state.saved_search_limiter


# -- helpers ------------------------------------------------------------------------------------
def _links(request: Request, record: dict[str, Any]) -> list[dict[str, Any]]:
    base = _base_url(request)
    own = f"{base}/premises/searches/{record['id']}"
    query = urlencode(list(_pairs(record["filters"])))
    suffix = f"?{query}" if query else ""
    return [
        {"href": own, "rel": "self", "type": "application/json", "title": "this saved search"},
        {"href": f"{base}/premises{suffix}", "rel": "results", "type": "application/geo+json",
         "title": "the matching premises"},
        {"href": f"{base}/maps/premises{suffix}", "rel": "alternate", "type": "text/html",
         "title": "Søket i kartet"},
        {"href": f"{own}/feed.atom", "rel": "feed", "type": ATOM,
         "title": "Nye og endrede treff (Atom)"},
    ]  # fmt: skip


def _pairs(filters: dict[str, Any]):
    for name, value in filters.items():
        for v in value if isinstance(value, list) else [value]:
            yield name, v


def _out(request: Request, record: dict[str, Any]) -> SavedSearchOut:
    webhook = None
    if record.get("webhook_url"):
        webhook = Webhook(
            url=record["webhook_url"],
            secret=record.get("webhook_secret"),
            failures=record.get("webhook_failures") or 0,
            last_error=record.get("webhook_last_error"),
            next_attempt=record.get("webhook_next_attempt"),
        )
    return SavedSearchOut(
        id=record["id"],
        title=record["title"],
        filters=record["filters"],
        created_at=record["created_at"],
        webhook=webhook,
        links=[Link(**link) for link in _links(request, record)],
    )


# -- routes -------------------------------------------------------------------------------------
@router.post(
    "",
    status_code=201,
    summary="Save a premises search (no key needed; a webhook needs one)",
    response_model=SavedSearchOut,
    response_model_exclude_none=True,
    responses={
        **problems(400, 401, 403, 422),
        429: {"description": "Too many searches saved from this address in the last hour"},
    },
)
def create_saved_search(
    request: Request,
    response: Response,
    body: Annotated[SavedSearchIn, Body()],
    credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
    conn: psycopg.Connection = Depends(get_conn),
) -> SavedSearchOut:
    settings = request.app.state.settings
    created_by = None
    if body.webhook_url is not None or credentials is not None:
        # a webhook makes geoplan send requests: only a key holder may attach one
        key = require_scope("write")(credentials, conn)
        created_by = f"{key.name} (API key #{key.id})"
        if body.webhook_url is not None:
            alerts.check_webhook_url(body.webhook_url, allow_private=settings.webhook_allow_private)
    if created_by is None:
        client = request.client.host if request.client else "unknown"
        wait = _limiter(request).admit(client, settings.saved_searches_per_hour)
        if wait is not None:
            raise HTTPException(
                429,
                f"at most {settings.saved_searches_per_hour} searches may be saved per hour "
                "from one address (GEOPLAN_SAVED_SEARCHES_PER_HOUR)",
                headers={"Retry-After": str(max(1, int(wait) + 1))},
            )
    record = saved.create(
        conn, body.filters, title=body.title, webhook_url=body.webhook_url, created_by=created_by
    )
    conn.commit()
    response.headers["Location"] = f"{_base_url(request)}/premises/searches/{record['id']}"
    return _out(request, record)


def _wants_html(request: Request) -> bool:
    """Whether the client prefers a page to JSON (a browser following the saved search's link)."""
    accept = request.headers.get("accept", "")
    return HTML in accept and "json" not in accept.split(HTML)[0]


@router.get(
    "/{search_id}",
    summary="A saved search: its filters and links to its results, map and feed",
    description="A browser (`Accept` preferring `text/html`) is sent on to the search map with "
    "the saved filters (`303`, the `alternate` link), so the saved search's URL is a link a "
    "person can follow and share; other clients get the saved search as JSON.",
    response_model=SavedSearchOut,
    response_model_exclude_none=True,
    responses={303: {"description": "To the search map with the saved filters (browsers)"},
               **problems(404, 422)},
)  # fmt: skip
async def get_saved_search(request: Request, response: Response, search_id: SearchId) -> Any:
    out = _out(request, await on_read_connection(request, saved.get, search_id))
    response.headers["Vary"] = "Accept"
    if _wants_html(request):
        (page,) = [link.href for link in out.links if link.rel == "alternate"]
        return RedirectResponse(page, status_code=303, headers={"Vary": "Accept"})
    return out


@router.delete(
    "/{search_id}",
    status_code=204,
    summary="Delete a saved search (its feed and webhook stop)",
    responses=problems(404, 422),
)
async def delete_saved_search(search_id: SearchId, request: Request) -> Response:
    await on_primary(request, saved.delete, search_id)
    return Response(status_code=204)


@router.get(
    "/{search_id}/feed.atom",
    summary="Atom feed of the saved search's new and changed matches",
    response_class=Response,
    responses={200: {"content": {ATOM: {}}}, **problems(404, 422)},
)
async def saved_search_feed(request: Request, search_id: SearchId) -> Response:
    body = await on_read_connection(request, _feed, _base_url(request), search_id)
    return Response(body, media_type=ATOM)


def _feed(conn: psycopg.Connection, base_url: str, search_id: str) -> bytes:
    record = saved.get(conn, search_id)
    entries = saved.feed_entries(conn, record)
    return atom_feed(base_url, record, saved.query_of(record), entries)


# -- Atom (RFC 4287) ----------------------------------------------------------------------------
_NS = "http://www.w3.org/2005/Atom"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _entry_title(m: saved.Match) -> str:
    r = m.row
    uses = ", ".join(USE_LABELS.get(u, u).lower() for u in (r.get("uses") or []))
    area = f"{nok(r['floor_area_m2'])} m²" if r.get("floor_area_m2") is not None else ""
    what = " ".join(x for x in (area, uses) if x)
    return f"{'Nytt lokale' if m.new else 'Endret'}: {r.get('address')}" + (
        f" – {what}" if what else ""
    )


def _entry_summary(m: saved.Match) -> str:
    r = m.row
    parts = []
    rent = r.get("rent_nok_m2_year")
    parts.append(f"Leie {nok(rent)} kr/m²/år" if rent == rent and rent is not None else
                 "Leie ikke oppgitt")  # fmt: skip
    available = r.get("available_from")
    parts.append(
        f"ledig fra {available:%d.%m.%Y}" if hasattr(available, "strftime") else "ledig nå"
    )
    walk = r.get("walk_min")
    if walk == walk and walk is not None and r.get("nearest_hub_name"):
        parts.append(f"ca. {round(walk)} min gange til {r['nearest_hub_name']}")
    return ". ".join(parts) + "."


def atom_feed(
    base: str, record: dict[str, Any], q: PremisesQuery, entries: list[saved.Match]
) -> bytes:
    """The saved search's feed (RFC 4287, Norwegian bokmål): one entry per matching listing,
    ``updated`` its last change in the history, ``published`` its first; the entry id is the
    listing's URL, so a reader shows a changed listing as an updated entry."""
    own = f"{base}/premises/searches/{record['id']}"
    query = urlencode(list(_pairs(record["filters"])))
    feed = ET.Element("feed", {"xmlns": _NS, "xml:lang": "nb"})
    _sub(feed, "id", own)
    title = record.get("title") or describe_query(q, {})
    _sub(feed, "title", f"Ledige lokaler: {title}")
    _sub(feed, "subtitle", "Nye og endrede lokaler som passer det lagrede søket.")
    updated = max([m.updated for m in entries] + [record["created_at"]])
    _sub(feed, "updated", _time(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "geoplan")
    _sub(feed, "generator", "geoplan")
    _sub(feed, "link", rel="self", type=ATOM, href=f"{own}/feed.atom")
    _sub(feed, "link", rel="alternate", type="text/html",
         href=f"{base}/maps/premises" + (f"?{query}" if query else ""))  # fmt: skip
    for m in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"{base}/premises/{m.id}")
        _sub(entry, "title", _entry_title(m))
        _sub(entry, "updated", _time(m.updated))
        _sub(entry, "published", _time(m.published))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/maps/premises/{m.id}")
        _sub(entry, "link", rel="related", type="application/geo+json",
             href=f"{base}/premises/{m.id}")  # fmt: skip
        for use in m.row.get("uses") or []:
            _sub(entry, "category", term=use, label=USE_LABELS.get(use, use))
        _sub(entry, "summary", _entry_summary(m), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
