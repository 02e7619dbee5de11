"""The FastAPI application factory: ``create_app()`` wires settings, the database servers (the
primary and an optional read replica, ``api/database.py``) and the routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import geoplan
from api import errors
from api.answer_cache import AnswerCache, DataVersionsSource, InvalidateOnWrite
from api.conditional import ConditionalRequests, DataVersions
from api.consistency import WritePosition
from api.database import Server
from api.head import HeadAsGet
from api.http_headers import KeptPageEncodings, ReadCors, SecurityHeaders, compression
from api.load_shedding import LoadShedding
from api.request_guard import RequestGuard
from api.routers import (
    assessments,
    geocode,
    health,
    maps,
    me,
    ogc,
    pages,
    plans,
    premises,
    proximity,
    saved_searches,
    tiles,
)
from api.static_files import VendoredStatic
from api.warm_tiles import WarmTiles
from geoplan.config import Settings, get_settings

GC_THRESHOLD = 50_000
"""Net allocations between two collections of the youngest generation while the app runs
(Python's default is 700); see ``lifespan``."""

OPEN_PATHS = ("/premises/searches",)
"""Routes that read a body without an API key: saving a search (rate-limited, bounded)."""


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    read_database_url: str | None = None,
) -> FastAPI:
    """Build the app. ``database_url`` and ``read_database_url`` override the settings (tests
    use throwaway clusters)."""
    settings = settings or get_settings()
    read_url = read_database_url or settings.read_database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from geoplan.store import db

        url = database_url or db.database_url(settings)
        app.state.database_url = url
        # the primary takes the writes; a replica, when configured, the read-only work. With a
        # replica, the primary's asyncio read pool opens connections only when reads fall back
        # to it (see api/database.py and api/deps.py).
        app.state.primary = Server("database", url, settings, read_pool_min=1 if read_url else None)
        app.state.replica = Server("read replica", read_url, settings) if read_url else None
        servers = [s for s in (app.state.primary, app.state.replica) if s is not None]
        opened: list[Server] = []
        try:
            for server in servers:
                await server.open()  # never waits for the server: down means 503, not no start
                opened.append(server)
        except BaseException:
            for server in opened:
                await server.close()
            raise
        # Everything loaded so far (FastAPI, pydantic models, geopandas, pyproj…) lives as long
        # as the process: moved out of the collector's sight, each full collection no longer
        # walks it. Measured: OGC items p99 under load fell from ≈ 110-180 ms to ≈ 80-90 ms.
        gc.collect()
        gc.freeze()
        # A collection every GC_THRESHOLD net allocations rather than Python's 700: with 1 024
        # connections, every request in flight outlived a few collections, reached the oldest
        # generation and was scanned again by full collections of 200-400 ms each — a sixth of
        # the server's time, growing with the connections (docs/api.md "Under load").
        # Requests leave no reference cycles behind (api/load_shedding.py), so little waits
        # for the collector.
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()  # collectable again (tests build many apps in one process)
            for server in reversed(opened):
                await server.close()

    app = FastAPI(
        title="geoplan",
        version=geoplan.__version__,
        description=(
            "Business areas, transit hubs and vacant premises for Norwegian municipalities."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    # the layers' data versions, one keeper per worker: validators (api/conditional.py), the
    # warm tiles and the rendered map pages kept per worker (api/answer_cache.py) all key by
    # them, so a write to a layer a page does not show leaves the page warm
    data_versions = DataVersions()
    versions = DataVersionsSource(data_versions)
    # both settings in MB (10⁶ bytes), as their names and descriptions say
    app.state.tile_cache = AnswerCache(settings.tile_cache_mb * 1_000_000, versions)
    app.state.page_cache = AnswerCache(settings.page_cache_mb * 1_000_000, versions)
    # the searches' lookups and counts (api/deps.py): up to about a kilobyte each
    app.state.search_cache = AnswerCache(settings.search_cache_mb * 1_000_000, versions)
    app.add_middleware(InvalidateOnWrite, cache=app.state.tile_cache)
    # a kept tile is answered before routing (innermost: every header below is still added)
    app.add_middleware(WarmTiles, cache=app.state.tile_cache, max_age_s=settings.tile_max_age_s)
    for module in (
        health,
        ogc,
        tiles,
        saved_searches,  # before premises: /premises/searches/... is not a premises id
        premises,
        me,
        proximity,
        assessments,
        maps,
        geocode,
        plans,
        pages,
    ):
        app.include_router(module.router)
    # Leaflet and its plugins, served locally so HTML pages work without internet access
    app.mount("/static", VendoredStatic(), name="static")
    # HTTP for the open web (issue #17), innermost first: each wraps the ones above it
    app.add_middleware(SecurityHeaders, settings=settings)  # CSP from the page as rendered
    app.add_middleware(KeptPageEncodings)  # a page sent again is not compressed again
    app.add_middleware(compression)  # zstd / br / gzip
    # ETag, 304 (tags name the coding)
    app.add_middleware(ConditionalRequests, settings=settings, versions=data_versions)
    # host, NUL, key before body (anyone may save a search), size: before a 304 is answered
    # or the versions are read
    app.add_middleware(RequestGuard, settings=settings, open_paths=OPEN_PATHS)
    app.add_middleware(ReadCors, settings=settings)  # CORS on the read routes, 304s and refusals
    if read_url:
        app.add_middleware(WritePosition)  # read-your-writes: see api/consistency.py
    # a request its admission gate would refuse is answered 503 before anything reads it
    app.add_middleware(LoadShedding)
    # HEAD wherever GET exists; added last, so outermost: it sees every header a GET gets
    app.add_middleware(HeadAsGet)
    return app
