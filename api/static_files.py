"""``/static``: the vendored map libraries (``maps/static``), cacheable for a year by their
content-hashed names.

``static_url("leaflet.js")`` is ``/static/leaflet.<12 hex digits of its SHA-256>.js``: a name
that changes whenever the file does, so it is served ``Cache-Control: public, max-age=31536000,
immutable`` — a browser never asks again. The plain name keeps working (links from older pages,
people typing it) with ``no-cache``: reused only after revalidating its ETag. A hashed name whose
digest no longer matches the file is a 404, never another version under an immutable header.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import PurePosixPath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from maps.assets import STATIC_DIR

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HASHED = re.compile(r"(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)")


FILES = frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file())
"""The files directly in ``maps/static`` (the only names a hashed URL may stand for)."""


@cache
def digest(name: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``maps/static/<name>`` (read once)."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The content-hashed URL of a vendored file, e.g. ``/static/leaflet.0123456789ab.js``."""
    path = PurePosixPath(name)
    return f"/static/{path.stem}.{digest(name)}{path.suffix}"


class VendoredStatic(StaticFiles):
    """``StaticFiles`` over ``maps/static`` that also answers content-hashed names."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)

    async def get_response(self, path: str, scope: Scope) -> Response:
        m = _HASHED.fullmatch(path)
        if m is not None:
            plain = m["stem"] + m["suffix"]
            if plain in FILES and digest(plain) == m["digest"]:
                response = await super().get_response(plain, scope)
                response.headers["Cache-Control"] = IMMUTABLE
                return response
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", REVALIDATE)
        return response
