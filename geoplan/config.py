"""All of geoplan's settings, read once from ``GEOPLAN_*`` environment variables.

Everything that differs between a laptop, CI, docker compose and a municipal server lives here,
so no other module hard-codes a path, port or URL.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import pydantic
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_FRAME_SOURCE = re.compile(
    r"\*|'self'|'none'|https?:|(https?://)?(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:([0-9]{1,5}|\*))?"
)

STORAGE_SRID = 25833
"""EPSG:25833 (ETRS89 / UTM 33N): metres, what Norwegian planners work in; all storage uses it."""


def _default_home() -> Path:
    # PostgreSQL refuses to run as root, so as root the managed cluster runs as an unprivileged
    # system user, which cannot reach /root/...; a system-wide location works for both.
    if os.geteuid() == 0:
        return Path("/var/lib/geoplan")
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg) / "geoplan" if xdg else Path.home() / ".local" / "share" / "geoplan"


class Settings(BaseSettings):
    """geoplan settings; each field is read from ``GEOPLAN_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GEOPLAN_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostGIS (postgresql+psycopg://...). "
        "When unset, geoplan runs its own cluster under GEOPLAN_HOME.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of a streaming replica of the database (or a load balancer "
        "over several) for read-only API work: OGC items, premises search, maps. Writes, and a "
        "client's reads until the replica has replayed its own last write, go to the primary; "
        "so do reads while the replica is down. Unset: everything goes to the primary.",
    )
    home: Path = Field(default_factory=_default_home, description="Managed cluster and state.")
    db_port: int = Field(default=55432, description="Loopback port of the managed cluster.")
    db_name: str = "geoplan"
    db_user: str = "geoplan"
    service_user: str = Field(
        default="geoplan",
        description="System user that runs the managed PostgreSQL when geoplan runs as root.",
    )
    pg_bindir: Path | None = Field(
        default=None, description="Directory with initdb/pg_ctl; found automatically when unset."
    )
    layers_dir: Path = Field(default=REPO_ROOT / "layers", description="Shipped layer data.")
    kommune: str = Field(
        default="3222",
        description="Municipality number(s) a new store serves (`geoplan init`, and `geoplan "
        "load` on a store that serves none yet): one (0301) or several, comma-separated "
        "(3205,3222,3224). Default 3222, Lørenskog.",
    )
    policy_file: Path | None = Field(
        default=None,
        description="Assessment policy (TOML); default: <layers_dir>/policy.toml.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API worker processes `geoplan serve` starts. Each has its own pools: "
        "workers × (GEOPLAN_POOL_SIZE + GEOPLAN_READ_POOL_SIZE) connections must fit in the "
        "database's max_connections (docs/operations.md).",
    )
    public_url: str | None = Field(
        default=None, description="Base URL used in API links; derived from the request if unset."
    )
    accessibility_contact: str | None = Field(
        default=None,
        max_length=500,
        description="Where users report accessibility problems (an e-mail address or a URL), "
        "shown in the accessibility statement at /tilgjengelighet.",
    )
    trusted_hosts: str | None = Field(
        default=None,
        description="Comma-separated host names the Host header may name (`*.kommune.no`, `*` "
        "for any); links are built from it. Default: GEOPLAN_HOST, localhost, 127.0.0.1 and ::1 "
        "(any host when GEOPLAN_PUBLIC_URL is set, since links then come from it).",
    )
    max_body_bytes: int = Field(
        default=1024**2,
        ge=1024,
        le=1024**3,
        description="Largest request body the API reads (bytes); a larger one is answered 413.",
    )
    read_pool_size: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Database connections per API worker for the asyncio read path (OGC "
        "items, vector tiles, premises searches, nearest hubs); more concurrent requests "
        "queue for one.",
    )
    pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Database connections per API worker for everything but the asyncio read "
        "path; as many requests run at once, the others wait for a turn without holding a thread.",
    )
    page_slots: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Of GEOPLAN_POOL_SIZE, how many connections the HTML map pages may hold at "
        "once (their own queue; the other routes are served in turn with them, so a flood of map "
        "pages cannot starve the API).",
    )
    search_slots: int = Field(
        default_factory=lambda: (os.cpu_count() or 2) + 1,
        ge=1,
        le=100,
        description="Of GEOPLAN_READ_POOL_SIZE, how many connections premises searches "
        "(`GET /premises`) may hold at once; the others wait their turn on the event loop. "
        "Default: this machine's cores + 1 (the database's, when it runs elsewhere, is what "
        "counts): more searches at once than cores slow each other down.",
    )
    search_cache_mb: int = Field(
        default=1,
        ge=0,
        le=1_000,
        description="Memory per API worker for what premises searches look up and count (is "
        "`area=` a focus area, how many listings a search matches), MB, reused until the "
        "listings or reference layers change (0: off, every search counts afresh). Up to "
        "about a kilobyte per distinct search: 1 MB keeps the last thousand or more.",
    )
    page_cache_mb: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="Memory per API worker for rendered map pages, MB, reused until the data "
        "changes (0: no cache).",
    )
    max_waiting: int = Field(
        default=4096,
        ge=0,
        le=100_000,
        description="Requests per API worker that may wait for a database connection; the next "
        "one is answered 503 with Retry-After at once (so is one that would wait longer than "
        "GEOPLAN_MAX_WAIT_S at the rate requests are being served).",
    )
    max_wait_s: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Longest a request waits for a database connection before it is answered "
        "503 with Retry-After.",
    )
    cors_origins: str = Field(
        default="*",
        description="Web origins (comma-separated, e.g. https://www.lorenskog.kommune.no) whose "
        "pages may read the public read routes (OGC API, /premises, /geocode, /proximity, "
        "/plans) from the browser; * for any origin, empty for none. Credentials are never "
        "allowed cross-origin, and writes never.",
    )
    frame_ancestors: str = Field(
        default="*",
        description="Origins (space- or comma-separated) whose pages may embed the maps in an "
        "<iframe> (CSP frame-ancestors of the map pages); * for any, 'self' for this site only.",
    )
    cache_max_age: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="Seconds a browser or proxy may reuse a data response (collections, items, "
        "maps, reports) before asking again; it then revalidates with its ETag (304).",
    )
    tile_max_age_s: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="Cache-Control max-age of vector tiles, seconds; clients revalidate with "
        "the tile's ETag after that (304 when unchanged).",
    )
    tile_cache_mb: int = Field(
        default=64,
        ge=0,
        le=65_536,
        description="Memory per worker for vector tiles kept after they were made, MB (0: "
        "off). A kept tile is sent again until the premises (or its layer) change: at once "
        "for writes through this worker, within GEOPLAN_TILE_MAX_AGE_S for others.",
    )
    map_tiles_threshold: int = Field(
        default=5000,
        ge=0,
        description="Above this many premises the overview and search maps load premises as "
        "vector tiles from the server instead of carrying them inline in the page.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow saved-search webhooks to private, loopback and link-local addresses "
        "(an intranet receiver). Off: such URLs are refused, so a webhook cannot be used to "
        "reach the server's own network (SSRF).",
    )
    saved_searches_per_hour: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="Saved searches one client address may create per hour (per API worker); "
        "more are answered 429 with Retry-After.",
    )
    walk_speed_kmh: float = Field(
        default=5.0, gt=0, description="Walking speed (5 km/h = 83 m/min)."
    )
    detour_factor: float = Field(
        default=1.3,
        ge=1.0,
        description="Straight line × this ≈ walking distance without a network.",
    )
    region_margin_m: float = Field(
        default=10_000, ge=0, description="How far outside the municipality input may lie."
    )
    network_max_snap_m: float = Field(
        default=300,
        gt=0,
        description="Farthest a site or hub may lie from the walking network to be routed on it; "
        "farther away, walking distance falls back to straight line × detour factor.",
    )

    @model_validator(mode="after")
    def _default_policy_file(self) -> Settings:
        # Follows layers_dir unless set, so one GEOPLAN_LAYERS_DIR moves the policy along.
        if self.policy_file is None:
            self.policy_file = self.layers_dir / "policy.toml"
        return self

    @model_validator(mode="after")
    def _check_origins(self) -> Settings:
        # Both end up in response headers: refuse anything that is not an origin / CSP source
        # (a stray ";" would otherwise add directives to the page's security policy).
        for origin in self.cors_origin_list:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"GEOPLAN_CORS_ORIGINS: {origin!r} is not an origin such as "
                    "https://www.example.no (scheme://host[:port], no path) or *"
                )
        for source in self.frame_ancestor_list:
            if not _FRAME_SOURCE.fullmatch(source):
                raise ValueError(
                    f"GEOPLAN_FRAME_ANCESTORS: {source!r} is not an origin such as "
                    "https://www.example.no, https://*.example.no, 'self', 'none' or *"
                )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        """``GEOPLAN_CORS_ORIGINS`` as a list (empty: no cross-origin reads)."""
        return [o.rstrip("/") for o in re.split(r"[\s,]+", self.cors_origins) if o]

    @property
    def frame_ancestor_list(self) -> list[str]:
        """``GEOPLAN_FRAME_ANCESTORS`` as CSP sources (``self``/``none`` quoted as CSP wants)."""
        sources = [s.rstrip("/") for s in re.split(r"[\s,]+", self.frame_ancestors) if s]
        return [f"'{s}'" if s.lower() in ("self", "none") else s for s in sources] or ["'none'"]

    @property
    def managed(self) -> bool:
        """True when geoplan runs its own PostgreSQL cluster."""
        return not self.database_url

    @property
    def walk_speed_m_per_min(self) -> float:
        return self.walk_speed_kmh * 1000 / 60


@lru_cache
def get_settings() -> Settings:
    """The process settings from ``GEOPLAN_*`` (and ``.env``); a value that does not pass
    raises pydantic's ``ValidationError`` (titled ``Settings``: :func:`settings_error_line`)."""
    return Settings()


def settings_error_line(exc: pydantic.ValidationError) -> str:
    """``GEOPLAN_SEARCH_SLOTS: input should be a valid integer (got 'abc')``: the first setting
    :class:`Settings` refused, by its variable's name (a check across settings names its
    variables itself), for the one error line a command or server start ends with."""
    first = exc.errors()[0]
    message = " ".join(str(first["msg"]).split()).removeprefix("Value error, ")
    if not first["loc"]:
        line = message
    else:
        line = f"GEOPLAN_{str(first['loc'][0]).upper()}: {message[:1].lower()}{message[1:]}"
        if "input" in first and repr(first["input"]) not in line:
            line += f" (got {first['input']!r})"
    more = exc.error_count() - 1
    return line + (f" (and {more} more)" if more else "")
