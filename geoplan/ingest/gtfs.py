"""``geoplan import-gtfs``: transit hubs, their lines and weekday frequencies from a GTFS feed.

A hub is a GTFS parent station (``location_type=1``) with its boarding stops, or, for stops
without a parent, all stops sharing a name. For each hub:

- ``mode``: the highest-capacity mode among its routes
  (:func:`geoplan.ingest.departures.hub_mode`: rail > metro > bus; a bus hub with at least
  ``BUS_TERMINAL_MIN_ROUTES`` routes is a ``bus_terminal``). GTFS ``route_type`` 2 and 100–117
  are rail, 1 and 400–405 metro, 3, 11, 200–209 and 700–716 bus. Hubs served only by other modes
  (tram, ferry...) are skipped and counted.
- ``lines``: the short names (else long names) of all routes serving it.
- ``departures_per_hour``: as defined in :mod:`geoplan.ingest.departures` (shared with the NeTEx
  import): the departures (stop_times that are not the last stop of their trip) of the trips
  running on the counted day between 07:00 and 19:00, divided by 12 hours and by the number of
  directions (``direction_id``) seen at the hub. The counted day is ``date`` when given, else the
  Monday to Friday date of the feed with the most active trips (``calendar`` plus
  ``calendar_dates`` exceptions).

Hubs are kept when they lie within ``margin_m`` of the municipality (the loaded boundary, else
Lørenskog's envelope; see :mod:`geoplan.geo.region`). Ids are ``gtfs:<station or stop id>``, so
re-importing a newer feed updates the same hubs; ``replace`` removes ``gtfs:`` hubs the feed no
longer has (other hubs stay).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import region
from geoplan.ingest.archives import ZipLimits, open_zip, read_member
from geoplan.ingest.departures import (
    BUS_TERMINAL_MIN_ROUTES,
    DAY_END_H,
    DAY_START_H,
    DEFAULT_MARGIN_M,
    MODE_RANK,
    busiest_weekday,
    departures_per_hour,
    hub_mode,
    natural_key,
)
from geoplan.ingest.validation import (
    ProvenanceDefaults,
    RowError,
    RowValidationError,
    prepare,
    region_for,
)
from geoplan.ingest.writer import Progress, WriteResult, write_layer
from geoplan.layers.spec import layer_spec

ID_PREFIX = "gtfs:"
__all__ = [  # the shared definitions stay importable from here, where they were first defined
    "BUS_TERMINAL_MIN_ROUTES",
    "DAY_END_H",
    "DAY_START_H",
    "DEFAULT_MARGIN_M",
    "MODE_RANK",
    "GtfsOptions",
    "GtfsResult",
    "import_gtfs",
    "read_hubs",
    "representative_weekday",
    "route_mode",
]


def route_mode(route_type: int) -> str | None:
    """rail / metro / bus for a GTFS (or extended) route_type; None for other modes."""
    t = int(route_type)
    if t == 2 or 100 <= t <= 117:
        return "rail"
    if t == 1 or 400 <= t <= 405:
        return "metro"
    if t in (3, 11) or 200 <= t <= 209 or 700 <= t <= 716:
        return "bus"
    return None


@dataclass
class GtfsOptions:
    replace: bool = False
    margin_m: float = DEFAULT_MARGIN_M
    service_date: date | None = None
    provenance: ProvenanceDefaults = field(default_factory=ProvenanceDefaults)


@dataclass
class GtfsResult:
    feed: str
    service_date: date
    hubs: int
    outside: int
    unsupported: int
    write: WriteResult


MAX_FEED_BYTES = 4 * 1024**3
"""Cap on what a feed's text files may inflate to (4 GiB: Norway's national feed is ≈ 1.5 GiB);
see :mod:`geoplan.ingest.archives` for the ratio cap every zip is held to."""


class _Feed:
    """The GTFS text files of a zip (also when they sit in one sub-folder), checked by the zip
    guard (:mod:`geoplan.ingest.archives`) before anything is inflated."""

    def __init__(self, path: Path, limits: ZipLimits | None = None):
        if not zipfile.is_zipfile(path):
            raise ValidationError(f"{path.name} is not a zip file (GTFS feeds are zips)")
        self.zip, members = open_zip(
            path,
            limits or ZipLimits(MAX_FEED_BYTES),
            contents="GTFS text files",
            select=lambda info: info.filename.endswith(".txt"),
        )
        self.members = {Path(i.filename).name: i for i in members}
        self.names = {name: i.filename for name, i in self.members.items()}
        self.path = path
        self._tables: dict[str, pd.DataFrame] = {}

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str, usecols: list[str] | None = None) -> pd.DataFrame:
        if name not in self.names:
            raise ValidationError(f"{self.path.name}: GTFS file {name} is missing", field=name)
        if name not in self._tables:
            self._tables[name] = self._parse(name)
        df = self._tables[name]
        if usecols:
            missing = [c for c in usecols if c not in df.columns]
            if missing:
                raise ValidationError(
                    f"{self.path.name}: {name} lacks column {', '.join(missing)}", field=name
                )
        return df

    def _parse(self, name: str) -> pd.DataFrame:
        raw = read_member(self.path.name, self.zip, self.members[name])
        where = f"{self.path.name}: {name}"
        try:
            data = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"{where} is not UTF-8 text (byte {exc.start}); GTFS files are UTF-8", field=name
            ) from None
        if "\x00" in data:
            raise ValidationError(f"{where} holds binary data (NUL bytes)", field=name)
        if not data.strip():
            raise ValidationError(f"{where} is empty (GTFS files start with a header)", field=name)
        try:
            with warnings.catch_warnings():
                # a first row longer than the header: pandas would shift its cells into an index
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(
                    io.StringIO(data), dtype=str, keep_default_na=False, index_col=False
                )
        except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error, ValueError) as exc:
            detail = " ".join(str(exc).split()).removeprefix("Error tokenizing data. C error: ")
            if isinstance(exc, pd.errors.ParserWarning):
                detail = "a row has more cells than the header"
            raise ValidationError(f"{where} is not valid CSV: {detail}", field=name) from None
        df.columns = [c.strip() for c in df.columns]
        return df

    def errors(self, name: str, errors: list[RowError]) -> None:
        """Refuse the feed for ``errors`` in file ``name`` (rows: data rows, header not
        counted)."""
        if errors:
            raise RowValidationError(f"{self.path.name}: {name}", errors)

    def dates(self, name: str, df: pd.DataFrame, columns: tuple[str, ...]) -> None:
        """Check that ``columns`` of ``df`` hold GTFS dates (``20250303``)."""
        errors = []
        for col in columns:
            for i, v in enumerate(df[col].tolist()):
                if _gtfs_date_or_none(v) is None:
                    errors.append(
                        RowError(i + 1, col, f"{col} {v!r} is not a GTFS date like 20250303")
                    )
        self.errors(name, errors)

    def calendar(self) -> pd.DataFrame:
        cal = self.read("calendar.txt", ["service_id", *WEEKDAYS, "start_date", "end_date"])
        if "_checked" not in cal.attrs:
            self.dates("calendar.txt", cal, ("start_date", "end_date"))
            cal.attrs["_checked"] = True
        return cal

    def calendar_dates(self) -> pd.DataFrame:
        cd = self.read("calendar_dates.txt", ["service_id", "date", "exception_type"])
        if "_checked" not in cd.attrs:
            self.dates("calendar_dates.txt", cd, ("date",))
            cd.attrs["_checked"] = True
        return cd


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _coordinates(feed: _Feed, stops: pd.DataFrame) -> pd.DataFrame:
    """``stops`` with numeric ``lat``/``lon``; a stop or station whose coordinates are not
    WGS84 degrees refuses the feed naming its row (GTFS lets only generic nodes and boarding
    areas, ``location_type`` 3 and 4, leave them empty)."""
    errors: list[RowError] = []
    located = ~stops["location_type"].isin(["3", "4"]).to_numpy()
    out = {}
    for col, key, limit in (("stop_lat", "lat", 90), ("stop_lon", "lon", 180)):
        text = stops[col].str.strip()
        with np.errstate(invalid="ignore"):
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            bad = ~(np.abs(values) <= limit)  # NaN and ±inf too
        bad &= located | (text != "").to_numpy()
        for i in np.flatnonzero(bad):
            v = stops[col].iloc[i]
            what = "is empty" if not v.strip() else f"{v!r} is not a {key}itude in degrees"
            errors.append(RowError(int(i) + 1, col, f"{col} {what}"))
        out[key] = values
    errors.sort(key=lambda e: e.row or 0)
    feed.errors("stops.txt", errors)
    return stops.assign(**out)


def _seconds(hms: pd.Series) -> np.ndarray:
    """GTFS times (``H:MM:SS``, may pass 24:00) as seconds after midnight; NaN when blank."""
    parts = hms.str.strip().str.split(":", expand=True)
    if parts.shape[1] < 3:
        return np.full(len(hms), np.nan)
    nums = parts.iloc[:, :3].apply(pd.to_numeric, errors="coerce")
    return (nums[0] * 3600 + nums[1] * 60 + nums[2]).to_numpy(dtype=float)


def _gtfs_date(s: str) -> date:
    return datetime.strptime(s.strip(), "%Y%m%d").date()


def _gtfs_date_or_none(s: str) -> date | None:
    try:
        return _gtfs_date(s)
    except (ValueError, TypeError):
        return None


def active_services(feed: _Feed, day: date) -> set[str]:
    """Service ids running on ``day`` (calendar weekdays and ranges, then calendar_dates)."""
    active: set[str] = set()
    if feed.has("calendar.txt"):
        cal = feed.calendar()
        key = day.strftime("%Y%m%d")
        on = cal[WEEKDAYS[day.weekday()]].str.strip() == "1"
        on &= cal["start_date"].str.strip() <= key
        on &= cal["end_date"].str.strip() >= key
        active |= set(cal.loc[on, "service_id"])
    if feed.has("calendar_dates.txt"):
        cd = feed.calendar_dates()
        today = cd[cd["date"].str.strip() == day.strftime("%Y%m%d")]
        active |= set(today.loc[today["exception_type"].str.strip() == "1", "service_id"])
        active -= set(today.loc[today["exception_type"].str.strip() == "2", "service_id"])
    return active


def representative_weekday(feed: _Feed, trips: pd.DataFrame) -> date:
    """The Monday–Friday date with the most trips running (earliest on a tie)."""
    days: set[date] = set()
    if feed.has("calendar.txt"):
        cal = feed.calendar()
        for a, b in zip(cal["start_date"], cal["end_date"], strict=True):
            start, end = _gtfs_date(a), _gtfs_date(b)
            span = min((end - start).days, 400)
            days |= {start + timedelta(d) for d in range(span + 1)}
    if feed.has("calendar_dates.txt"):
        days |= {_gtfs_date(d) for d in feed.calendar_dates()["date"]}
    per_service = trips["service_id"].value_counts()

    def trips_on(d: date) -> int:
        return int(per_service.reindex(list(active_services(feed, d))).fillna(0).sum())

    best = busiest_weekday(days, trips_on)
    if best is None:
        raise ValidationError(f"{feed.path.name}: the feed has no weekday service")
    return best


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9æøå]+", "-", s.lower()).strip("-")


def read_hubs(
    path: Path, service_date: date | None = None
) -> tuple[gpd.GeoDataFrame, date, int, dict]:
    """Hubs of a feed as a WGS84 GeoDataFrame with hub columns; also the date and skip count."""
    feed = _Feed(path)
    try:
        return _read_hubs(feed, path, service_date)
    finally:
        feed.zip.close()


def _read_hubs(
    feed: _Feed, path: Path, service_date: date | None
) -> tuple[gpd.GeoDataFrame, date, int, dict]:
    stops = feed.read("stops.txt", ["stop_id", "stop_name", "stop_lat", "stop_lon"])
    routes = feed.read("routes.txt", ["route_id", "route_type"])
    trips = feed.read("trips.txt", ["route_id", "service_id", "trip_id"])
    st = feed.read("stop_times.txt", ["trip_id", "stop_id", "departure_time", "stop_sequence"])
    for col, default in (("location_type", "0"), ("parent_station", "")):
        if col not in stops.columns:
            stops[col] = default
    stops["location_type"] = stops["location_type"].str.strip().replace("", "0")
    stops = _coordinates(feed, stops)
    stations = stops[stops["location_type"] == "1"].set_index("stop_id")
    boarding = stops[stops["location_type"] == "0"].copy()
    has_parent = boarding["parent_station"].isin(stations.index)
    boarding["hub_key"] = np.where(
        has_parent, "station:" + boarding["parent_station"], "name:" + boarding["stop_name"]
    )
    hub_of_stop = boarding.set_index("stop_id")["hub_key"]

    day = service_date or representative_weekday(feed, trips)
    running = trips[trips["service_id"].isin(active_services(feed, day))]

    st = st.assign(seq=pd.to_numeric(st["stop_sequence"], errors="coerce"))
    last = st.groupby("trip_id")["seq"].transform("max")
    deps = st[st["seq"] < last]
    deps = deps.assign(hub=deps["stop_id"].map(hub_of_stop)).dropna(subset=["hub"])

    routes = routes.assign(
        mode=[route_mode(t) if str(t).strip().isdigit() else None for t in routes["route_type"]],
        label=[
            (r.get("route_short_name") or "").strip()
            or (r.get("route_long_name") or "").strip()
            or r["route_id"]
            for r in routes.to_dict("records")
        ],
    )
    trip_route = trips.set_index("trip_id")["route_id"]
    served = deps[["trip_id", "hub"]].drop_duplicates()
    served = served.assign(route_id=served["trip_id"].map(trip_route)).merge(
        routes[["route_id", "mode", "label"]], on="route_id", how="left"
    )

    day_deps = deps[deps["trip_id"].isin(running["trip_id"]).to_numpy()]
    if "direction_id" in trips.columns:
        direction = trips.set_index("trip_id")["direction_id"].str.strip().replace("", None)
        day_deps = day_deps.assign(direction=day_deps["trip_id"].map(direction))
    else:
        day_deps = day_deps.assign(direction=None)
    per_hour = departures_per_hour(
        pd.DataFrame(
            {
                "stop": day_deps["hub"].to_numpy(),
                "seconds": _seconds(day_deps["departure_time"]),
                "direction": day_deps["direction"].to_numpy(),
            }
        ),
        served["hub"].unique(),
    )

    rows, unsupported = [], 0
    for key, grp in served.groupby("hub"):
        n_bus = grp.loc[grp["mode"] == "bus", "route_id"].nunique()
        mode = hub_mode(grp["mode"].dropna().unique(), n_bus)
        if mode is None:
            unsupported += 1
            continue
        kind, ref = key.split(":", 1)
        if kind == "station":
            st_row = stations.loc[[ref]].iloc[0]  # the first, should an id repeat
            name, lon, lat = st_row["stop_name"], float(st_row["lon"]), float(st_row["lat"])
            hub_id = ID_PREFIX + ref
            nsr = ref if ref.startswith("NSR:StopPlace:") else None
        else:
            members = boarding[boarding["hub_key"] == key]
            name = ref
            lon = float(members["lon"].mean())
            lat = float(members["lat"].mean())
            hub_id = ID_PREFIX + _slug(ref)
            nsr = None
        rows.append(
            {
                "id": hub_id,
                "name": name,
                "mode": mode,
                "status": "existing",
                "lines": sorted(set(grp["label"].dropna()), key=natural_key),
                "departures_per_hour": per_hour[key],
                "nsr_id": nsr,
                "notes": (
                    f"From GTFS feed {path.name}: departures/hour = mean per direction "
                    f"{DAY_START_H:02d}–{DAY_END_H:02d} on {day.isoformat()} ({day:%A})."
                ),
                "geometry": shapely.Point(lon, lat),
            }
        )
    info = {}
    if feed.has("feed_info.txt"):
        fi = feed.read("feed_info.txt")
        if len(fi):
            info = {k: str(v).strip() for k, v in fi.iloc[0].items() if str(v).strip()}
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else None
    return gdf, day, unsupported, info


def import_gtfs(
    conn: psycopg.Connection,
    path: Path,
    options: GtfsOptions | None = None,
    progress: Progress | None = None,
) -> GtfsResult:
    """Create or update hubs from the GTFS zip at ``path`` in the caller's transaction."""
    options = options or GtfsOptions()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    report = progress or (lambda *_: None)
    report("reading", 0, None)
    gdf, day, unsupported, info = read_hubs(path, options.service_date)
    report("reading", 1, 1)
    if gdf is None:
        raise ValidationError(f"{path.name}: the feed has no stops served by rail, metro or bus")
    inside = region(conn, options.margin_m).contains(gdf.to_crs(STORAGE_SRID).geometry.values)
    outside = int((~inside).sum())
    gdf = gdf[inside].reset_index(drop=True)
    if gdf.empty:
        raise ValidationError(
            f"{path.name}: no hub of the feed lies within {options.margin_m:g} m of the "
            f"municipality ({outside} outside); nothing was imported"
        )
    prov = options.provenance
    publisher = info.get("feed_publisher_name")
    version = info.get("feed_version")
    feed_name = " ".join(x for x in (publisher, "GTFS", path.name, version and f"({version})") if x)
    defaults = ProvenanceDefaults(
        source=prov.source or feed_name,
        source_url=prov.source_url or info.get("feed_publisher_url"),
        licence=prov.licence,
        accuracy_m=prov.accuracy_m if prov.accuracy_m is not None else 10.0,
        verified=prov.verified,
        sample=prov.sample,
    )
    report("validating", 0, len(gdf))
    prepared = prepare(
        gdf,
        layer_spec("hubs"),
        region=region_for(conn, "hubs"),
        source_name=path.name,
        defaults=defaults,
    )
    result = write_layer(
        conn,
        prepared,
        replace=options.replace,
        replace_prefix=ID_PREFIX,
        actor=f"import-gtfs {path.name}",
        progress=progress,
    )
    return GtfsResult(path.name, day, len(gdf), outside, unsupported, result)
