"""On which dates a NeTEx journey runs: DayTypes, DayTypeAssignments, OperatingPeriods,
OperatingDays and DatedServiceJourneys, as the Nordic profile defines them.

- A **DayType** may be limited to days of the week (``DaysOfWeek``: ``Monday`` ... ``Sunday``,
  ``Weekdays``, ``Weekend``, ``Everyday``); without that it is not limited.
- A **DayTypeAssignment** gives a day type a ``Date``, an ``OperatingDayRef`` or an
  ``OperatingPeriodRef``. A period adds each of its days (``FromDate`` to ``ToDate``, inclusive;
  at most :data:`MAX_PERIOD_DAYS`, as for GTFS calendars) that the day type's weekdays allow; a
  ``UicOperatingPeriod`` adds the days its ``ValidDayBits`` mark. An assignment with
  ``isAvailable=false`` removes its days, whatever order the assignments come in.
- A **ServiceJourney** runs on the dates of any of its day types. A journey without day types
  runs on the operating days of its **DatedServiceJourneys** (cancelled ones were dropped when
  read).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from geoplan.errors import ValidationError
from geoplan.ingest.departures import busiest_weekday
from geoplan.ingest.netex.reader import NetexData

MAX_PERIOD_DAYS = 400


class Calendar:
    """The dates of every day type and dated journey of a :class:`NetexData`."""

    def __init__(self, data: NetexData):
        self.data = data
        added: dict[str, set[date]] = defaultdict(set)
        removed: dict[str, set[date]] = defaultdict(set)
        for a in data.assignments:
            if a.day_type not in data.day_types:
                raise ValidationError(
                    f"{data.feed}: DayTypeAssignment refers to DayType {a.day_type}, "
                    "which the data does not define",
                    field="DayTypeAssignment",
                )
            weekdays = data.day_types[a.day_type]
            days: set[date] = set()
            if a.date is not None:
                days.add(a.date)
            if a.operating_day is not None:
                day = data.operating_days.get(a.operating_day)
                if day is None:
                    raise ValidationError(
                        f"{data.feed}: DayTypeAssignment refers to OperatingDay "
                        f"{a.operating_day}, which the data does not define",
                        field="DayTypeAssignment",
                    )
                days.add(day)
            if a.period is not None:
                period = data.periods.get(a.period)
                if period is None:
                    raise ValidationError(
                        f"{data.feed}: DayTypeAssignment refers to OperatingPeriod {a.period}, "
                        "which the data does not define",
                        field="DayTypeAssignment",
                    )
                start, end, bits = period
                span = min((end - start).days, MAX_PERIOD_DAYS)
                for i in range(span + 1):
                    d = start + timedelta(i)
                    if bits is not None:
                        if i < len(bits) and bits[i] == "1":
                            days.add(d)
                    elif weekdays is None or d.weekday() in weekdays:
                        days.add(d)
            (added if a.available else removed)[a.day_type] |= days
        self.day_type_dates = {dt: added[dt] - removed[dt] for dt in added}
        self.dated: dict[str, set[date]] = defaultdict(set)
        for journey, op_day in data.dated_journeys:
            day = data.operating_days.get(op_day)
            if day is not None:
                self.dated[journey].add(day)

    def days(self) -> set[date]:
        """Every date some journey may run on."""
        out: set[date] = set()
        for dates in self.day_type_dates.values():
            out |= dates
        for dates in self.dated.values():
            out |= dates
        return out

    def runs(self, calendar: int, day: date) -> bool:
        """Whether journeys of calendar index ``calendar`` run on ``day``."""
        key = self.data.calendars[calendar]
        if key and key[0] == "#journey":
            return day in self.dated.get(key[1], ())
        return any(day in self.day_type_dates.get(dt, ()) for dt in key)

    def journeys_on(self, day: date) -> int:
        return sum(n for cal, n in self.data.journeys.items() if self.runs(cal, day))

    def running(self, day: date) -> set[int]:
        """Calendar indexes whose journeys run on ``day``."""
        return {cal for cal in range(len(self.data.calendars)) if self.runs(cal, day)}

    def representative_weekday(self) -> date:
        """The Monday–Friday date with the most journeys (the GTFS import's rule, shared)."""
        best = busiest_weekday(self.days(), self.journeys_on)
        if best is None:
            raise ValidationError(
                f"{self.data.feed}: the timetable has no weekday service; pass --date",
                field="DayTypeAssignment",
            )
        return best
