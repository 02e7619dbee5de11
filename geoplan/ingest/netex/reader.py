"""Streamed reading of Nordic NeTEx: stops, the links from journeys to stops, the calendar, and
the journeys' calls folded into counts as they stream by.

Memory grows with the number of stops, not with the size of the files. Each record (a
StopPlace, a JourneyPattern, a ServiceJourney...) is read when its end tag arrives and then
cleared, together with everything before it in its parent (``lxml.etree.iterparse``). The
records a stop needs (StopPlaces and Quays, PassengerStopAssignments, JourneyPatterns, Routes,
Lines, DayTypes and their assignments) are kept; ServiceJourneys — the bulk of a timetable —
are not: each call of a journey at a stop is added to a counter keyed by (stop point in its
journey pattern, the journey's day types, its line, the hour of the call). Ten times the
journeys on the same patterns and days give the same keys with larger counts. The day that is
counted, which stop point is a pattern's last, and which quay a stop point means are all decided
after the last file is read, so the order of the files does not matter (Entur's zips put the
shared data first; a folder sorts line files before ``_shared_data.xml``).

XML is parsed without entity expansion, DTD loading or network access, and without lxml's
``huge_tree`` allowance; a document that declares a DOCTYPE is refused before parsing.
"""

from __future__ import annotations

import re
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from lxml import etree

from geoplan.errors import ValidationError
from geoplan.ingest.netex.sources import Document, Source

NETEX_NS = "http://www.netex.org.uk/netex"
GML_NS = "http://www.opengis.net/gml/3.2"
NORDIC_PROFILE = "NO-NeTEx"
"""What the ``version`` of a Nordic profile document names (``1.07:NO-NeTEx-networktimetable:1.1``);
a version without a profile part (``any``, ``1.0``, as NSR's stop exports write) is accepted."""
N = "{" + NETEX_NS + "}"
LAST_HOUR = 127
"""Calls later than this many hours after the journey's day (day offsets) are binned here."""
_HOUR_MASK, _LINE_SHIFT, _LINE_MASK = 0x7F, 7, (1 << 20) - 1
_CAL_SHIFT, _CAL_MASK = 27, (1 << 24) - 1
_POINT_SHIFT = 51

Progress = Callable[[str, int, int | None], None]


@dataclass(slots=True)
class StopPlace:
    id: str
    name: str | None
    lonlat: tuple[float, float] | None
    parent: str | None
    mode: str | None
    type: str | None
    kommunenummer: str | None
    other_ids: list[str]
    quays: list[str]
    version: str | None = None


@dataclass(slots=True)
class Quay:
    id: str
    stop_place: str
    name: str | None
    public_code: str | None
    lonlat: tuple[float, float] | None
    other_ids: list[str]


@dataclass(slots=True)
class Assignment:
    """A DayTypeAssignment: a day type runs (or, ``available=False``, does not run) on a date,
    an operating day or in an operating period."""

    day_type: str
    period: str | None
    operating_day: str | None
    date: date | None
    available: bool


@dataclass
class NetexData:
    """What the documents say, reduced to what hubs and departures need."""

    feed: str
    stop_places: dict[str, StopPlace] = field(default_factory=dict)
    quays: dict[str, Quay] = field(default_factory=dict)
    stop_assignments: dict[str, str] = field(default_factory=dict)
    """ScheduledStopPoint id → Quay id (or StopPlace id where no quay is given)."""
    lines: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Line id → (label: public code, else name, else id; transport mode)."""
    routes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """Route id → (line id, direction: DirectionType, else DirectionRef)."""
    patterns: dict[str, tuple[str | None, str | None, int]] = field(default_factory=dict)
    """JourneyPattern id → (route id, line id given on the pattern, order of its last stop)."""
    stop_points: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """StopPointInJourneyPattern id → (journey pattern id, ScheduledStopPoint id, order)."""
    day_types: dict[str, frozenset[int] | None] = field(default_factory=dict)
    """DayType id → weekdays (0 = Monday) it is limited to; None: not limited."""
    periods: dict[str, tuple[date, date, str | None]] = field(default_factory=dict)
    """OperatingPeriod id → (from, to, UIC valid-day bits or None)."""
    operating_days: dict[str, date] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    dated_journeys: list[tuple[str, str]] = field(default_factory=list)
    """(ServiceJourney id, OperatingDay id) of DatedServiceJourneys that are not cancelled."""
    calendars: list[tuple[str, ...]] = field(default_factory=list)
    """Calendar keys by index: a journey's sorted DayType ids, or ``("#journey", id)`` for a
    journey without day types (it runs on the days of its DatedServiceJourneys)."""
    journeys: Counter = field(default_factory=Counter)
    """Calendar index → number of ServiceJourneys."""
    calls: Counter = field(default_factory=Counter)
    """Packed (stop point index, calendar index, line index, hour) → number of calls (one int
    per key rather than a tuple: a third of the memory); :meth:`iter_calls` unpacks."""
    stop_point_ids: list[str] = field(default_factory=list)
    line_ids: list[str | None] = field(default_factory=lambda: [None])
    calls_without_time: int = 0
    valid_from: date | None = None
    valid_to: date | None = None
    holders: list[str] = field(default_factory=list)
    """Who the data is from: Network names, else Authority names (for the licence line)."""
    authorities: list[str] = field(default_factory=list)
    documents: int = 0
    empty_documents: list[str] = field(default_factory=list)

    @property
    def journey_count(self) -> int:
        return sum(self.journeys.values())

    def iter_calls(self) -> Iterator[tuple[str, int, str | None, int, int]]:
        """(StopPointInJourneyPattern id, calendar index, line id or None, hour, calls)."""
        points, lines = self.stop_point_ids, self.line_ids
        for key, n in self.calls.items():
            yield (
                points[key >> _POINT_SHIFT],
                (key >> _CAL_SHIFT) & _CAL_MASK,
                lines[(key >> _LINE_SHIFT) & _LINE_MASK],
                key & _HOUR_MASK,
                n,
            )


class _Reader:
    """Reads one document after another into a :class:`NetexData`."""

    def __init__(self, data: NetexData):
        self.data = data
        self._calendar_index: dict[tuple[str, ...], int] = {}
        self._stop_point_index: dict[str, int] = {}
        self._line_index: dict[str | None, int] = {None: 0}
        self.doc = ""
        self.saw_root = False
        self.handlers: dict[str, Callable[[etree._Element], None]] = {
            N + "StopPlace": self.stop_place,
            N + "PassengerStopAssignment": self.stop_assignment,
            N + "Line": self.line,
            N + "FlexibleLine": self.line,
            N + "Route": self.route,
            N + "JourneyPattern": self.journey_pattern,
            N + "ServiceJourneyPattern": self.journey_pattern,
            N + "DayType": self.day_type,
            N + "OperatingPeriod": self.operating_period,
            N + "UicOperatingPeriod": self.operating_period,
            N + "OperatingDay": self.operating_day,
            N + "DayTypeAssignment": self.day_type_assignment,
            N + "ServiceJourney": self.service_journey,
            N + "DatedServiceJourney": self.dated_journey,
            N + "Network": self.network,
            N + "Authority": self.authority,
            N + "validityConditions": self.validity,
        }
        # Records read for nothing but released as soon as they end, so large collections a
        # hub does not need (notices, links, interchanges) never pile up in memory.
        self.released = {
            N + t
            for t in (
                "ScheduledStopPoint",
                "RoutePoint",
                "ServiceLink",
                "RouteLink",
                "DestinationDisplay",
                "Notice",
                "NoticeAssignment",
                "DeadRun",
                "ServiceJourneyInterchange",
                "Interchange",
                "TopographicPlace",
                "TariffZone",
                "GroupOfStopPlaces",
                "Parking",
                "SiteFrame",
                "ServiceFrame",
                "TimetableFrame",
                "ServiceCalendarFrame",
                "ResourceFrame",
                "GeneralFrame",
                "VehicleScheduleFrame",
                "InfrastructureFrame",
                "CompositeFrame",
            )
        }
        self.tags = ["{*}PublicationDelivery", *self.handlers, *self.released]

    # -- the document loop ---------------------------------------------------------------------
    def read(self, doc: Document, stream: IO[bytes]) -> None:
        self.doc = doc.name
        parser = etree.iterparse(
            stream,
            events=("start", "end"),
            tag=self.tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            collect_ids=False,
            remove_comments=True,
            remove_pis=True,
        )
        root_checked = self.saw_root = False
        for event, elem in parser:
            if event == "start":
                if not root_checked and elem.getparent() is None:
                    self._check_root(elem)
                    root_checked = self.saw_root = True
                continue
            handler = self.handlers.get(elem.tag)
            if handler is not None:
                if handler(elem) is False:
                    continue  # not a record here (e.g. validityConditions of a stop place)
            elif elem.tag not in self.released:
                continue
            _release(elem)
        root = parser.root
        if root is None or not root_checked:
            found = _qname(root.tag) if root is not None else "nothing"
            raise ValidationError(
                f"{self.doc}: root element is {found}, not NeTEx's "
                f"{{{NETEX_NS}}}PublicationDelivery",
                field="path",
            )
        self.data.documents += 1

    def _check_root(self, elem: etree._Element) -> None:
        if elem.tag != N + "PublicationDelivery":
            raise ValidationError(
                f"{self.doc}: root element {_qname(elem.tag)} is not in the NeTEx namespace "
                f"{NETEX_NS}",
                field="path",
            )
        version = elem.get("version") or ""
        if ":" in version and NORDIC_PROFILE not in version:
            raise ValidationError(
                f"{self.doc}: PublicationDelivery version {version!r} is not the Nordic NeTEx "
                f"profile ({NORDIC_PROFILE}-...)",
                field="path",
            )

    def _fail(self, elem: etree._Element, what: str) -> ValidationError:
        tag = _qname(elem.tag)
        ident = elem.get("id")
        where = f"{tag} {ident}" if ident else f"{tag} (line {elem.sourceline})"
        return ValidationError(f"{self.doc}: {where}: {what}", field=tag)

    # -- stops ---------------------------------------------------------------------------------
    def stop_place(self, e: etree._Element) -> None:
        sp_id = e.get("id")
        if not sp_id:
            raise self._fail(e, "has no id")
        old = self.data.stop_places.get(sp_id)
        version = e.get("version")
        if old is not None:
            if _newer(old.version, version):
                return  # an older version of a stop place listed twice
            for q in old.quays:  # the newer version replaces the older one, quays and all
                self.data.quays.pop(q, None)
        parent = e.find(N + "ParentSiteRef")
        topo = e.find(N + "TopographicPlaceRef")
        quay_ids = []
        for q in e.iterfind(f"{N}quays/{N}Quay"):
            q_id = q.get("id")
            if not q_id:
                raise self._fail(q, f"in stop place {sp_id} has no id")
            self.data.quays[q_id] = Quay(
                id=q_id,
                stop_place=sp_id,
                name=_text(q, "Name"),
                public_code=_text(q, "PublicCode"),
                lonlat=self._location(q),
                other_ids=_imported_ids(q),
            )
            quay_ids.append(q_id)
        self.data.stop_places[sp_id] = StopPlace(
            id=sp_id,
            name=_text(e, "Name"),
            lonlat=self._location(e),
            parent=parent.get("ref") if parent is not None else None,
            mode=_text(e, "TransportMode"),
            type=_text(e, "StopPlaceType"),
            kommunenummer=_kommunenummer(topo.get("ref") if topo is not None else None),
            other_ids=_imported_ids(e),
            quays=quay_ids,
            version=version,
        )

    def _location(self, e: etree._Element) -> tuple[float, float] | None:
        loc = e.find(f"{N}Centroid/{N}Location")
        if loc is None:
            return None
        lon, lat = loc.findtext(N + "Longitude"), loc.findtext(N + "Latitude")
        if lon is None and lat is None:
            pos = loc.find("{" + GML_NS + "}pos")
            if pos is None or not (pos.text or "").strip():
                return None
            srs = pos.get("srsName") or loc.get("srsName")
            if srs and not _is_wgs84(srs):
                raise self._fail(
                    e, f"gml:pos in {srs}; only WGS84 (EPSG:4326) positions are supported"
                )
            parts = pos.text.split()
            # gml:pos in EPSG:4326 is latitude first
            lat, lon = (parts + [None, None])[:2]
        try:
            x, y = float(lon), float(lat)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._fail(
                e, f"Location is not a longitude/latitude pair ({lon!r}, {lat!r})"
            ) from None
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise self._fail(e, f"Location ({x}, {y}) is not a longitude/latitude in degrees")
        return (x, y)

    def stop_assignment(self, e: etree._Element) -> None:
        ssp = _ref(e, "ScheduledStopPointRef")
        target = _ref(e, "QuayRef") or _ref(e, "StopPlaceRef")
        if ssp and target:
            self.data.stop_assignments[sys.intern(ssp)] = sys.intern(target)

    # -- network -------------------------------------------------------------------------------
    def line(self, e: etree._Element) -> None:
        line_id = e.get("id")
        if line_id:
            label = _text(e, "PublicCode") or _text(e, "Name") or line_id
            self.data.lines[line_id] = (label, _text(e, "TransportMode"))

    def route(self, e: etree._Element) -> None:
        route_id = e.get("id")
        if route_id:
            direction = _text(e, "DirectionType") or _ref(e, "DirectionRef")
            self.data.routes[sys.intern(route_id)] = (_ref(e, "LineRef"), direction)

    def journey_pattern(self, e: etree._Element) -> None:
        jp_id = e.get("id")
        if not jp_id:
            raise self._fail(e, "has no id")
        jp_id = sys.intern(jp_id)
        last = -1
        for i, sp in enumerate(e.iterfind(f"{N}pointsInSequence/{N}StopPointInJourneyPattern")):
            sp_id = sp.get("id")
            ssp = _ref(sp, "ScheduledStopPointRef")
            if not sp_id or not ssp:
                raise self._fail(sp, f"in journey pattern {jp_id} lacks an id or a stop point")
            try:
                order = int(sp.get("order") or i + 1)
            except ValueError:
                raise self._fail(sp, f"order {sp.get('order')!r} is not a number") from None
            self.data.stop_points[sp_id] = (jp_id, sys.intern(ssp), order)
            last = max(last, order)
        line = _ref(e, "LineRef") or _ref(e, "FlexibleLineRef")
        self.data.patterns[jp_id] = (_ref(e, "RouteRef"), line, last)

    def network(self, e: etree._Element) -> None:
        name = _text(e, "Name")
        if name and name not in self.data.holders:
            self.data.holders.append(name)

    def authority(self, e: etree._Element) -> None:
        name = _text(e, "Name")
        if name and name not in self.data.authorities:
            self.data.authorities.append(name)

    def validity(self, e: etree._Element) -> bool:
        parent = e.getparent()
        if parent is None or not parent.tag.endswith("Frame"):
            return False
        for cond in e:
            start = self._date(cond, "FromDate")
            end = self._date(cond, "ToDate")
            if start and (self.data.valid_from is None or start < self.data.valid_from):
                self.data.valid_from = start
            if end and (self.data.valid_to is None or end > self.data.valid_to):
                self.data.valid_to = end
        return True

    # -- calendar ------------------------------------------------------------------------------
    def day_type(self, e: etree._Element) -> None:
        dt_id = e.get("id")
        if not dt_id:
            return
        days: set[int] = set()
        limited = False
        for dow in e.iterfind(f"{N}properties/{N}PropertyOfDay/{N}DaysOfWeek"):
            for word in (dow.text or "").split():
                if word not in DAYS_OF_WEEK:
                    raise self._fail(e, f"unknown DaysOfWeek {word!r}")
                days |= DAYS_OF_WEEK[word]
                limited = True
        self.data.day_types[dt_id] = frozenset(days) if limited else None

    def operating_period(self, e: etree._Element) -> None:
        op_id = e.get("id")
        start, end = self._date(e, "FromDate"), self._date(e, "ToDate")
        if not op_id or start is None or end is None:
            raise self._fail(e, "needs an id, a FromDate and a ToDate")
        bits = _text(e, "ValidDayBits")
        if bits is not None and set(bits) - {"0", "1"}:
            raise self._fail(e, f"ValidDayBits {bits[:20]!r}... is not made of 0 and 1")
        self.data.periods[op_id] = (start, end, bits)

    def operating_day(self, e: etree._Element) -> None:
        day = self._date(e, "CalendarDate")
        if e.get("id") and day is not None:
            self.data.operating_days[e.get("id")] = day

    def day_type_assignment(self, e: etree._Element) -> None:
        dt = _ref(e, "DayTypeRef")
        if not dt:
            raise self._fail(e, "has no DayTypeRef")
        available = (_text(e, "isAvailable") or "true").lower() != "false"
        self.data.assignments.append(
            Assignment(
                day_type=dt,
                period=_ref(e, "OperatingPeriodRef") or _ref(e, "UicOperatingPeriodRef"),
                operating_day=_ref(e, "OperatingDayRef"),
                date=self._date(e, "Date"),
                available=available,
            )
        )

    def _date(self, e: etree._Element, tag: str) -> date | None:
        text = _text(e, tag)
        if text is None:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise self._fail(e, f"{tag} {text!r} is not a date") from None

    # -- journeys ------------------------------------------------------------------------------
    def service_journey(self, e: etree._Element) -> None:
        data = self.data
        sj_id = e.get("id") or ""
        day_types = tuple(sorted(r.get("ref") for r in e.iterfind(f"{N}dayTypes/{N}DayTypeRef")))
        key = day_types or ("#journey", sj_id)
        cal = self._calendar_index.get(key)
        if cal is None:
            cal = self._calendar_index[key] = len(data.calendars)
            if cal > _CAL_MASK:
                raise self._fail(e, "more distinct day-type sets than geoplan can count")
            data.calendars.append(key)
        data.journeys[cal] += 1
        line = self._line(e, _ref(e, "LineRef") or _ref(e, "FlexibleLineRef"))
        head = (cal << _CAL_SHIFT) | (line << _LINE_SHIFT)
        calls = data.calls
        for tpt in e.iterfind(f"{N}passingTimes/{N}TimetabledPassingTime"):
            point = dep = arr = None
            dep_off = arr_off = 0
            for child in tpt:
                tag = child.tag
                if tag == _SPIJP_REF:
                    point = child.get("ref")
                elif tag == _DEPARTURE:
                    dep = child.text
                elif tag == _ARRIVAL:
                    arr = child.text
                elif tag == _DEPARTURE_OFFSET:
                    dep_off = self._offset(e, child.text)
                elif tag == _ARRIVAL_OFFSET:
                    arr_off = self._offset(e, child.text)
            if point is None:
                raise self._fail(e, "a TimetabledPassingTime has no StopPointInJourneyPatternRef")
            time, offset = (dep, dep_off) if dep else (arr, arr_off)
            if not time:
                data.calls_without_time += 1
                continue
            hour = self._hour(e, time) + 24 * offset
            idx = self._stop_point_index.get(point)
            if idx is None:
                idx = self._stop_point_index[point] = len(data.stop_point_ids)
                data.stop_point_ids.append(point)
            calls[(idx << _POINT_SHIFT) | head | min(max(hour, 0), LAST_HOUR)] += 1

    def _line(self, e: etree._Element, ref: str | None) -> int:
        idx = self._line_index.get(ref)
        if idx is None:
            idx = self._line_index[ref] = len(self.data.line_ids)
            if idx > _LINE_MASK:
                raise self._fail(e, "more lines than geoplan can count")
            self.data.line_ids.append(ref)
        return idx

    def _hour(self, e: etree._Element, text: str) -> int:
        t = text.strip()
        if len(t) == 8 and t[2] == ":" and t[5] == ":" and t[:2].isdigit():
            hour = int(t[:2])
            if t[3:5].isdigit() and t[6:8].isdigit() and t[3] < "6" and t[6] < "6" and hour < 48:
                return hour
        try:
            h, m, s = t[:8].split(":")
            hour, minute, second = int(h), int(m), int(s)
        except ValueError:
            raise self._fail(e, f"passing time {t!r} is not a time like 07:30:00") from None
        if not (0 <= minute < 60 and 0 <= second < 61 and 0 <= hour < 48):
            raise self._fail(e, f"passing time {t!r} is not a time like 07:30:00")
        return hour

    def _offset(self, e: etree._Element, text: str | None) -> int:
        try:
            return int((text or "0").strip())
        except ValueError:
            raise self._fail(e, f"day offset {text!r} is not a whole number") from None

    def dated_journey(self, e: etree._Element) -> None:
        sj = _ref(e, "ServiceJourneyRef")
        day = _ref(e, "OperatingDayRef")
        alteration = (_text(e, "ServiceAlteration") or "").lower()
        if sj and day and alteration not in ("cancellation", "replaced"):
            self.data.dated_journeys.append((sj, day))


DAYS_OF_WEEK: dict[str, frozenset[int]] = {
    "Monday": frozenset({0}),
    "Tuesday": frozenset({1}),
    "Wednesday": frozenset({2}),
    "Thursday": frozenset({3}),
    "Friday": frozenset({4}),
    "Saturday": frozenset({5}),
    "Sunday": frozenset({6}),
    "Weekdays": frozenset(range(5)),
    "Weekend": frozenset({5, 6}),
    "Everyday": frozenset(range(7)),
    "none": frozenset(),
}
_SPIJP_REF = N + "StopPointInJourneyPatternRef"
_DEPARTURE = N + "DepartureTime"
_ARRIVAL = N + "ArrivalTime"
_DEPARTURE_OFFSET = N + "DepartureDayOffset"
_ARRIVAL_OFFSET = N + "ArrivalDayOffset"


def _release(elem: etree._Element) -> None:
    """Free a record read (or skipped): its content and the finished siblings before it."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _qname(tag: str) -> str:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return f"<{local}> (namespace {ns})" if ns != NETEX_NS else f"<{local}>"
    return f"<{tag}> (no namespace)"


def _text(e: etree._Element, tag: str) -> str | None:
    t = e.findtext(N + tag)
    if t is None:
        return None
    t = t.strip()
    return t or None


def _ref(e: etree._Element, tag: str) -> str | None:
    r = e.find(N + tag)
    return r.get("ref") if r is not None else None


def _imported_ids(e: etree._Element) -> list[str]:
    out: list[str] = []
    for kv in e.iterfind(f"{N}keyList/{N}KeyValue"):
        if (kv.findtext(N + "Key") or "").strip() == "imported-id":
            out += [v.strip() for v in (kv.findtext(N + "Value") or "").split(",") if v.strip()]
    return out


def _kommunenummer(ref: str | None) -> str | None:
    """``KVE:TopographicPlace:0301`` → ``0301`` (a four-digit municipality number only)."""
    if not ref:
        return None
    tail = ref.rsplit(":", 1)[-1]
    return tail if len(tail) == 4 and tail.isdigit() else None


def _newer(old: str | None, new: str | None) -> bool:
    """Whether version ``old`` is newer than ``new`` (numeric versions; else the later wins)."""
    try:
        return int(old or "") > int(new or "")
    except ValueError:
        return False


def _is_wgs84(srs: str) -> bool:
    s = srs.upper().replace("::", ":")
    return s.endswith(("EPSG:4326", "EPSG/0/4326", "4326", "CRS84", "WGS84"))


def read_netex(source: Source, progress: Progress | None = None) -> NetexData:
    """Read every document of ``source`` (see the module doc); ``progress`` gets MB read."""
    data = NetexData(feed=source.path.name)
    reader = _Reader(data)
    total = source.total_bytes
    done = 0
    report = progress or (lambda *_: None)
    mb = 1024 * 1024
    report("reading MB", 0, max(total // mb, 1))
    for doc in source:
        base = done
        try:
            if _has_doctype(doc):
                raise ValidationError(
                    f"{doc.name}: declares a DOCTYPE; NeTEx documents have none, and geoplan "
                    "reads no DTDs or entities (refused as possibly unsafe)",
                    field="path",
                )
            with doc.open() as raw:
                stream = _Counting(raw, lambda n, b=base: report("reading MB", (b + n) // mb, None))
                reader.read(doc, stream)
        except etree.XMLSyntaxError as exc:
            if not reader.saw_root and _is_empty(doc):
                data.empty_documents.append(doc.name)  # Entur's zips carry an empty blocks.xml
                continue
            msg = (exc.msg or str(exc)).strip()
            hint = " (truncated?)" if "premature end" in msg.lower() else ""
            raise ValidationError(
                f"{doc.name}: not well-formed XML{hint} at line {exc.lineno}: {msg}",
                field="path",
            ) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ValidationError(
                f"{doc.name}: damaged in the zip ({exc}); truncated download?", field="path"
            ) from exc
        except OSError as exc:
            raise ValidationError(f"{doc.name}: cannot be read ({exc})", field="path") from exc
        done += doc.size
        report("reading MB", done // mb, max(total // mb, 1))
    return data


def _has_doctype(doc: Document) -> bool:
    """Whether the prolog of ``doc`` (before its first element) declares a DOCTYPE.

    Refused outright rather than left to the parser: how libxml2 treats entities it is told not
    to expand differs between versions, a refusal does not."""
    with doc.open() as f:
        head = f.read(65536)
    first = re.search(rb"<[A-Za-z_]", head)
    return b"<!DOCTYPE" in (head[: first.start()] if first else head)


def _is_empty(doc: Document) -> bool:
    """Whether ``doc`` holds nothing but an XML declaration and blanks."""
    with doc.open() as f:
        head = f.read(4096)
    text = re.sub(rb"^\xef\xbb\xbf|<\?xml[^>]*\?>", b"", head)
    return len(head) < 4096 and not text.strip()


class _Counting:
    """A read-only byte stream that tells ``seen(n)`` how many bytes have been read so far."""

    STEP = 4 * 1024 * 1024

    def __init__(self, raw: IO[bytes], seen: Callable[[int], None]):
        self.raw = raw
        self.seen = seen
        self.n = 0
        self.next_report = self.STEP

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.n += len(chunk)
        if self.n >= self.next_report:
            self.seen(self.n)
            self.next_report = self.n + self.STEP
        return chunk
