"""What a hub's mode and "departures per hour" mean: one definition for every timetable import.

GTFS (:mod:`geoplan.ingest.gtfs`) and NeTEx (:mod:`geoplan.ingest.netex`) describe the same
thing in different shapes; both reduce their timetable to rows of *departures* and hand them to
this module, so a hub imported from either format carries the same numbers.

**A departure** is a call of a journey at a stop that is not the journey's last call (a journey
ending at a stop carries nobody away from it). Each import counts them only for the journeys
running on the **counted day**: the ``--date`` the user gives, else :func:`busiest_weekday`, the
Monday–Friday date of the feed with the most journeys running (the earliest on a tie).

**Departures per hour** at a stop (:func:`departures_per_hour`) is the number of its departures
whose time lies in ``[DAY_START_H, DAY_END_H)`` (07:00–19:00; a time past midnight of a journey
that started the day before counts as ≥ 24:00 and so never falls in the window), divided by
those 12 hours and by the number of directions seen among those departures (at least one). That
is the mean daytime frequency in one direction, the measure of the shipped hub layer. The mean is
used rather than the busiest hour because a planner judging a site cares what a visitor finds at
any time of the working day. Values are rounded to one decimal.

**A hub's mode** (:func:`hub_mode`) is the highest-capacity mode among those serving it
(:data:`MODE_RANK`: rail > metro > bus); a bus hub is a ``bus_terminal`` when at least
:data:`BUS_TERMINAL_MIN_ROUTES` bus routes serve it, else a ``bus_stop``. Hubs served only by
other modes (tram, ferry...) are not hubs in geoplan's sense and are skipped by the importers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

import pandas as pd

BUS_TERMINAL_MIN_ROUTES = 4
DEFAULT_MARGIN_M = 3_000.0
"""Lillestrøm stasjon, the regional hub just outside Lørenskog, lies 2.2 km beyond the border."""
DAY_START_H, DAY_END_H = 7, 19
MODE_RANK = {"rail": 3, "metro": 2, "bus": 1}


def busiest_weekday(days: Iterable[date], journeys_on: Callable[[date], int]) -> date | None:
    """The Monday–Friday date among ``days`` with the most journeys running (earliest on a tie).

    ``journeys_on(day)`` counts the journeys running on ``day``. None when ``days`` holds no
    weekday (the caller says which feed has no weekday service).
    """
    weekdays = sorted(d for d in set(days) if d.weekday() < 5)
    if not weekdays:
        return None
    best, best_n = weekdays[0], -1
    for d in weekdays:
        n = journeys_on(d)
        if n > best_n:
            best, best_n = d, n
    return best


def departures_per_hour(departures: pd.DataFrame, stops: Iterable[str]) -> pd.Series:
    """Mean daytime departures per hour and direction for each of ``stops`` (see module doc).

    ``departures`` holds the departures of the counted day, one row per departure or per group
    of departures: ``stop`` (the key the result is indexed by), ``seconds`` (time after the
    counted day's midnight), ``direction`` (None/NaN when the feed does not say) and, optionally,
    ``count`` (how many departures the row stands for; 1 when absent). Stops without a
    departure in the window get 0.0.
    """
    stops = pd.Index(list(stops))
    if departures.empty:
        return pd.Series(0.0, index=stops)
    secs = departures["seconds"].to_numpy(dtype=float)
    in_day = (secs >= DAY_START_H * 3600) & (secs < DAY_END_H * 3600)
    day = departures[in_day]
    if "count" in day.columns:
        counts = day.groupby("stop")["count"].sum()
    else:
        counts = day.groupby("stop").size()
    directions = day.groupby("stop")["direction"].nunique().clip(lower=1)
    hours = DAY_END_H - DAY_START_H
    per_hour = counts.reindex(stops, fill_value=0) / hours / directions.reindex(stops, fill_value=1)
    # Python's round (not numpy's) so a value reads the same as before the code was shared.
    return per_hour.astype(float).map(lambda v: round(float(v), 1))


def hub_mode(modes: Iterable[str], bus_routes: int) -> str | None:
    """``rail``/``metro``/``bus_terminal``/``bus_stop`` from the modes serving a hub (see module
    doc); None when none of them is rail, metro or bus."""
    ranked = [m for m in set(modes) if m in MODE_RANK]
    if not ranked:
        return None
    best = max(ranked, key=MODE_RANK.__getitem__)
    if best == "bus":
        return "bus_terminal" if bus_routes >= BUS_TERMINAL_MIN_ROUTES else "bus_stop"
    return best


def natural_key(s: str) -> tuple:
    """Sort key that puts line 2 before line 10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))
