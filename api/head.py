"""``HEAD`` wherever ``GET`` exists, for the whole app (routes, OGC pages, static files).

FastAPI routes answer only the methods they declare, so ``HEAD /ogc`` was a 405 although
HTTP (RFC 9110 § 9.3.2) and OGC API – Features (``/req/core/http``) expect it wherever ``GET``
works. Rather than declaring HEAD on every route (which would also add an operation per path
to the OpenAPI document), this ASGI middleware answers a HEAD request as the GET it stands for,
with the same status and headers (``Content-Length`` included), and drops the body. It must be
the outermost middleware so that every header a GET gets is computed for the HEAD too.
Any other request passes straight through: one comparison per request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODY = ("http.response.body", "http.response.pathsend", "http.response.zerocopysend")


class HeadAsGet:
    """Answer ``HEAD`` as ``GET`` without the body (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] in _BODY:
                if not message.get("more_body", False):  # its last part (or a file, whole)
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:  # the status and headers (and any other message) as they are
                await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
