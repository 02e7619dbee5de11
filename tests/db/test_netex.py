"""``geoplan import-netex`` on real Entur/Ruter NeTEx (../shared/data/real/netex, NLOD).

The minimal Ruter set is in Oslo (0301), AOR in Romerike (Lillestrøm, 3205): each test loads the
real boundary of its municipality first. Departures per hour are checked against a count made
here, independently of geoplan, with the standard library's ElementTree.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import REPO_ROOT
from geoplan.errors import ValidationError
from geoplan.geo.region import Region, municipality
from geoplan.ingest.netex import NetexOptions, import_netex
from geoplan.ingest.validation import prepare
from geoplan.ingest.writer import write_layer
from geoplan.layers.spec import layer_spec
from geoplan.store import db
from tests.conftest import table_counts

REAL = REPO_ROOT.parent / "shared" / "data" / "real"
MINIMAL = REAL / "netex" / "ruter_netex_minimal_2017"
AOR = REAL / "netex" / "ruter_AOR_romerike_2017.zip"
KOMMUNER = REAL / "boundaries" / "kommuner_norge_2024_generalised.geojson"
NS = {"n": "http://www.netex.org.uk/netex"}

runner = CliRunner()


# -- helpers -----------------------------------------------------------------------------------
def load_boundary(url: str, kommunenummer: str) -> None:
    """The real boundary of one municipality as the store's boundary (replacing any other).

    Validated against a wide region: the boundary layer is otherwise checked against
    Lørenskog's envelope, which Oslo's or Elverum's boundary lies far outside.
    """
    g = gpd.read_file(KOMMUNER)
    g = g[g["kommunenummer"] == kommunenummer].rename(columns={"kommunenavn": "name"})
    g["id"] = kommunenummer
    g["source"] = "Kartverket, Administrative enheter – kommuner (generalised)"
    g["licence"] = "CC BY 4.0 © Kartverket"
    assert len(g) == 1
    with db.transaction(url) as conn:
        wide = Region(municipality(conn, use_boundary=False), 2_000_000)
        prepared = prepare(g, layer_spec("boundary"), region=wide, source_name=KOMMUNER.name)
        write_layer(conn, prepared, replace=True)


def run(url: str, path: Path, **kw):
    with db.transaction(url) as conn:
        return import_netex(conn, path, NetexOptions(**kw))


def rows(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(db.conninfo(url)) as c:
        return c.execute(sql, params).fetchall()


def everything(url: str) -> dict:
    """Row counts of every table an import may touch (hub_stops included)."""
    counts = table_counts(url)
    counts["hub_stops"] = rows(url, "SELECT count(*) FROM hub_stops")[0][0]
    return counts


def copy_minimal(tmp_path: Path) -> Path:
    dst = tmp_path / "netex"
    shutil.copytree(MINIMAL, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


@pytest.fixture
def oslo_db(empty_db: str) -> str:
    load_boundary(empty_db, "0301")
    return empty_db


# -- an independent count of departures (plain ElementTree, no geoplan code) -------------------
def independent_departures_per_hour(folder: Path, stop_place: str, day: date) -> tuple[int, float]:
    """Departures at ``stop_place`` (with its child stop places and quays) on ``day`` between
    07:00 and 19:00, and that count per hour and direction, straight from the XML."""
    docs = [ET.parse(p).getroot() for p in sorted(folder.glob("*.xml"))]

    def each(tag: str):
        for root in docs:
            yield from root.iter(f"{{{NS['n']}}}{tag}")

    family = {stop_place}
    family |= {
        sp.get("id")
        for sp in each("StopPlace")
        if (ref := sp.find("n:ParentSiteRef", NS)) is not None and ref.get("ref") == stop_place
    }
    quays = {q.get("id") for sp in each("StopPlace") if sp.get("id") in family for q in sp.iter()}
    points = {
        psa.find("n:ScheduledStopPointRef", NS).get("ref")
        for psa in each("PassengerStopAssignment")
        if psa.find("n:QuayRef", NS).get("ref") in quays
    }
    departing = set()  # stop points in journey patterns at the stop that are not the last
    for jp in each("JourneyPattern"):
        sps = jp.findall("n:pointsInSequence/n:StopPointInJourneyPattern", NS)
        last = max(int(s.get("order")) for s in sps)
        departing |= {
            s.get("id")
            for s in sps
            if int(s.get("order")) < last
            and s.find("n:ScheduledStopPointRef", NS).get("ref") in points
        }
    weekday = {"Weekdays": range(5), "Saturday": [5], "Sunday": [6]}
    periods = {
        op.get("id"): (
            date.fromisoformat(op.findtext("n:FromDate", namespaces=NS)[:10]),
            date.fromisoformat(op.findtext("n:ToDate", namespaces=NS)[:10]),
        )
        for op in each("OperatingPeriod")
    }
    dow = {
        dt.get("id"): weekday[dt.findtext("n:properties/n:PropertyOfDay/n:DaysOfWeek", "", NS)]
        for dt in each("DayType")
    }
    running, excluded = set(), set()
    for a in each("DayTypeAssignment"):
        dt = a.find("n:DayTypeRef", NS).get("ref")
        if a.findtext("n:isAvailable", "true", NS) == "false":
            if a.findtext("n:Date", namespaces=NS) == day.isoformat():
                excluded.add(dt)
            continue
        op = a.find("n:OperatingPeriodRef", NS)
        if op is not None:
            start, end = periods[op.get("ref")]
            if start <= day <= end and day.weekday() in dow[dt]:
                running.add(dt)
    running -= excluded
    count = 0
    for sj in each("ServiceJourney"):
        dts = {r.get("ref") for r in sj.findall("n:dayTypes/n:DayTypeRef", NS)}
        if not dts & running:
            continue
        for tpt in sj.findall("n:passingTimes/n:TimetabledPassingTime", NS):
            ref = tpt.find("n:StopPointInJourneyPatternRef", NS).get("ref")
            t = tpt.findtext("n:DepartureTime", namespaces=NS)
            if ref in departing and t and "07:00:00" <= t < "19:00:00":
                count += 1
    # The routes of the minimal set give no direction: one direction, as in the GTFS import.
    return count, round(count / 12, 1)


# -- the minimal Ruter set (Oslo) --------------------------------------------------------------
def test_minimal_set_stops_quays_and_hubs(oslo_db: str):
    result = run(oslo_db, MINIMAL)

    # exact counts, also counted here from the XML
    stops = ET.parse(MINIMAL / "_stops.xml").getroot()
    assert len(stops.findall(".//n:StopPlace", NS)) == 8 == result.stop_places
    assert len(stops.findall(".//n:Quay", NS)) == 16 == result.quays
    assert result.journeys == 5
    assert result.without_coordinates == 0 and result.outside == 0
    kinds = dict(rows(oslo_db, "SELECT kind, count(*) FROM hub_stops GROUP BY kind"))
    assert kinds == {"stop_place": 8, "quay": 16}
    assert result.hub_stops == 24

    # a hub per top stop place (NSR's multimodal parents), children below it
    hubs = {
        r[0]: r[1:]
        for r in rows(
            oslo_db,
            "SELECT id, name, mode, lines, nsr_id, kommunenummer, licence, source, verified, "
            "ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) FROM hubs",
        )
    }
    assert set(hubs) == {
        "netex:NSR:StopPlace:58366",
        "netex:NSR:StopPlace:58243",
        "netex:NSR:StopPlace:58381",
    }
    jbt = hubs["netex:NSR:StopPlace:58366"]
    assert jbt[:6] == (
        "Jernbanetorget",
        "metro",  # the register's metro station; only tram 12 departs in these files
        ["12"],  # metro 4 only ends here: an arrival is not a departure
        "NSR:StopPlace:58366",
        "0301",
        "NLOD, © Entur/Ruter",
    )
    assert jbt[6] == "NeTEx ruter_netex_minimal_2017, valid 2017-10-31 – 2018-11-02"
    assert jbt[7] is False
    assert jbt[8] == pytest.approx(10.750707, abs=1e-6)  # the register's centroid
    assert jbt[9] == pytest.approx(59.912146, abs=1e-6)
    assert hubs["netex:NSR:StopPlace:58243"][:3] == ("Bergkrystallen", "metro", ["4"])

    tree = {
        r[0]: r[1:]
        for r in rows(
            oslo_db, "SELECT id, hub_id, parent_id, kind, name, public_code FROM hub_stops"
        )
    }
    assert tree["NSR:StopPlace:58366"] == (
        "netex:NSR:StopPlace:58366",
        None,
        "stop_place",
        "Jernbanetorget",
        None,
    )
    assert tree["NSR:StopPlace:3990"][:4] == (  # unnamed child: the parent's name
        "netex:NSR:StopPlace:58366",
        "NSR:StopPlace:58366",
        "stop_place",
        "Jernbanetorget",
    )
    assert tree["NSR:Quay:7184"] == (
        "netex:NSR:StopPlace:58366",
        "NSR:StopPlace:3990",
        "quay",
        "Jernbanetorget",
        "2",
    )
    other = rows(oslo_db, "SELECT other_ids FROM hub_stops WHERE id = 'NSR:StopPlace:3990'")
    assert "RUT:StopPlace:03010011" in other[0][0]  # the operator's own ids are kept


def test_minimal_set_departures_per_hour_match_an_independent_count(oslo_db: str):
    result = run(oslo_db, MINIMAL)
    # Weekday journeys run on every weekday of 2017-12-21 – 2018-01-04 but New Year's Day
    # (4 journeys); the dated journey of 2018-11-01 is one: the earliest busiest weekday wins.
    day = date(2017, 12, 21)
    assert result.service_date == day
    got = dict(rows(oslo_db, "SELECT nsr_id, departures_per_hour FROM hubs"))
    expected = {}
    for sp in ("NSR:StopPlace:58243", "NSR:StopPlace:58381", "NSR:StopPlace:58366"):
        count, per_hour = independent_departures_per_hour(MINIMAL, sp, day)
        expected[sp] = count
        assert got[sp] == per_hour, sp
    # Bergkrystallen 11:10 and 14:30; Majorstuen 07:04; Jernbanetorget only 06:34 (before 07)
    assert expected == {
        "NSR:StopPlace:58243": 2,
        "NSR:StopPlace:58381": 1,
        "NSR:StopPlace:58366": 0,
    }
    quays = dict(rows(oslo_db, "SELECT id, departures_per_hour FROM hub_stops"))
    assert quays["NSR:Quay:10681"] == 0.1  # 11:10 only
    assert quays["NSR:Quay:7184"] is None  # no journey of the data departs there
    notes = rows(oslo_db, "SELECT notes FROM hubs WHERE nsr_id = 'NSR:StopPlace:58243'")
    assert "2017-12-21 (Thursday)" in notes[0][0]


def test_minimal_set_on_a_chosen_day(oslo_db: str):
    day = date(2018, 1, 1)  # New Year's Day: the weekday journeys do not run
    result = run(oslo_db, MINIMAL, service_date=day)
    assert result.service_date == day
    for sp in ("NSR:StopPlace:58243", "NSR:StopPlace:58381"):
        count, per_hour = independent_departures_per_hour(MINIMAL, sp, day)
        got = rows(oslo_db, "SELECT departures_per_hour FROM hubs WHERE nsr_id = %s", (sp,))
        assert got[0][0] == per_hour
    saturday = date(2017, 12, 23)
    run(oslo_db, MINIMAL, service_date=saturday)
    count, per_hour = independent_departures_per_hour(MINIMAL, "NSR:StopPlace:58243", saturday)
    got = rows(oslo_db, "SELECT departures_per_hour FROM hubs WHERE nsr_id = 'NSR:StopPlace:58243'")
    assert (count, got[0][0]) == (2, per_hour)


def test_a_stop_register_alone_gives_hubs_without_frequencies(oslo_db: str):
    result = run(oslo_db, MINIMAL / "_stops.xml", service_date=date(2017, 12, 21))
    assert (result.stop_places, result.quays, result.journeys) == (8, 16, 0)
    assert result.service_date is None
    assert any("--date was not used" in n for n in result.notes)
    got = rows(oslo_db, "SELECT nsr_id, mode, lines, departures_per_hour FROM hubs ORDER BY 1")
    assert got == [  # modes from the register: each has a metroStation child
        ("NSR:StopPlace:58243", "metro", [], None),
        ("NSR:StopPlace:58366", "metro", [], None),
        ("NSR:StopPlace:58381", "metro", [], None),
    ]
    assert rows(oslo_db, "SELECT count(*) FROM hub_stops")[0][0] == 24
    notes = rows(oslo_db, "SELECT notes FROM hubs LIMIT 1")[0][0]
    assert "stop register only" in notes


def test_reimport_is_idempotent_and_replace_keeps_other_hubs(loaded_db: str, tmp_path: Path):
    shipped = rows(loaded_db, "SELECT id FROM hubs ORDER BY id")  # the curated Lørenskog hubs
    load_boundary(loaded_db, "0301")
    run(loaded_db, MINIMAL)
    before = everything(loaded_db)
    again = run(loaded_db, MINIMAL, replace=True)
    assert (again.write.inserted, again.write.updated, again.write.deleted) == (0, 0, 0)
    assert everything(loaded_db) == before

    # Bergkrystallen gone from the register: replace removes its hub and its stops only
    folder = copy_minimal(tmp_path)
    stops = folder / "_stops.xml"
    tree = ET.parse(stops)
    ET.register_namespace("", NS["n"])
    holder = tree.getroot().find(".//n:stopPlaces", NS)
    for sp in list(holder):
        if sp.get("id") in ("NSR:StopPlace:58243", "NSR:StopPlace:5825", "NSR:StopPlace:5823"):
            holder.remove(sp)
    tree.write(stops, xml_declaration=True, encoding="utf-8")
    smaller = run(loaded_db, folder, replace=True)
    assert smaller.write.deleted == 1
    assert smaller.unlinked_calls == 3  # line 4's three departures from Bergkrystallen
    netex = rows(loaded_db, "SELECT id FROM hubs WHERE id LIKE 'netex:%' ORDER BY id")
    assert netex == [("netex:NSR:StopPlace:58366",), ("netex:NSR:StopPlace:58381",)]
    assert rows(loaded_db, "SELECT count(*) FROM hub_stops")[0][0] == 24 - 6
    assert rows(loaded_db, "SELECT id FROM hubs WHERE id NOT LIKE 'netex:%' ORDER BY id") == shipped


def test_stops_without_coordinates_are_counted_never_placed(oslo_db: str, tmp_path: Path):
    folder = copy_minimal(tmp_path)
    stops = folder / "_stops.xml"
    tree = ET.parse(stops)
    ET.register_namespace("", NS["n"])
    for sp in tree.getroot().iter(f"{{{NS['n']}}}StopPlace"):
        if sp.get("id") == "NSR:StopPlace:5825":  # Bergkrystallen T (bus) and its one quay
            for holder in (sp, sp.find("n:quays/n:Quay", NS)):
                holder.remove(holder.find("n:Centroid", NS))
    tree.write(stops, xml_declaration=True, encoding="utf-8")

    result = run(oslo_db, folder)
    assert result.unplaced_stop_places == ["NSR:StopPlace:5825"]
    assert result.unplaced_quays == ["NSR:Quay:10685"]
    assert any("not placed (no coordinates)" in n for n in result.notes)
    placed = {r[0] for r in rows(oslo_db, "SELECT id FROM hub_stops")}
    assert len(placed) == 22 and not placed & {"NSR:StopPlace:5825", "NSR:Quay:10685"}


def test_cli_import_netex(oslo_db: str):
    res = runner.invoke(app, ["import-netex", str(MINIMAL), "-q"])
    assert res.exit_code == 0, res.output
    assert "hubs: 3 from ruter_netex_minimal_2017 (3 new" in res.output
    assert "read 8 stop places, 16 quays, 5 journeys" in res.output
    assert "Thursday 2017-12-21" in res.output
    res = runner.invoke(app, ["import-netex", str(MINIMAL), "--date", "21.12.2017"])
    assert res.exit_code == 1 and "--date" in res.output
    res = runner.invoke(app, ["import-netex", str(MINIMAL.parent / "missing.zip")])
    assert res.exit_code == 1 and "file not found" in res.output


# -- AOR (Romerike, Lillestrøm) ----------------------------------------------------------------
def test_aor_imports_for_lillestrom(empty_db: str):
    load_boundary(empty_db, "3205")
    result = run(empty_db, AOR)
    assert (result.stop_places, result.journeys) == (965, 4402)
    assert result.service_date is not None and result.service_date.weekday() < 5
    assert result.licence == "NLOD, © Ruter"
    assert result.hubs > 0 and result.outside > 0
    terminal = rows(
        empty_db,
        "SELECT name, mode, departures_per_hour, lines, accuracy_m FROM hubs "
        "WHERE nsr_id = 'RUT:StopPlace:02310301'",
    )
    assert len(terminal) == 1
    name, mode, per_hour, lines, accuracy = terminal[0]
    assert name == "Lillestrøm terminal" and mode in ("bus_stop", "bus_terminal")
    assert per_hour > 0 and lines
    assert 10 <= accuracy < 100  # placed at the mean of its three quays, up to ~25 m away
    # every hub kept lies within 3 km of Lillestrøm kommune
    far = rows(
        empty_db,
        "SELECT count(*) FROM hubs h WHERE NOT EXISTS "
        "(SELECT 1 FROM boundary b WHERE ST_DWithin(b.geom, h.geom, 3000))",
    )
    assert far[0][0] == 0


# -- bad input: one clear line naming file and element, nothing written ------------------------
def refused(url: str, path: Path, match: str, **kw) -> str:
    before = everything(url)
    with pytest.raises(ValidationError, match=match) as info:
        run(url, path, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert everything(url) == before
    return message


def test_truncated_xml_is_refused(oslo_db: str, tmp_path: Path):
    run(oslo_db, MINIMAL)  # something to keep
    folder = copy_minimal(tmp_path)
    line4 = folder / "RUT_RUT-Line-4_4_Vestli---Bergkrystallen.xml"
    data = line4.read_bytes()
    line4.write_bytes(data[: int(len(data) * 0.8)])
    message = refused(oslo_db, folder, "not well-formed XML")
    assert message.startswith("RUT_RUT-Line-4_4_Vestli---Bergkrystallen.xml: ")
    assert "ServiceJourney" in message  # the element the file breaks off in


def test_entity_expansion_is_refused(oslo_db: str, tmp_path: Path):
    """A "billion laughs" DOCTYPE in a real file: never expanded, refused, nothing written."""
    folder = copy_minimal(tmp_path)
    stops = folder / "_stops.xml"
    laughs = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    text = stops.read_text(encoding="utf-8")
    text = f"<!DOCTYPE PublicationDelivery [{''.join(laughs)}]>\n" + text.replace(
        '<Name lang="no">Jernbanetorget</Name>', '<Name lang="no">&l9;</Name>', 1
    )
    stops.write_text(text, encoding="utf-8")
    refused(oslo_db, folder, r"^_stops.xml: declares a DOCTYPE")


def test_truncated_and_damaged_zips_are_refused(oslo_db: str, tmp_path: Path):
    cut = tmp_path / "AOR.zip"
    data = AOR.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert refused(oslo_db, cut, "not a readable zip").startswith("AOR.zip: ")

    damaged = tmp_path / "minimal.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(MINIMAL.glob("*.xml")):
            z.write(p, p.name)
    with zipfile.ZipFile(damaged) as z:
        info = z.getinfo("_stops.xml")
    raw = bytearray(damaged.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    raw[start : start + 200] = bytes(200)
    damaged.write_bytes(bytes(raw))
    message = refused(oslo_db, damaged, "damaged in the zip")
    assert message.startswith("minimal.zip:_stops.xml: ")


def test_wrong_namespace_and_profile_are_refused(oslo_db: str, tmp_path: Path):
    folder = copy_minimal(tmp_path)
    stops = folder / "_stops.xml"
    original = stops.read_text(encoding="utf-8")
    stops.write_text(original.replace("http://www.netex.org.uk/netex", "urn:example:not-netex"))
    message = refused(oslo_db, folder, "is not in the NeTEx namespace")
    assert message.startswith("_stops.xml: root element <PublicationDelivery>")

    stops.write_text(original, encoding="utf-8")
    shared = folder / "_RUT_shared_data.xml"
    shared.write_text(
        shared.read_text(encoding="utf-8").replace(
            "1.07:NO-NeTEx-networktimetable:1.1", "1.09:FR-NETEX_ARRET-2.1"
        ),
        encoding="utf-8",
    )
    refused(oslo_db, folder, r"_RUT_shared_data.xml: .* is not the Nordic NeTEx profile")


def test_data_for_another_municipality_is_refused(empty_db: str):
    load_boundary(empty_db, "3420")  # Elverum: Oslo's stops lie 120 km away
    message = refused(empty_db, MINIMAL, "no StopPlace lies within 3000 m of Elverum kommune")
    assert "3 outside" in message and "another municipality" in message


def test_zip_bombs_are_refused_before_inflating(oslo_db: str, tmp_path: Path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(MINIMAL.glob("*.xml")):
            z.write(p, p.name)
        z.writestr("padding.xml", b"<a>" + b" " * (64 * 1024**2) + b"</a>")
    message = refused(oslo_db, bomb, "possible zip bomb")
    assert message.startswith("bomb.zip: padding.xml would inflate")
    # and a cap on the total: AOR inflates to 59 MB
    refused(oslo_db, AOR, "inflates to more than", max_uncompressed_bytes=10 * 1024**2)


def test_dated_journeys_and_timetable_without_weekday(oslo_db: str, tmp_path: Path):
    """The dated journey of 2018-11-01 (OperatingDay) counts on that day; a timetable whose
    journeys never run on a weekday asks for --date."""
    result = run(oslo_db, MINIMAL, service_date=date(2018, 11, 1))
    assert result.service_date == date(2018, 11, 1)
    got = rows(oslo_db, "SELECT departures_per_hour FROM hubs WHERE nsr_id = 'NSR:StopPlace:58243'")
    assert got[0][0] == 0.1  # RUT:ServiceJourney:4-3 leaves Bergkrystallen at 12:10

    folder = copy_minimal(tmp_path)
    shared = folder / "_RUT_shared_data.xml"
    text = shared.read_text(encoding="utf-8")
    text = text.replace("<DaysOfWeek>Weekdays</DaysOfWeek>", "<DaysOfWeek>Saturday</DaysOfWeek>")
    text = text.replace("<CalendarDate>2018-11-01<", "<CalendarDate>2018-11-03<")
    shared.write_text(text, encoding="utf-8")
    assert date(2018, 11, 3).weekday() == 5
    refused(oslo_db, folder, "no weekday service; pass --date")
