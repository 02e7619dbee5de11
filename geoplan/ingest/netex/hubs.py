"""From a stop register and a timetable to geoplan hubs: which stop place is a hub, where it
is, what mode it has and how often something leaves it.

**A hub is a top stop place**: a StopPlace without a parent in the data (NSR's multimodal
parent such as *Jernbanetorget*, or a stop place that has no parent). Its mono-modal child stop
places and all quays stay below it in ``hub_stops`` (see docs/netex.md for why: one marker, one
catchment and one nearest-hub answer per place a traveller names, while nothing of the register
is lost). Every departure at a quay or child stop place counts for its hub.

- **Position**: the stop place's own centroid; a stop place without one (Ruter's 2017 exports
  give coordinates only for quays) is placed at the mean of its placed quays and child stop
  places. A stop place or quay with no position of its own and nothing below it to derive one
  from is **not placed**: it is counted and reported, never guessed.
- **Accuracy** (``accuracy_m``): how far a traveller may board from the point shown — the
  distance to the hub's furthest quay, at least :data:`QUAY_ACCURACY_M`.
- **Mode**: :func:`geoplan.ingest.departures.hub_mode` over the modes of the lines departing
  from the hub *and* the modes the stop register gives its stop places (``TransportMode``, else
  ``StopPlaceType``): the register knows a metro station as one even when a file holds only the
  trams that stop there. A register ``busStation`` is a ``bus_terminal``.
- **Departures per hour**: the shared definition of :mod:`geoplan.ingest.departures`, at the hub
  and at each child stop place and quay. A call is a departure unless it is its journey
  pattern's last stop point.
- **Which stop places**: when the data has journeys, those with at least one departure (as the
  GTFS import keeps only served stops; ``include_unserved`` keeps the rest, without a
  frequency); a stop register without journeys gives every stop place, departures unknown.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from geoplan.ingest.departures import (
    DAY_END_H,
    DAY_START_H,
    departures_per_hour,
    hub_mode,
    natural_key,
)
from geoplan.ingest.netex.calendar import Calendar
from geoplan.ingest.netex.reader import NetexData, Quay, StopPlace

ID_PREFIX = "netex:"
QUAY_ACCURACY_M = 10.0
"""Accuracy of a quay's own position (NSR places quays at the boarding point)."""

MODES: dict[str, str] = {
    "rail": "rail",
    "metro": "metro",
    "bus": "bus",
    "coach": "bus",
    "trolleyBus": "bus",
}
"""NeTEx transport modes that are geoplan modes (others — tram, water, air... — are not)."""
STOP_PLACE_TYPE_MODES: dict[str, str] = {
    "railStation": "rail",
    "metroStation": "metro",
    "busStation": "bus",
    "coachStation": "bus",
    "onstreetBus": "bus",
}


@dataclass
class HubPlan:
    """The hubs and hub stops a feed gives, before the region check; and what was left out.

    Hub rows carry ``lon``/``lat`` (WGS84) and ``derived_position`` (placed from its quays)
    besides the hub columns."""

    day: date | None
    hubs: list[dict] = field(default_factory=list)
    stops: list[dict] = field(default_factory=list)
    unplaced_stop_places: list[str] = field(default_factory=list)
    unplaced_quays: list[str] = field(default_factory=list)
    unserved: int = 0
    unsupported: int = 0
    unlinked_calls: int = 0
    departures_on_day: int = 0


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two lon/lat points (equirectangular: exact enough within a stop place)."""
    lat = math.radians((a[1] + b[1]) / 2)
    dx = (b[0] - a[0]) * 111_320.0 * math.cos(lat)
    dy = (b[1] - a[1]) * 110_574.0
    return math.hypot(dx, dy)


class _Tree:
    """Parents, children and derived positions of the stop places of a feed."""

    def __init__(self, data: NetexData):
        self.data = data
        self.children: dict[str, list[str]] = defaultdict(list)
        self._root: dict[str, str] = {}
        for sp in data.stop_places.values():
            if sp.parent and sp.parent in data.stop_places and sp.parent != sp.id:
                self.children[sp.parent].append(sp.id)
        self.position: dict[str, tuple[float, float] | None] = {}
        self.derived: set[str] = set()

    def root(self, sp_id: str) -> str:
        hit = self._root.get(sp_id)
        if hit is not None:
            return hit
        seen = [sp_id]
        cur = sp_id
        while True:
            parent = self.data.stop_places[cur].parent
            if not parent or parent not in self.data.stop_places or parent in seen:
                break
            cur = parent
            seen.append(cur)
        for s in seen:
            self._root[s] = cur
        return cur

    def descendants(self, sp_id: str) -> list[str]:
        out, todo = [], list(self.children.get(sp_id, ()))
        while todo:
            c = todo.pop(0)
            if c in out or c == sp_id:
                continue
            out.append(c)
            todo += self.children.get(c, ())
        return out

    def quays_of(self, sp: StopPlace) -> list[Quay]:
        """The quays of ``sp`` (a quay listed under two stop places belongs to the last read)."""
        return [q for q in map(self.data.quays.get, sp.quays) if q and q.stop_place == sp.id]

    def place(self, sp_id: str, _depth: int = 0) -> tuple[float, float] | None:
        """The stop place's centroid, else the mean of its placed quays and children."""
        if sp_id in self.position:
            return self.position[sp_id]
        sp = self.data.stop_places[sp_id]
        pos = sp.lonlat
        if pos is None and _depth < 10:
            pts = [q.lonlat for q in self.quays_of(sp) if q.lonlat]
            pts += [p for c in self.children.get(sp_id, ()) if (p := self.place(c, _depth + 1))]
            if pts:
                pos = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
                self.derived.add(sp_id)
        self.position[sp_id] = pos
        return pos


def _register_modes(sp: StopPlace) -> set[str]:
    out = set()
    if sp.mode in MODES:
        out.add(MODES[sp.mode])
    elif sp.type in STOP_PLACE_TYPE_MODES:
        out.add(STOP_PLACE_TYPE_MODES[sp.type])
    return out


def plan_hubs(
    data: NetexData, calendar: Calendar, day: date | None, *, include_unserved: bool = False
) -> HubPlan:
    """Hub rows (WGS84 ``lon``/``lat``) and hub-stop rows for ``data``, counting on ``day``
    (None: the data has no journeys; departures stay unknown)."""
    plan = HubPlan(day=day)
    tree = _Tree(data)
    timetable = day is not None
    running = calendar.running(day) if timetable else set()
    hub_key = {sp: ID_PREFIX + tree.root(sp) for sp in data.stop_places}

    served: dict[str, set[str]] = defaultdict(set)  # hub key / stop place id / quay id → lines
    rows_stop: list[str] = []
    rows_secs: list[int] = []
    rows_dir: list[str | None] = []
    rows_n: list[int] = []
    for point, cal, line, hour, n in data.iter_calls():
        link = data.stop_points.get(point)
        if link is None:
            plan.unlinked_calls += n
            continue
        pattern_id, ssp, order = link
        route_id, pattern_line, last = data.patterns[pattern_id]
        if order >= last:
            continue  # a journey's last call carries nobody away
        target = data.stop_assignments.get(ssp)
        quay = data.quays.get(target) if target else None
        sp_id = quay.stop_place if quay else target if target in data.stop_places else None
        if sp_id is None:
            plan.unlinked_calls += n
            continue
        route_line, direction = data.routes.get(route_id or "", (None, None))
        line_id = line or pattern_line or route_line or f"route {route_id or pattern_id}"
        keys = [hub_key[sp_id]]
        if tree.root(sp_id) != sp_id:
            keys.append(sp_id)
        if quay is not None:
            keys.append(quay.id)
        for k in keys:
            served[k].add(line_id)
        if cal in running:
            plan.departures_on_day += n
            for k in keys:
                rows_stop.append(k)
                rows_secs.append(hour * 3600)
                rows_dir.append(direction)
                rows_n.append(n)

    per_hour: pd.Series | None = None
    if timetable:
        deps = pd.DataFrame(
            {"stop": rows_stop, "seconds": rows_secs, "direction": rows_dir, "count": rows_n}
        )
        per_hour = departures_per_hour(deps, served.keys())

    def label(line_id: str) -> str:
        return data.lines[line_id][0] if line_id in data.lines else line_id

    def lines_of(key: str) -> list[str]:
        return sorted({label(x) for x in served.get(key, ())}, key=natural_key)

    def freq(key: str) -> float | None:
        """None where no journey of the feed departs at all (unknown, not zero)."""
        if per_hour is None or not served.get(key):
            return None
        return float(per_hour[key])

    source_note = (
        f"departures/hour = mean per direction {DAY_START_H:02d}–{DAY_END_H:02d} on "
        f"{day.isoformat()} ({day:%A})"
        if day is not None
        else "no journeys in the data (stop register only): departures unknown"
    )
    roots = [sp for sp in data.stop_places.values() if tree.root(sp.id) == sp.id]
    for root in roots:
        family = [root.id, *tree.descendants(root.id)]
        sps = [data.stop_places[s] for s in family]
        quays = [q for sp in sps for q in tree.quays_of(sp)]
        pos = tree.place(root.id)
        if pos is None:
            continue  # nothing in the family has a position: counted below
        key = ID_PREFIX + root.id
        if timetable and not served.get(key) and not include_unserved:
            plan.unserved += 1
            continue
        line_modes = {MODES.get(data.lines.get(x, ("", None))[1] or "") for x in served[key]}
        register = set().union(*(_register_modes(sp) for sp in sps))
        bus_lines = sum(
            1 for x in served[key] if MODES.get(data.lines.get(x, ("", None))[1] or "") == "bus"
        )
        mode = hub_mode((line_modes - {None}) | register, bus_lines)
        if mode == "bus_stop" and any(sp.type == "busStation" for sp in sps):
            mode = "bus_terminal"
        if mode is None:
            plan.unsupported += 1
            continue
        name = root.name or next((sp.name for sp in sps if sp.name), None) or root.id
        kommune = root.kommunenummer or next(
            (sp.kommunenummer for sp in sps if sp.kommunenummer), None
        )
        placed_quays = [q for q in quays if q.lonlat]
        spread = max((_distance_m(pos, q.lonlat) for q in placed_quays), default=0.0)
        derived = root.id in tree.derived
        where = (
            f"placed at the mean of its {len(placed_quays)} quays (the register gives no centroid)"
            if derived
            else "at the register's centroid"
        )
        plan.hubs.append(
            {
                "id": key,
                "name": name,
                "mode": mode,
                "status": "existing",
                "lines": lines_of(key),
                "departures_per_hour": freq(key),
                "nsr_id": root.id,
                "kommunenummer": kommune,
                "accuracy_m": float(max(QUAY_ACCURACY_M, math.ceil(spread))),
                "notes": (
                    f"From NeTEx {data.feed}: stop place {root.id} with {len(sps) - 1} child "
                    f"stop places and {len(quays)} quays, {where}; boarding up to "
                    f"{spread:.0f} m away; {source_note}."
                ),
                "lon": pos[0],
                "lat": pos[1],
                "derived_position": derived,
            }
        )
        for sp in sps:
            sp_pos = tree.place(sp.id)
            if sp_pos is None:
                continue
            sp_quays = tree.quays_of(sp)
            sp_spread = max(
                (_distance_m(sp_pos, q.lonlat) for q in sp_quays if q.lonlat), default=0.0
            )
            sp_key = key if sp.id == root.id else sp.id
            parent = data.stop_places.get(sp.parent) if sp.parent else None
            sp_name = sp.name or (parent.name if parent else None) or name
            plan.stops.append(
                {
                    "id": sp.id,
                    "hub_id": key,
                    "parent_id": sp.parent if sp.id != root.id else None,
                    "kind": "stop_place",
                    "name": sp_name,
                    "public_code": None,
                    "transport_mode": sp.mode,
                    "stop_place_type": sp.type,
                    "lines": lines_of(sp_key),
                    "departures_per_hour": freq(sp_key),
                    "other_ids": sp.other_ids,
                    "kommunenummer": sp.kommunenummer or kommune,
                    "accuracy_m": float(max(QUAY_ACCURACY_M, math.ceil(sp_spread))),
                    "lon": sp_pos[0],
                    "lat": sp_pos[1],
                }
            )
            for q in sp_quays:
                if q.lonlat is None:
                    continue
                plan.stops.append(
                    {
                        "id": q.id,
                        "hub_id": key,
                        "parent_id": sp.id,
                        "kind": "quay",
                        "name": q.name or sp_name,
                        "public_code": q.public_code,
                        "transport_mode": sp.mode,
                        "stop_place_type": None,
                        "lines": lines_of(q.id),
                        "departures_per_hour": freq(q.id),
                        "other_ids": q.other_ids,
                        "kommunenummer": sp.kommunenummer or kommune,
                        "accuracy_m": QUAY_ACCURACY_M,
                        "lon": q.lonlat[0],
                        "lat": q.lonlat[1],
                    }
                )
    plan.unplaced_stop_places = [s for s in data.stop_places if tree.place(s) is None]
    plan.unplaced_quays = [q.id for q in data.quays.values() if q.lonlat is None]
    return plan
