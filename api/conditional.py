"""Conditional requests: strong ETags and Last-Modified derived from the data version, and 304s
answered before any page is built.

A response's validator is a hash of what decides its bytes: the versions of the layers it reads
(``data_versions``, bumped by a trigger in every writing transaction; see
:mod:`geoplan.store.data_versions`), the request as it names the representation (scheme, host,
path, query, and ``Accept`` where the format is negotiated), and the app (geoplan's version and
settings: the walking model, the public URL…). Nothing of the response itself is hashed, so a
matching ``If-None-Match`` is answered 304 without touching the page's data, and a 200 costs
one hash more than before.

The versions cost no query per request: each worker reads them once and keeps them until the
database says otherwise — ``LISTEN geoplan_data_versions`` on one connection per worker, whose
trigger-sent notifications arrive when a write commits — and forgets them at once after a write
it served itself. While that connection is down (database restart), every request reads the
versions afresh (one indexed read of a dozen rows), so a missed notification can never keep a
stale version alive.

Compressed bodies carry the coding in their tag (``"…-gzip"``, as Apache does): a gzip and an
identity body are different byte sequences, and a strong tag names exactly one. A tag is
matched whichever coding it names.

With a read replica (``GEOPLAN_READ_DATABASE_URL``) the versions are read per request on the
replica, where the pages are read, and a request the replica cannot serve (down, or behind the
client's own write: ``Geoplan-LSN``) gets no validator: a tag must never name newer data than
the page under it (:meth:`DataVersions._from_replica`).

Only ``GET``/``HEAD`` on the routes in :data:`RULES` take part; a route's own ``ETag`` (the
premises record's version, used with ``If-Match``) is left alone, and a vector tile's (the hash
of its bytes: exact per tile, and no race with a write) only gets its coding suffix. ``HEAD``
gets the same tag and the same 304 as ``GET`` (:class:`api.head.HeadAsGet` turns it into one).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import geoplan
from api import consistency
from api.admission import ClientGoneError, OverloadedError
from api.database import Server
from geoplan.config import Settings
from geoplan.store.data_versions import CHANNEL, LayerVersion, read_versions_async

log = logging.getLogger("geoplan.api")

# -- which layers each route reads ------------------------------------------------------------
MAP_LAYERS = ("boundary", "areas", "hubs", "premises", "catchments", "network", "municipalities")
"""What the map pages read (walking times and catchments follow the network; the served
municipalities' names and extents, or a scoped one's from the national register)."""

COLLECTION_LAYERS: dict[str, tuple[str, ...]] = {
    "areas": ("areas",),
    "hubs": ("hubs",),
    "premises": ("premises",),
    "boundary": ("boundary",),
    "catchments": ("catchments",),
    "plans": ("plans",),
    "land_use": ("land_use",),
}
"""The layer each OGC collection reads (a test checks every collection is here)."""


@dataclass(frozen=True)
class Rule:
    """Routes matching ``pattern`` (the whole path) read ``layers``.

    ``layers`` may depend on the path (a collection's id); an unknown collection gets no
    validator (it is a 404). ``negotiated``: the format follows ``Accept`` (OGC's ``f``
    default), so ``Accept`` is part of the tag and of ``Vary``. ``policy``: the response
    depends on the assessment policy file too. ``own_tag``: the route makes its own strong
    validator and answers 304 itself (a vector tile's tag is the hash of its bytes); the
    middleware only makes that tag name the content coding, as it does for its own.
    """

    pattern: re.Pattern[str]
    layers: tuple[str, ...] | Callable[[re.Match[str]], tuple[str, ...] | None]
    negotiated: bool = False
    policy: bool = False
    own_tag: bool = False

    def layers_for(self, match: re.Match[str]) -> tuple[str, ...] | None:
        return self.layers(match) if callable(self.layers) else self.layers


def _collection(match: re.Match[str]) -> tuple[str, ...] | None:
    return COLLECTION_LAYERS.get(match["collection"])


def _known(match: re.Match[str]) -> tuple[str, ...] | None:
    return () if match["collection"] in COLLECTION_LAYERS else None


_SEGMENT = r"[^/]+"
RULES: tuple[Rule, ...] = (
    # OGC API – Features (the landing page and collections name the served municipalities)
    Rule(re.compile(r"/ogc/?|/ogc/conformance|/ogc/api"), ("boundary",), negotiated=True),
    Rule(re.compile(r"/ogc/collections"), tuple(dict.fromkeys(
        [*(layer for layers in COLLECTION_LAYERS.values() for layer in layers), "boundary"])),
        negotiated=True),
    Rule(re.compile(r"/ogc/collections/(?P<collection>[^/]+)"),
         lambda m: None if (c := _collection(m)) is None else (*c, "boundary"), negotiated=True),
    Rule(re.compile(r"/ogc/collections/(?P<collection>[^/]+)/items(/[^/]+)?"), _collection,
         negotiated=True),
    Rule(re.compile(r"/ogc/collections/(?P<collection>[^/]+)/queryables"), _known,
         negotiated=True),
    # OGC API – Tiles: the tile sets' metadata (extent from the data), the tiles themselves (their
    # own tag: the hash of the bytes), the tile matrix sets (fixed)
    Rule(re.compile(r"/ogc/collections/(?P<collection>[^/]+)/tiles(/[^/]+(/tilejson\.json)?)?"),
         _collection),
    Rule(re.compile(rf"/ogc/collections/(?P<collection>[^/]+)/tiles{4 * ('/' + _SEGMENT)}"),
         _collection, own_tag=True),
    Rule(re.compile(r"/ogc/tileMatrixSets(/[^/]+)?"), ()),
    # maps, reports and pages
    Rule(re.compile(r"/|/maps/overview|/maps/premises(/[^/]+)?|/maps/areas/[^/]+"), MAP_LAYERS),
    Rule(re.compile(r"/assessments/[^/]+"), ("assessments",)),
    Rule(re.compile(r"/assessments/[^/]+/report"),
         ("assessments", "areas", "hubs", "catchments", "network"), policy=True),
    Rule(re.compile(r"/tilgjengelighet"), ()),  # the statement: the app's settings only
    # the other read routes (a premises record keeps its own ETag: its version, for If-Match)
    Rule(re.compile(r"/premises"), ("premises", "hubs", "areas", "network", "municipalities")),
    Rule(re.compile(r"/geocode"), ("addresses",)),
    Rule(re.compile(r"/proximity/[^/]+"),
         ("hubs", "catchments", "network", "premises", "areas", "municipalities")),
    Rule(re.compile(r"/plans/.+"), ("plans", "land_use", "premises")),
)  # fmt: skip

SAFE_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CODINGS = ("gzip", "br", "zstd", "deflate")
CODINGS_BYTES = frozenset(c.encode() for c in CODINGS)
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(,|$)')


def _rule(path: str) -> tuple[Rule, tuple[str, ...]] | None:
    for rule in RULES:
        match = rule.pattern.fullmatch(path)
        if match:
            layers = rule.layers_for(match)
            return None if layers is None else (rule, layers)
    return None


# -- the versions, kept per worker ------------------------------------------------------------
async def _read(server: Server, *, lsn: int | None = None) -> dict[str, LayerVersion] | None:
    """Every layer's version on ``server``, or None when it cannot tell now: the server is down
    (the route then answers 503 or goes elsewhere, as it would have), busy, or — with ``lsn`` —
    has not replayed that far yet."""
    if not await server.reach.usable():
        return None
    try:
        # no disconnect check: it would consume the request's body message
        async with server.read_admission.slot(), server.read_pool.connection() as conn:
            if lsn is not None and not await consistency.has_replayed_async(conn, lsn):
                return None
            return await read_versions_async(conn)
    except PoolTimeout as exc:
        server.reach.unreachable(exc)  # logged once, like any checkout that finds it down
        return None
    except (psycopg.Error, OverloadedError, ClientGoneError, OSError) as exc:
        log.warning("data versions not read (%s); no validators for this request", exc)
        return None


class DataVersions:
    """The layers' versions as this worker last read them, valid while nothing was written.

    :meth:`get` answers from memory while the listener connection is up and no notification
    (or write served here) arrived since the read; otherwise it reads them (and keeps them if
    nothing changed during the read). Started lazily by the first request; stopped with the
    app (lifespan shutdown).
    """

    def __init__(self) -> None:
        self._generation = 0  # bumped by every notification, reconnect and local write
        self._cached: dict[str, LayerVersion] | None = None
        self._cached_generation = -1
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    def invalidate(self) -> None:
        self._generation += 1

    async def get(self, scope: Scope) -> dict[str, LayerVersion] | None:
        """The versions, or None when they cannot be read now (the request then goes on
        without validators: the route itself answers, or fails, as it would have)."""
        state = scope["app"].state
        replica: Server | None = getattr(state, "replica", None)
        if replica is not None:
            return await self._from_replica(scope, replica)
        if self._listening and self._cached_generation == self._generation:
            return self._cached
        primary: Server | None = getattr(state, "primary", None)
        if primary is None:  # an app without its lifespan (no servers): nothing to read with
            return None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._listen(primary.conninfo), name="geoplan-data-versions"
            )
        generation, listening = self._generation, self._listening
        versions = await _read(primary)
        if (
            versions is not None
            and listening
            and self._listening
            and (generation == self._generation)
        ):
            self._cached, self._cached_generation = versions, generation
        return versions

    async def _from_replica(self, scope: Scope, replica: Server) -> dict[str, LayerVersion] | None:
        """With a read replica, the versions the replica has replayed, read per request.

        A tag must never name newer data than the page sent under it, or a cache would keep
        the older page as current until the next write. The map and OGC pages read from the
        replica, so the versions are read there too (a standby cannot ``LISTEN``, so they are
        not kept). When the replica is down or has not yet replayed the client's own last
        write (``Geoplan-LSN``, :mod:`api.consistency`), the page comes from the primary —
        newer than anything the replica says — and the request gets no validator at all:
        never a 304 that would hide the client's own write from it.
        """
        lsn = consistency.client_lsn(Request(scope))
        return await _read(replica, lsn=lsn)

    async def _listen(self, conninfo: str) -> None:
        """Hold ``LISTEN`` and count notifications; reconnect with backoff when it drops."""
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._generation += 1  # whatever was read before now is not trusted
                    self._listening = True
                    backoff = 0.5
                    while True:
                        async for _ in conn.notifies(timeout=30):
                            self._generation += 1
                        await conn.execute("SELECT 1")  # a dead connection raises here
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: read per request, retry
                log.warning("data-version listener lost (%s); retrying in %.1f s", exc, backoff)
            finally:
                self._listening = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def close(self) -> None:
        task, self._task = self._task, None
        self._listening = False
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the middleware ---------------------------------------------------------------------------
def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _matches(if_none_match: str, opaque: str) -> str | None:
    """The client's tag (quoted) that names ``opaque`` with any coding suffix, or None. Weak
    or strong alike: If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    for m in _TAG.finditer(if_none_match):
        theirs = m.group(2)
        base, _, coding = theirs.rpartition("-")
        if theirs == opaque or (coding in CODINGS and base == opaque):
            return f'"{theirs}"'
    return None


def _without_codings(if_none_match: str) -> str:
    """``If-None-Match`` with each tag's coding suffix removed (``"abc-gzip"`` → ``"abc"``)."""
    tags = []
    for m in _TAG.finditer(if_none_match):
        base, _, coding = m.group(2).rpartition("-")
        tags.append(f'{m.group(1) or ""}"{base if coding in CODINGS else m.group(2)}"')
    return ", ".join(tags) if tags else if_none_match


def _coded_tag(message: Message, theirs: str) -> list[tuple[bytes, bytes]]:
    """The response headers with a route's strong ETag naming the body's coding: the client's
    own tag on a 304, ``"…-gzip"`` on a gzip body."""
    headers = list(message.get("headers", []))
    coding, at = b"", None
    for i, (name, value) in enumerate(headers):
        name = name.lower()
        if name == b"etag" and value.startswith(b'"'):
            at = i
        elif name == b"content-encoding":
            coding = value.strip().lower()
    if at is None:
        return headers
    opaque = headers[at][1].decode("latin-1").strip('"')
    if message["status"] == 304 and theirs:
        tag = (_matches(theirs, opaque) or f'"{opaque}"').encode("latin-1")
    elif coding in CODINGS_BYTES:
        tag = b'"' + opaque.encode("latin-1") + b"-" + coding + b'"'
    else:
        return headers
    headers[at] = (headers[at][0], tag)
    return headers


@dataclass(frozen=True)
class _LayerState:
    """What the versions say about one set of layers: the tag's share, the last change and the
    Last-Modified to send (None while the change is under a second old)."""

    key: bytes
    changed: datetime | None
    last_modified: bytes | None


def _last_modified(changed: datetime | None) -> bytes | None:
    """``changed`` rounded up to the second, once that second is over (a Last-Modified must not
    lie in the future, and a second write within the same second as a response's must still
    count as newer than what that response said)."""
    if changed is None:
        return None
    ceiling = datetime.fromtimestamp(math.ceil(changed.timestamp()), UTC)
    if (datetime.now(UTC) - ceiling).total_seconds() < 1:
        return None
    return _http_date(ceiling).encode()


def _not_modified_since(since: str | None, changed: datetime | None) -> bool:
    """True when ``If-Modified-Since`` is no earlier than the last change."""
    if since is None or changed is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored, as RFC 9110 says
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return changed <= moment


class ConditionalRequests:
    """ETag, Last-Modified and Cache-Control on the data routes; 304 for a client that has it.

    Register outside the compression middleware (it names the coding in the tag) and inside
    CORS (so a 304 carries the CORS headers too).
    """

    def __init__(
        self, app: ASGIApp, settings: Settings, versions: DataVersions | None = None
    ) -> None:
        self.app = app
        self.cache_control = f"max-age={settings.cache_max_age}".encode()
        self.policy_file = Path(settings.policy_file) if settings.policy_file else None
        app_id = f"{geoplan.__version__}|{settings.model_dump_json()}"
        self.salt = hashlib.blake2b(app_id.encode(), digest_size=16).hexdigest().encode()
        # shared with the tile cache (api/answer_cache.py DataVersionsSource) when given
        self.versions = versions if versions is not None else DataVersions()
        # what one read of the versions says about each set of layers (see _layer_state)
        self._states: dict[tuple[str, ...], _LayerState] = {}
        self._states_of: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in WRITE_METHODS:
            await self._write(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        found = _rule(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        rule, layers = found
        if rule.own_tag:
            await self._own_tag(scope, receive, send)
            return
        versions = await self.versions.get(scope) if layers else {}
        if versions is None:
            await self.app(scope, receive, send)
            return
        state = self._layer_state(layers, versions)
        # one pass over the request headers (ASGI names are lower-case bytes): this is the path
        # of every items page, and Headers() and its lookups cost more than the rest together
        host = accept = if_none_match = if_modified_since = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"accept":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"if-modified-since":
                if_modified_since = value
        parts = [
            self.salt,
            scope["scheme"].encode(),
            host,
            scope.get("root_path", "").encode(),
            scope["path"].encode(),
            scope["query_string"],
            accept if rule.negotiated else b"",
            state.key,
        ]
        if rule.policy:
            parts.append(self._policy_state())
        opaque = hashlib.blake2b(b"|".join(parts), digest_size=16).hexdigest()
        vary = b"Accept, Accept-Encoding" if rule.negotiated else b"Accept-Encoding"

        matched = None
        if if_none_match:
            matched = _matches(if_none_match.decode("latin-1"), opaque)
        elif if_modified_since and state.last_modified is not None:
            since = if_modified_since.decode("latin-1")
            matched = f'"{opaque}"' if _not_modified_since(since, state.changed) else None
        if matched is not None:
            not_modified = [
                (b"etag", matched.encode()),
                (b"cache-control", self.cache_control),
                (b"vary", vary),
            ]
            if state.last_modified is not None:
                not_modified.append((b"last-modified", state.last_modified))
            await send({"type": "http.response.start", "status": 304, "headers": not_modified})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_validators(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self._add_validators(message, opaque, state, rule.negotiated)
            await send(message)

        await self.app(scope, receive, send_with_validators)

    def _add_validators(
        self, message: Message, opaque: str, state: _LayerState, negotiated: bool
    ) -> None:
        headers = message["headers"]
        if not isinstance(headers, list):
            headers = message["headers"] = list(headers)
        coding = b""
        has_cache_control = False
        for name, value in headers:
            name = name.lower()
            if name == b"etag":
                return  # the route's own validator (a premises record's version)
            if name == b"content-encoding":
                coding = value.strip().lower()
            elif name == b"cache-control":
                has_cache_control = True
        suffix = b"-" + coding if coding in CODINGS_BYTES else b""
        headers.append((b"etag", b'"' + opaque.encode() + suffix + b'"'))
        if state.last_modified is not None:
            headers.append((b"last-modified", state.last_modified))
        if not has_cache_control:
            headers.append((b"cache-control", self.cache_control))
        if negotiated:
            headers.append((b"vary", b"Accept"))  # a field line of its own: Vary values add up

    async def _own_tag(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A route with its own strong tag (a tile's hash): the route sees the client's tags
        without coding suffixes, and a compressed body's tag gets the coding's suffix (a 304
        echoes the tag the client sent), so one strong tag still names one byte sequence."""
        theirs = ""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                theirs = value.decode("latin-1")
        if theirs:
            bare = _without_codings(theirs).encode("latin-1")
            scope = {
                **scope,
                "headers": [
                    (name, bare if name == b"if-none-match" else value)
                    for name, value in scope["headers"]
                ],
            }

        async def send_with_coding(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _coded_tag(message, theirs)}
            await send(message)

        await self.app(scope, receive, send_with_coding)

    def _layer_state(
        self, layers: tuple[str, ...], versions: Mapping[str, LayerVersion]
    ) -> _LayerState:
        """The layers' part of the tag and their Last-Modified, worked out once per read of
        the versions (and again while a change is too recent for a Last-Modified)."""
        if versions is not self._states_of:
            self._states, self._states_of = {}, versions
        state = self._states.get(layers)
        if state is None or (state.changed is not None and state.last_modified is None):
            present = [(layer, versions[layer]) for layer in layers if layer in versions]
            key = "|".join(f"{x}:{v.version}:{v.changed_at.timestamp()}" for x, v in present)
            changed = max((v.changed_at for _, v in present), default=None)
            state = _LayerState(key.encode(), changed, _last_modified(changed))
            self._states[layers] = state
        return state

    def _policy_state(self) -> bytes:
        if self.policy_file is None:
            return b"policy:none"
        try:
            stat = self.policy_file.stat()
        except OSError:
            return b"policy:missing"
        return f"policy:{stat.st_mtime_ns}:{stat.st_size}".encode()

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A write method: forget the versions when it answers and when it ends (its commit
        may come after the answer), so this worker's next read sees the write at once."""

        async def send_and_forget(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.versions.invalidate()
            await send(message)

        try:
            await self.app(scope, receive, send_and_forget)
        finally:
            self.versions.invalidate()

    def _lifespan_receive(self, receive: Receive) -> Receive:
        async def receive_and_stop() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.versions.close()
            return message

        return receive_and_stop
