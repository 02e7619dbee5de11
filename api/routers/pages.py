"""Plain HTML pages that are neither maps nor OGC: the accessibility statement
(tilgjengelighetserklæring) at ``/tilgjengelighet``, which Norway's regulation on universal
design of ICT asks every public web service to publish, and the broker page at ``/megler``.

The contact for reports comes from ``GEOPLAN_ACCESSIBILITY_CONTACT``; the statement says what
is tested and what is known not to conform (docs/accessibility.md has the details).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.broker_form import form_groups
from api.deps import on_read_connection
from geoplan import mapdata
from maps.base import BASE_LAYERS, KARTVERKET_ATTR

router = APIRouter(tags=["pages"])
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

STATEMENT_UPDATED = "1. desember 2026"
"""When the statement was last reviewed against the pages (update with the statement)."""
AXE_VERSION = "4.14.1"
"""The axe-core version the browser tests run (tests/e2e/vendor/axe.min.js)."""


def _contact_href(contact: str) -> str | None:
    if contact.startswith(("https://", "http://")):
        return contact
    if "@" in contact and " " not in contact:
        return f"mailto:{contact}"
    return None


@router.get(
    "/tilgjengelighet",
    response_class=HTMLResponse,
    summary="Accessibility statement (HTML, Norwegian)",
)
def accessibility_statement(request: Request) -> HTMLResponse:
    """What is tested, what is known not to conform, and where to report problems."""
    settings = request.app.state.settings
    public = settings.public_url
    contact = (settings.accessibility_contact or "").strip() or None
    return TEMPLATES.TemplateResponse(
        request,
        "pages/tilgjengelighet.html",
        {
            "site": public.rstrip("/") if public else "",
            "updated": STATEMENT_UPDATED,
            "axe_version": AXE_VERSION,
            "contact": contact,
            "contact_href": _contact_href(contact) if contact else None,
        },
    )


@router.get(
    "/megler",
    response_class=HTMLResponse,
    summary="Broker page: add, change and withdraw one's own listings (HTML, Norwegian)",
)
async def broker_page(request: Request) -> HTMLResponse:
    """A form over the JSON API, signed in with an API key that the page keeps in the browser
    tab's ``sessionStorage`` only (never a cookie, never in a URL) and sends as
    ``Authorization: Bearer``. Everything it does, the API does: ``/me``, ``/me/premises``,
    ``POST``/``PATCH``/``DELETE /premises`` with ``If-Match``, ``/geocode``. The form's fields
    come from the premises layer's description (:mod:`api.broker_form`); the script is
    ``maps/static/megler.js`` (no inline script or handler, for a strict Content-Security-Policy).
    """
    public = request.app.state.settings.public_url
    view = await on_read_connection(request, mapdata.map_view)
    south, west, north, east = view.bounds
    return TEMPLATES.TemplateResponse(
        request,
        "pages/megler.html",
        {
            "site": public.rstrip("/") if public else "",
            "groups": form_groups(),
            "place": view.place,
            "bounds": f"{south},{west},{north},{east}",
            "tiles": next(iter(BASE_LAYERS.values())),
            "attribution": KARTVERKET_ATTR,
        },
    )
