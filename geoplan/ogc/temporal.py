"""The ``datetime`` parameter of an items request (OGC API – Features Part 1, Core).

A value is an instant or an interval with ``..`` (or nothing) for an open end, as RFC 3339
date-times (``2025-03-01T12:00:00Z``, an offset required) — or, as a convenience the standard
does not forbid, plain dates (``2025-03-01``), each meaning that whole day in UTC. A collection
names its one temporal property (:attr:`~geoplan.ogc.collections.Collection.temporal`); a
feature is selected when that property intersects the value, and a feature without a value
(``NULL``) always is, as is every feature of a collection without a temporal property
(``/req/core/fc-time-response`` C). A date property is the whole day in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from geoplan.errors import ValidationError
from geoplan.ogc.collections import DATE, Prop

FIELD = "datetime"
OPEN = ("", "..")
# an offset's "+" arrives as a space when the client did not percent-encode it: read it as "+"
_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+ -]\d{2}:\d{2})"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLES = "2025-03-01T12:00:00Z, 2025-03-01/2025-06-30, ../2025-09-01 or 2025-01-01T00:00:00Z/.."


@dataclass(frozen=True)
class TimeInterval:
    """The instants a ``datetime`` value covers, in UTC: from ``start`` (inclusive, None: open)
    to ``end`` (None: open), which is inclusive for a date-time and exclusive for a date (the
    midnight after it)."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool = True

    def condition(self, prop: Prop) -> tuple[str, list[Any]]:
        """SQL selecting the rows whose ``prop`` intersects this interval, or has no value."""
        clauses: list[str] = []
        params: list[Any] = []
        if prop.type == DATE:  # the day [d, d + 1) intersects [start, end]
            if self.start is not None:
                clauses.append(f"{prop.sql} >= %s::date")
                params.append(self.start.date())
            if self.end is not None:
                last = self.end if self.end_inclusive else self.end - timedelta(microseconds=1)
                clauses.append(f"{prop.sql} <= %s::date")
                params.append(last.date())
        else:
            if self.start is not None:
                clauses.append(f"{prop.sql} >= %s::timestamptz")
                params.append(self.start)
            if self.end is not None:
                clauses.append(f"{prop.sql} {'<=' if self.end_inclusive else '<'} %s::timestamptz")
                params.append(self.end)
        if not clauses:
            return "TRUE", []
        return f"{prop.sql} IS NULL OR ({' AND '.join(clauses)})", params


def parse_datetime(text: str) -> TimeInterval:
    """A ``datetime`` parameter value; a 400 naming ``datetime`` when it is not one."""
    parts = text.strip().split("/")
    if len(parts) == 1:
        if parts[0] in OPEN:
            raise _invalid(text, "an instant cannot be open; use an interval such as ../2025-01-01")
        start, start_is_day = _instant(parts[0], text)
        end, end_inclusive = _end(parts[0], start, start_is_day)
        return TimeInterval(start, end, end_inclusive)
    if len(parts) != 2:
        raise _invalid(text, "an interval has exactly one '/'")
    start = end = None
    end_inclusive = True
    if parts[0] not in OPEN:
        start, _ = _instant(parts[0], text)
    if parts[1] not in OPEN:
        value, is_day = _instant(parts[1], text)
        end, end_inclusive = _end(parts[1], value, is_day)
    if (
        start is not None
        and end is not None
        and (start > end or (start == end and not end_inclusive))
    ):
        raise _invalid(text, "the start is after the end")
    return TimeInterval(start, end, end_inclusive)


def _instant(part: str, text: str) -> tuple[datetime, bool]:
    """A bound as a UTC instant, and whether it was a date (its day's first instant)."""
    try:
        if _DATE.fullmatch(part):
            return datetime.combine(date.fromisoformat(part), time(), UTC), True
        match = _DATE_TIME.fullmatch(part)
        if match is None:
            raise ValueError
        day, clock, fraction, offset = match.groups()
        micro = f".{(fraction or '')[:6]:0<6}"
        offset = "+00:00" if offset in ("Z", "z") else offset.replace(" ", "+")
        return datetime.fromisoformat(f"{day}T{clock}{micro}{offset}").astimezone(UTC), False
    except (ValueError, OverflowError):
        raise _invalid(
            text, f"{part[:40]!r} is not an RFC 3339 date-time (with offset) or date"
        ) from None


def _end(part: str, value: datetime, is_day: bool) -> tuple[datetime | None, bool]:
    """The end of a bound: a date-time itself (inclusive), a date the midnight after it."""
    if not is_day:
        return value, True
    try:
        return value + timedelta(days=1), False
    except OverflowError:  # 9999-12-31: open, no instant lies beyond it
        return None, False


def _invalid(text: str, why: str) -> ValidationError:
    return ValidationError(
        f"datetime {text[:60]!r}: {why} (examples: {EXAMPLES})",
        FIELD,
    )
