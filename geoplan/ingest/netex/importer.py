"""``geoplan import-netex``: hubs and their stop places and quays from Nordic NeTEx.

Reads a file, folder or zip (:mod:`.sources`) as a stream (:mod:`.reader`), decides the counted
day (:mod:`.calendar`), builds hubs (:mod:`.hubs`), keeps those within ``margin_m`` of the
municipality, and writes them in the caller's transaction: the hubs through the same validation
and upsert as every other hub import, then their ``hub_stops``. Any error leaves the store as it
was. Ids are ``netex:<StopPlace id>``, so importing a newer export updates the same hubs;
``replace`` removes ``netex:`` hubs (and their stops) the feed no longer has, other hubs stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import region
from geoplan.ingest.departures import DEFAULT_MARGIN_M
from geoplan.ingest.netex.calendar import Calendar
from geoplan.ingest.netex.hubs import ID_PREFIX, plan_hubs
from geoplan.ingest.netex.reader import NetexData, read_netex
from geoplan.ingest.netex.sources import MAX_RATIO, MAX_UNCOMPRESSED_BYTES, Source
from geoplan.ingest.validation import ProvenanceDefaults, prepare, region_for
from geoplan.ingest.writer import Progress, WriteResult, write_layer
from geoplan.layers.spec import layer_spec

LICENCE = "NLOD"
"""Entur publishes the national stop register and all timetables under the Norwegian Licence
for Open Government Data; the files themselves do not name a licence."""
SHOW_IDS = 5

STOP_COLUMNS = (
    ("id", "text"),
    ("hub_id", "text"),
    ("parent_id", "text"),
    ("kind", "text"),
    ("name", "text"),
    ("public_code", "text"),
    ("transport_mode", "text"),
    ("stop_place_type", "text"),
    ("lines", "text[]"),
    ("departures_per_hour", "float8"),
    ("other_ids", "text[]"),
    ("kommunenummer", "text"),
    ("source", "text"),
    ("source_url", "text"),
    ("licence", "text"),
    ("accuracy_m", "float8"),
    ("verified", "bool"),
    ("sample", "bool"),
)


@dataclass
class NetexOptions:
    replace: bool = False
    margin_m: float = DEFAULT_MARGIN_M
    service_date: date | None = None
    include_unserved: bool = False
    provenance: ProvenanceDefaults = field(default_factory=ProvenanceDefaults)
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES
    max_ratio: float = MAX_RATIO


@dataclass
class NetexResult:
    feed: str
    service_date: date | None
    valid_from: date | None
    valid_to: date | None
    stop_places: int
    """StopPlaces read (all of the feed)."""
    quays: int
    journeys: int
    hubs: int
    """Hubs written (top stop places within the region)."""
    hub_stops: int
    """Stop places and quays written below those hubs."""
    outside: int
    unserved: int
    unsupported: int
    unplaced_stop_places: list[str]
    unplaced_quays: list[str]
    unlinked_calls: int
    licence: str
    write: WriteResult
    notes: list[str] = field(default_factory=list)

    @property
    def without_coordinates(self) -> int:
        return len(self.unplaced_stop_places) + len(self.unplaced_quays)


def _licence(data: NetexData) -> str:
    """``NLOD, © Entur/Ruter``: Entur for NSR stops, the networks (else authorities) named."""
    holders = []
    if any(sp.startswith("NSR:") for sp in data.stop_places):
        holders.append("Entur")
    holders += [h for h in (data.holders or data.authorities) if h not in holders]
    return f"{LICENCE}, © {'/'.join(holders)}" if holders else LICENCE


def _source(data: NetexData) -> str:
    valid = ""
    if data.valid_from or data.valid_to:
        a = data.valid_from.isoformat() if data.valid_from else "?"
        b = data.valid_to.isoformat() if data.valid_to else "?"
        valid = f", valid {a} – {b}"
    return f"NeTEx {data.feed}{valid}"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOW_IDS])
    return shown + (f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else "")


def import_netex(
    conn: psycopg.Connection,
    path: Path,
    options: NetexOptions | None = None,
    progress: Progress | None = None,
) -> NetexResult:
    """Create or update hubs and their hub stops from the NeTEx at ``path`` (caller's
    transaction: on any error nothing is written)."""
    options = options or NetexOptions()
    path = Path(path)
    with Source(
        path, max_bytes=options.max_uncompressed_bytes, max_ratio=options.max_ratio
    ) as source:
        data = read_netex(source, progress)
    if not data.stop_places:
        raise ValidationError(
            f"{path.name}: no StopPlace in the data; a timetable needs the stop register it "
            "refers to (Entur's _stops.xml or _common*.xml)",
            field="StopPlace",
        )
    calendar = Calendar(data)
    day = None  # a stop register without journeys: departures stay unknown
    if data.journey_count:
        day = options.service_date or calendar.representative_weekday()
    plan = plan_hubs(data, calendar, day, include_unserved=options.include_unserved)
    if not plan.hubs:
        raise ValidationError(
            f"{path.name}: no StopPlace of the data becomes a hub ({plan.unserved} without "
            f"departures, {plan.unsupported} served only by modes other than rail, metro and "
            f"bus, {len(plan.unplaced_stop_places)} without coordinates); nothing was imported",
            field="StopPlace",
        )

    hubs = gpd.GeoDataFrame(
        [{k: v for k, v in h.items() if k not in ("lon", "lat")} for h in plan.hubs],
        geometry=shapely.points([h["lon"] for h in plan.hubs], [h["lat"] for h in plan.hubs]),
        crs=4326,
    )
    area = region(conn, options.margin_m)
    inside = area.contains(hubs.to_crs(STORAGE_SRID).geometry.values)
    outside = int((~inside).sum())
    hubs = hubs[inside].reset_index(drop=True)
    if hubs.empty:
        raise ValidationError(
            f"{path.name}: no StopPlace lies within {options.margin_m:g} m of "
            f"{area.municipality.name} ({outside} outside, e.g. {plan.hubs[0]['nsr_id']} "
            f"{plan.hubs[0]['name']}); is the data for another municipality? "
            "Nothing was imported",
            field="StopPlace",
        )

    prov = options.provenance
    licence = prov.licence or _licence(data)
    defaults = ProvenanceDefaults(
        source=prov.source or _source(data),
        source_url=prov.source_url,
        licence=licence,
        accuracy_m=prov.accuracy_m,
        verified=prov.verified,
        sample=prov.sample,
    )
    if prov.accuracy_m is not None:
        hubs["accuracy_m"] = prov.accuracy_m
    derived = int(hubs.pop("derived_position").sum())
    report = progress or (lambda *_: None)
    report("validating", 0, len(hubs))
    prepared = prepare(
        hubs,
        layer_spec("hubs"),
        region=region_for(conn, "hubs"),
        source_name=path.name,
        defaults=defaults,
    )
    report("validating", len(hubs), len(hubs))
    result = write_layer(
        conn,
        prepared,
        replace=options.replace,
        replace_prefix=ID_PREFIX,
        actor=f"import-netex {path.name}",
        progress=progress,
    )
    kept = set(hubs["id"])
    stops = [s for s in plan.stops if s["hub_id"] in kept]
    _write_stops(conn, stops, kept, defaults)

    notes = []
    if options.service_date and not data.journey_count:
        notes.append("the data has no journeys: --date was not used, departures are unknown")
    if data.empty_documents:
        notes.append(f"empty documents skipped: {_ids(data.empty_documents)}")
    if plan.unplaced_stop_places or plan.unplaced_quays:
        notes.append(
            f"not placed (no coordinates): {len(plan.unplaced_stop_places)} stop places "
            f"{_ids(plan.unplaced_stop_places)}; {len(plan.unplaced_quays)} quays "
            f"{_ids(plan.unplaced_quays)}".replace(" ; ", "; ")
        )
    if derived:
        notes.append(
            f"{derived} of the hubs placed at the mean of their quays "
            "(their stop places have no coordinates of their own)"
        )
    if plan.unlinked_calls:
        notes.append(
            f"{plan.unlinked_calls} calls of journeys could not be linked to a stop (missing "
            "JourneyPattern, PassengerStopAssignment or Quay) and were not counted"
        )
    if day is not None and data.journey_count and not plan.departures_on_day:
        notes.append(f"no journey of the data runs on {day.isoformat()}: departures are 0")
    twins = conn.execute(
        "SELECT id FROM hubs WHERE nsr_id = ANY(%s) AND left(id, %s) <> %s ORDER BY id",
        (list(hubs["nsr_id"]), len(ID_PREFIX), ID_PREFIX),
    ).fetchall()
    if twins:
        notes.append(
            f"{len(twins)} hubs from another source have the same stop place id "
            f"({_ids([t[0] for t in twins])}): the stop now appears twice on maps and in "
            "proximity; keep one source"
        )
    return NetexResult(
        feed=path.name,
        service_date=day,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        stop_places=len(data.stop_places),
        quays=len(data.quays),
        journeys=data.journey_count,
        hubs=len(hubs),
        hub_stops=len(stops),
        outside=outside,
        unserved=plan.unserved,
        unsupported=plan.unsupported,
        unplaced_stop_places=plan.unplaced_stop_places,
        unplaced_quays=plan.unplaced_quays,
        unlinked_calls=plan.unlinked_calls,
        licence=licence,
        write=result,
        notes=notes,
    )


def _write_stops(
    conn: psycopg.Connection, stops: list[dict], hub_ids: set[str], prov: ProvenanceDefaults
) -> None:
    """Replace the hub stops of ``hub_ids`` with ``stops`` (binary COPY; positions to 25833).

    A stop that an earlier import put under another hub moves to the hub the data names now.
    """
    conn.execute(
        "DELETE FROM hub_stops WHERE hub_id = ANY(%s) OR id = ANY(%s)",
        (sorted(hub_ids), [s["id"] for s in stops]),
    )
    if not stops:
        return
    pts = gpd.GeoSeries(
        shapely.points([s["lon"] for s in stops], [s["lat"] for s in stops]), crs=4326
    ).to_crs(STORAGE_SRID)
    fill = {
        "source": prov.source,
        "source_url": prov.source_url,
        "licence": prov.licence,
        "verified": bool(prov.verified),
        "sample": bool(prov.sample),
    }
    names = [c for c, _ in STOP_COLUMNS]
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY hub_stops ({', '.join(names)}, geom) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([t for _, t in STOP_COLUMNS] + ["bytea"])
        for s, wkb in zip(stops, shapely.to_wkb(pts.values, include_srid=True), strict=True):
            row = {**fill, **s}
            if prov.accuracy_m is not None:
                row["accuracy_m"] = prov.accuracy_m
            copy.write_row([row.get(c) for c in names] + [wkb])
