"""Rendered HTML map pages, reused until the data changes.

Why: a map page costs ≈ 70 ms of Python (Folium, the result table, the catchments) and is the
same bytes for everyone who asks the same question of the same data — a municipality's front
page, a link shared in a newsletter, a crawler. Under load the map pages were the route whose
throughput fell first (docs/api.md "Under load"); from the cache a repeated page costs a lookup.

A page is kept under its request (path and query string, exactly as sent), the day (pages say
"ledig nå" by today's date) and the **data version** read *on the connection the page would be
built on, before anything else*: whatever the page then reads is at least as new as that
version, and once anything is committed no later read can produce the same version again, so a
stored page is never served for data it does not show. The app's settings (walking model,
public URL, tile threshold) are fixed per app and so per cache.

The version is read behind :class:`DataVersion` so that its source can change without touching
the cache:

* :func:`snapshot_version` (now): the transaction snapshot, ``pg_current_snapshot()`` — the
  oldest running transaction, the next transaction id and those in progress. Two identical
  snapshots see identical data, and every commit of a writing transaction changes it. One
  trivial statement per page request; conservative: *any* write in the cluster (an assessment
  stored, an API key's use recorded, ``ANALYZE``) changes it and starts a fresh page.
* the per-layer ``data_versions`` read of ``api/conditional.py`` (issue 17, branch ``http``),
  once merged: no statement at all while its ``LISTEN`` says nothing changed, and a write to a
  layer the maps do not show no longer discards the pages. Swap by passing a different
  ``version`` to :class:`PageCache` in ``create_app``.

Bounded by bytes (``GEOPLAN_PAGE_CACHE_MB``, 0 turns it off), least recently used out first.
Thread-safe: the map routes are synchronous and run on the thread pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Protocol

import psycopg

from geoplan.store.snapshot import read_snapshot


class DataVersion(Protocol):
    """Something that changes whenever data a page shows may have changed, read on ``conn``."""

    def __call__(self, conn: psycopg.Connection) -> Hashable: ...


def snapshot_version(conn: psycopg.Connection) -> Hashable:
    """The snapshot of ``conn``'s next statement: equal snapshots see equal data."""
    return read_snapshot(conn)


class PageCache:
    """Rendered pages by request, day and data version; at most ``max_bytes`` of them."""

    def __init__(self, max_bytes: int, version: DataVersion = snapshot_version) -> None:
        self.max_bytes = max_bytes
        self._version = version
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def page(
        self, conn: psycopg.Connection, request_key: Hashable, build: Callable[[], str]
    ) -> bytes:
        """The page for ``request_key`` as of ``conn``'s data: stored, or ``build()`` and kept.

        ``build`` must read its data through ``conn`` (after this reads the version) and depend
        on nothing else of the request than what ``request_key`` names.
        """
        if self.max_bytes <= 0:
            return build().encode()
        key = (request_key, date.today(), self._version(conn))
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
                self.hits += 1
                return body
            self.misses += 1
        body = build().encode()
        if len(body) <= self.max_bytes:
            with self._lock:
                if key not in self._pages:
                    self._pages[key] = body
                    self._bytes += len(body)
                while self._bytes > self.max_bytes:
                    _, old = self._pages.popitem(last=False)
                    self._bytes -= len(old)
        return body

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0
