"""Warm answers kept in memory: a tile (or page) rendered once is sent again without asking the
database, until the data it was made of changes.

A cache entry's key is everything that decides the answer's bytes — the route's own part (for a
tile: collection, ``z/x/y``, the filter parameters) and the **version** of the layers it reads.
The version comes from a :class:`Versions` source, the one seam between this cache and how
writes are noticed:

- :class:`SnapshotVersions`: the database's snapshot (``pg_current_snapshot()``, which
  commits are visible: see :mod:`geoplan.store.snapshot`), read at most every
  :data:`SNAPSHOT_INTERVAL_S` per worker, plus a counter this worker bumps after every write
  request it served (:class:`InvalidateOnWrite`). A write through this worker is seen by its
  next request; any other commit (another ``serve --workers`` process, a CLI import) within
  :data:`SNAPSHOT_INTERVAL_S`. Coarse — any commit anywhere drops every entry — but exact, and
  one short query per interval instead of one per request (measured: reading the snapshot on
  every tile request took the warm tile rate from ≈ 1 540 to ≈ 260 tiles/s).
- :class:`DataVersionsSource`: the ``data_versions`` table (one counter per layer, bumped by a
  trigger in every writing transaction, kept per worker by ``LISTEN``; ``api/conditional.py``
  of the HTTP work). With it, entries live until their layers change, wherever the write came
  from. ``api/app.py`` uses this one (sharing the keeper with the ETags).

A key's version is read *before* the answer is made and the counter is bumped *after* a write
committed, so an entry never holds data older than its version: a request racing a write
stores what it read under the old version, which no later request asks for.

The app keeps three instances on the one :class:`DataVersionsSource`: the warm tiles
(``tile_cache``), the rendered map pages (``page_cache``, ``api/routers/maps.py``; a page
survives writes to layers the maps do not show, such as a stored assessment) and the rows of
the searches' lookups (``search_cache``, :class:`KeptLookups`: is ``area=`` a focus area, does
``near=`` lie in the region — asked once per version of the reference layers, not per search)
and, in the same instance, the searches' counts (each with the versions it was made at, which
the search's statement compares itself).

Entries are bounded by bytes (``GEOPLAN_TILE_CACHE_MB``, ``GEOPLAN_PAGE_CACHE_MB``,
``GEOPLAN_SEARCH_CACHE_MB``; least recently used out first); 0 turns a cache off. One cache per
worker process; nothing is shared or persisted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from geoplan.errors import GeoplanError
from geoplan.store.snapshot import read_snapshot_async

log = logging.getLogger("geoplan.api")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Versions(Protocol):
    """Where a cache key's data version comes from."""

    max_age_s: float | None
    """How long an entry may be served at most (None: until its version changes)."""

    async def current(self, request: Request, layers: tuple[str, ...]) -> Hashable | None:
        """The version of ``layers`` now, or None when it cannot be told (then: no caching)."""
        ...

    def written(self) -> None:
        """A write request served by this worker has finished (its transaction is over)."""
        ...


SNAPSHOT_INTERVAL_S = 0.5
"""How often a worker reads the snapshot while requests come (the bound on how late a commit
made elsewhere reaches this worker's kept answers)."""


class SnapshotVersions:
    """The database snapshot, read at most every ``interval_s``, and this worker's own writes,
    counted at once (see the module)."""

    max_age_s: float | None = None

    def __init__(self, interval_s: float = SNAPSHOT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._generation = 0
        self._snapshot: str | None = None
        self._read_at = -math.inf
        self._reading: asyncio.Future[None] | None = None

    async def current(self, request: Request, layers: tuple[str, ...]) -> Hashable | None:
        if time.monotonic() - self._read_at >= self.interval_s:
            await self._refresh(request)
        return None if self._snapshot is None else (self._snapshot, self._generation)

    async def _refresh(self, request: Request) -> None:
        """Read the snapshot; concurrent callers wait for the one read under way."""
        if self._reading is not None:
            await asyncio.shield(self._reading)
            return
        from api.deps import read_connection  # the routers' own connections and admission

        self._reading = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        try:
            async with read_connection(request) as conn:
                self._snapshot = await read_snapshot_async(conn)
        except (GeoplanError, psycopg.Error, OSError) as exc:
            # no version, no caching: the request goes on and meets the trouble itself
            log.warning("database snapshot not read (%s); tiles made afresh meanwhile", exc)
            self._snapshot = None
        finally:
            self._read_at = started
            reading, self._reading = self._reading, None
            reading.set_result(None)

    def written(self) -> None:
        self._generation += 1


class DataVersionsSource:
    """The ``data_versions`` of every layer as a per-worker keeper reads them: any object with
    ``async get(scope) -> Mapping[layer, obj with .version] | None`` and ``invalidate()`` —
    ``api.conditional.DataVersions`` of the HTTP work."""

    max_age_s: float | None = None

    def __init__(self, versions: Any) -> None:
        self._versions = versions

    async def current(self, request: Request, layers: tuple[str, ...]) -> Hashable | None:
        found: Mapping[str, Any] | None = await self._versions.get(request.scope)
        if found is None or any(layer not in found for layer in layers):
            return None
        return tuple(found[layer].version for layer in layers)

    def written(self) -> None:
        self._versions.invalidate()


@dataclass(frozen=True)
class _Entry:
    value: Any
    size: int
    expires: float | None


class AnswerCache:
    """A least-recently-used map of answers bounded by their total size in bytes."""

    def __init__(self, max_bytes: int, versions: Versions | None = None) -> None:
        self.max_bytes = max_bytes
        self.versions = versions
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    async def key(self, request: Request, layers: tuple[str, ...], *parts: Hashable) -> Hashable:
        """The key of an answer made of ``layers`` and named by ``parts``, or None: not
        cacheable now (cache off, or the version cannot be told)."""
        if not self.enabled or self.versions is None:
            return None
        version = await self.versions.current(request, layers)
        return None if version is None else (version, *parts)

    def get(self, key: Hashable) -> Any:
        """The answer under ``key`` (None if absent or past its lifetime)."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires is not None and time.monotonic() > entry.expires:
                self._drop(key)
                entry = None
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` (``size`` bytes) under ``key``, dropping the least recently used."""
        if key is None or size > self.max_bytes:
            return
        age = self.versions.max_age_s if self.versions is not None else None
        expires = None if age is None else time.monotonic() + age
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(value, size, expires)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        self._bytes -= self._entries.pop(key).size

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


class InvalidateOnWrite:
    """Tell the versions when a write request this worker served is over (pure ASGI: no
    buffering; the write's transaction has committed or rolled back by then)."""

    def __init__(self, app: ASGIApp, cache: AnswerCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.cache.versions.written()


class KeptLookups:
    """Rows a search asked for (:class:`geoplan.store.steps.Known`) kept in an
    :class:`AnswerCache` under ``version``: a key of :data:`~geoplan.premises.lookups.
    LOOKUP_LAYERS` (:meth:`AnswerCache.key`) for its lookups, or a constant for its counts,
    which carry their own data versions (:func:`geoplan.premises.search.search_features_async`)."""

    def __init__(self, cache: AnswerCache, version: Hashable) -> None:
        self._cache = cache
        self._version = version

    def get(self, lookup: Hashable) -> list[tuple[Any, ...]] | None:
        return self._cache.get((self._version, lookup))

    def put(self, lookup: Hashable, rows: list[tuple[Any, ...]]) -> None:
        # the size counts what dominates: the statement's text, its parameters and its rows
        self._cache.put((self._version, lookup), rows, len(repr(lookup)) + len(repr(rows)))
