"""``geoplan import-gtfs``: hubs, modes, lines and weekday frequencies from a test-built feed."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.errors import ValidationError
from geoplan.ingest.gtfs import GtfsOptions, import_gtfs, route_mode
from geoplan.proximity import annotate_premises
from geoplan.store import db
from tests.conftest import table_counts
from tests.db.test_import import state

runner = CliRunner()

STOPS = [
    # stop_id, name, lat, lon, location_type, parent
    ("NSR:StopPlace:58857", "Lørenskog stasjon", 59.945007, 10.944995, 1, ""),
    ("NSR:Quay:1", "Lørenskog stasjon", 59.94505, 10.94490, 0, "NSR:StopPlace:58857"),
    ("NSR:Quay:2", "Lørenskog stasjon", 59.94495, 10.94510, 0, "NSR:StopPlace:58857"),
    ("NSR:StopPlace:337", "Lillestrøm stasjon", 59.95306, 11.04444, 1, ""),
    ("NSR:Quay:3", "Lillestrøm stasjon", 59.95310, 11.04450, 0, "NSR:StopPlace:337"),
    ("OSL", "Oslo S", 59.9110, 10.7528, 0, ""),
    ("SEN-A", "Lørenskog sentrum", 59.9272, 10.9555, 0, ""),
    ("SEN-B", "Lørenskog sentrum", 59.9274, 10.9558, 0, ""),
    ("SKA", "Skårer", 59.9290, 10.9430, 0, ""),
    ("END", "Endestopp", 59.9300, 10.9700, 0, ""),
    ("TRAM", "Trikkestopp", 59.9300, 10.9500, 0, ""),
    ("BGO", "Bergen busstasjon", 60.3890, 5.3330, 0, ""),
    ("BGO2", "Bergen sentrum", 60.3930, 5.3240, 0, ""),
]
ROUTES = [
    ("L1", "L1", 2),
    ("R100", "100", 3),
    ("R110", "110", 3),
    ("R300", "300", 3),
    ("R400", "400", 3),
    ("T17", "17", 0),
    ("B1", "B1", 3),
]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def build_feed(path: Path, *, with_skarer: bool = True) -> Path:
    """A small feed: rail both ways every 15 min, four bus routes every 30 min, a tram, Bergen."""
    trips, times = [], []

    def trip(tid, route, service, direction, stops):
        trips.append(f"{route},{service},{tid},{direction}")
        for seq, (stop, t) in enumerate(stops, start=1):
            times.append(f"{tid},{hhmm(t)},{hhmm(t)},{stop},{seq}")

    rail = [*range(7 * 60, 19 * 60, 15), 6 * 60 + 30, 19 * 60 + 30]  # 48 in the day + 2 outside
    for t in rail:
        trip(f"r0-{t}", "L1", "WD", 0, [("OSL", t - 10), ("NSR:Quay:1", t), ("NSR:Quay:3", t + 10)])
        trip(f"r1-{t}", "L1", "WD", 1, [("NSR:Quay:3", t - 10), ("NSR:Quay:2", t), ("OSL", t + 10)])
    for t in range(8 * 60, 12 * 60, 60):  # Saturday trips never count
        trip(f"s-{t}", "L1", "SAT", 0, [("OSL", t - 10), ("NSR:Quay:1", t), ("NSR:Quay:3", t + 10)])
    for route, stop in (("R100", "SEN-A"), ("R110", "SEN-A"), ("R300", "SEN-B"), ("R400", "SEN-B")):
        for t in range(7 * 60, 19 * 60, 30):  # 24 each
            first = [("SKA", t - 5)] if route == "R100" and with_skarer else []
            trip(f"{route}-{t}", route, "WD", 0, [*first, (stop, t), ("END", t + 10)])
    for t in (600, 610):  # extra service on Thursday 2025-03-06 only (calendar_dates)
        first = [("SKA", t - 5)] if with_skarer else []
        trip(f"x-{t}", "R100", "EXTRA", 0, [*first, ("SEN-A", t), ("END", t + 10)])
    trip("tram-1", "T17", "WD", 0, [("TRAM", 600), ("END", 610)])
    trip("bgo-1", "B1", "WD", 0, [("BGO", 600), ("BGO2", 610)])

    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
        "RUT,Ruter,https://ruter.no,Europe/Oslo\n",
        "feed_info.txt": "feed_publisher_name,feed_publisher_url,feed_lang,feed_version\n"
        "Testdata,https://example.invalid/gtfs,no,2025-03\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        + "".join(f"{s[0]},{s[1]},{s[2]},{s[3]},{s[4]},{s[5]}\n" for s in STOPS),
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
        + "".join(f"{r[0]},RUT,{r[1]},,{r[2]}\n" for r in ROUTES),
        "trips.txt": "route_id,service_id,trip_id,direction_id\n" + "\n".join(trips) + "\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        + "\n".join(times)
        + "\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\n"
        "WD,1,1,1,1,1,0,0,20250303,20250309\nSAT,0,0,0,0,0,1,0,20250303,20250309\n",
        # Monday is a holiday (WD removed); EXTRA runs on Thursday only.
        "calendar_dates.txt": "service_id,date,exception_type\nWD,20250303,2\nEXTRA,20250306,1\n",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def hubs(url: str) -> dict[str, tuple]:
    with psycopg.connect(db.conninfo(url)) as c:
        rows = c.execute(
            "SELECT id, name, mode, lines, departures_per_hour, nsr_id, source, accuracy_m, "
            "verified, status FROM hubs WHERE id LIKE 'gtfs:%' ORDER BY id"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def run(url: str, path: Path, **kw):
    with db.transaction(url) as conn:
        return import_gtfs(conn, path, GtfsOptions(**kw))


def test_route_modes():
    assert [route_mode(t) for t in (2, 101, 1, 401, 3, 700, 0, 4)] == [
        "rail",
        "rail",
        "metro",
        "metro",
        "bus",
        "bus",
        None,
        None,
    ]


def test_import_gtfs_creates_hubs(loaded_db: str, tmp_path: Path):
    shipped = table_counts(loaded_db)["hubs"]
    result = run(loaded_db, build_feed(tmp_path / "ruter.zip"))

    assert result.service_date == date(2025, 3, 6)  # the weekday with the most trips
    assert (result.hubs, result.outside, result.unsupported) == (4, 2, 1)
    got = hubs(loaded_db)
    assert set(got) == {
        "gtfs:NSR:StopPlace:58857",
        "gtfs:NSR:StopPlace:337",
        "gtfs:lørenskog-sentrum",
        "gtfs:skårer",
    }
    st = got["gtfs:NSR:StopPlace:58857"]
    assert st[:5] == ("Lørenskog stasjon", "rail", ["L1"], 4.0, "NSR:StopPlace:58857")
    assert got["gtfs:NSR:StopPlace:337"][1:4] == ("rail", ["L1"], 3.9)
    # 4 routes × 24 trips + 2 extra on Thursday, over 12 hours
    assert got["gtfs:lørenskog-sentrum"][1:4] == (
        "bus_terminal",
        ["100", "110", "300", "400"],
        8.2,
    )
    # 06:55 is before the day window: 23 + 2 extra departures over 12 hours
    assert got["gtfs:skårer"][1:4] == ("bus_stop", ["100"], 2.1)
    source, accuracy, verified, status = st[5:]
    assert source == "Testdata GTFS ruter.zip (2025-03)"
    assert (accuracy, verified, status) == (10.0, False, "existing")
    assert table_counts(loaded_db)["hubs"] == shipped + 4


def test_reimport_is_idempotent_and_replace_keeps_curated_hubs(loaded_db: str, tmp_path: Path):
    feed = build_feed(tmp_path / "ruter.zip")
    run(loaded_db, feed)
    before = state(loaded_db)
    again = run(loaded_db, feed)
    assert (again.write.inserted, again.write.updated) == (0, 0)
    assert state(loaded_db) == before

    smaller = build_feed(tmp_path / "ruter2.zip", with_skarer=False)
    shipped = table_counts(loaded_db)["hubs"] - 4
    result = run(loaded_db, smaller, replace=True)
    assert result.write.deleted == 1
    assert "gtfs:skårer" not in hubs(loaded_db)
    assert table_counts(loaded_db)["hubs"] == shipped + 3  # the shipped hubs stay


def test_explicit_date_and_premises_annotation(loaded_db: str, tmp_path: Path):
    run(loaded_db, build_feed(tmp_path / "f.zip"), service_date=date(2025, 3, 4))
    got = hubs(loaded_db)
    assert got["gtfs:lørenskog-sentrum"][3] == 8.0  # Tuesday: no extra trips
    # The import re-annotated every premises: annotating again from scratch changes nothing.
    query = "SELECT id, nearest_hub_id, walk_m FROM premises_annotated ORDER BY id"
    with psycopg.connect(db.conninfo(loaded_db)) as c:
        after_import = c.execute(query).fetchall()
        annotate_premises(c)
        fresh = c.execute(query).fetchall()
    assert after_import == fresh
    assert any(hub.startswith("gtfs:") for _, hub, _ in after_import)


def test_bad_feeds_change_nothing(loaded_db: str, tmp_path: Path):
    before = state(loaded_db)
    not_zip = tmp_path / "feed.zip"
    not_zip.write_text("hello")
    with pytest.raises(ValidationError, match="not a zip"):
        run(loaded_db, not_zip)
    incomplete = tmp_path / "incomplete.zip"
    with zipfile.ZipFile(incomplete, "w") as z:
        z.writestr("stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nA,A,59.93,10.95\n")
    with pytest.raises(ValidationError, match="routes.txt is missing"):
        run(loaded_db, incomplete)
    bergen = tmp_path / "bergen.zip"
    with zipfile.ZipFile(bergen, "w") as z:
        z.writestr(
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\n"
            "BGO,Bergen busstasjon,60.389,5.333\nBGO2,Bergen sentrum,60.393,5.324\n",
        )
        z.writestr("routes.txt", "route_id,route_short_name,route_type\nB1,B1,3\n")
        z.writestr("trips.txt", "route_id,service_id,trip_id\nB1,WD,t1\n")
        z.writestr(
            "stop_times.txt",
            "trip_id,departure_time,stop_id,stop_sequence\nt1,10:00:00,BGO,1\nt1,10:10:00,BGO2,2\n",
        )
        z.writestr(
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,"
            "saturday,sunday,start_date,end_date\nWD,1,1,1,1,1,0,0,20250303,20250309\n",
        )
    with pytest.raises(ValidationError, match="no hub of the feed lies within 3000 m"):
        run(loaded_db, bergen)
    assert state(loaded_db) == before


def test_cli_import_gtfs(loaded_db: str, tmp_path: Path):
    res = runner.invoke(app, ["import-gtfs", str(build_feed(tmp_path / "f.zip")), "-q"])
    assert res.exit_code == 0, res.output
    assert "hubs: 4 from f.zip (4 new" in res.output
    assert "Thursday 2025-03-06" in res.output
    res = runner.invoke(app, ["import-gtfs", str(tmp_path / "missing.zip")])
    assert res.exit_code == 1 and "file not found" in res.output
    res = runner.invoke(app, ["import-gtfs", str(tmp_path / "f.zip"), "--date", "06.03.2025"])
    assert res.exit_code == 1 and "--date" in res.output
