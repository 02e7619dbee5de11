"""The OSM walking-network import, on a small hand-drawn .osm file read by pyosmium.

The fixture network (coordinates in metres from ORIGIN, EPSG:25833)::

      y=150          F(600,150)----G(800,150)          cycleway foot=designated (kept)
                      |              :                  plain cycleway F..(800,50) (dropped)
      y=50   A0 ---- A200 - A500 - A600 - A700 - A800 - A1000    road "A" (residential)
                       x      x             x              |
      y=0    ======== railway, not walkable ===========     |  footbridge (the ONLY crossing)
                       x      x             x              |
      y=-50  B0 ---- B200 - B500 -------- B700 --------- B1000  road "B" (residential)

  x: crossings that do NOT count: footway foot=no (x=200), motorway (x=500),
     service access=private (x=700).
  Island: a lone footway at x=2000..2100, y=0 (not connected to anything).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import psycopg
import pytest
from pyproj import Transformer
from typer.testing import CliRunner

from geoplan.proximity.network import import_osm, is_walkable
from geoplan.store import db

ORIGIN = (274_000.0, 6_648_000.0)
_TO_WGS84 = Transformer.from_crs(25833, 4326, always_xy=True)

NODES: dict[int, tuple[float, float]] = {
    # road A (north of the railway)
    1: (0, 50),
    2: (200, 50),
    3: (500, 50),
    4: (600, 50),
    5: (700, 50),
    6: (800, 50),
    7: (1000, 50),
    # road B (south)
    11: (0, -50),
    12: (200, -50),
    13: (500, -50),
    15: (700, -50),
    17: (1000, -50),
    # spur and cycleways
    21: (600, 150),
    22: (800, 150),
    # railway
    31: (-100, 0),
    32: (1200, 0),
    # island
    41: (2000, 0),
    42: (2100, 0),
}
WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (100, [1, 2, 3, 4, 5, 6, 7], {"highway": "residential", "name": "A-veien"}),
    (101, [11, 12, 13, 15, 17], {"highway": "residential", "name": "B-veien"}),
    (102, [7, 17], {"highway": "footway", "bridge": "yes"}),
    (103, [2, 12], {"highway": "footway", "foot": "no"}),
    (104, [3, 13], {"highway": "motorway"}),
    (105, [5, 15], {"highway": "service", "access": "private"}),
    (106, [4, 21], {"highway": "footway"}),
    (107, [21, 22], {"highway": "cycleway", "foot": "designated"}),
    (108, [22, 6], {"highway": "cycleway"}),
    (109, [31, 32], {"railway": "rail"}),
    (110, [41, 42], {"highway": "footway"}),
]


def xy(dx: float, dy: float) -> tuple[float, float]:
    """Storage coordinates (EPSG:25833) of a point given relative to ORIGIN."""
    return ORIGIN[0] + dx, ORIGIN[1] + dy


def lonlat(dx: float, dy: float) -> tuple[float, float]:
    return _TO_WGS84.transform(*xy(dx, dy))


def write_osm(path: Path, nodes=NODES, ways=WAYS) -> Path:
    """Write an OSM XML file of ``nodes`` (relative metres) and ``ways``."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (dx, dy) in nodes.items():
        lon, lat = lonlat(dx, dy)
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_test_network(url: str, tmp_path: Path, **kw):
    with db.transaction(url) as conn:
        return import_osm(conn, write_osm(tmp_path / "net.osm"), **kw)


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "primary_link"}, True),
        ({"highway": "footway", "footway": "crossing"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "trunk_link"}, False),
        ({"highway": "trunk", "foot": "yes"}, True),
        ({"highway": "cycleway"}, False),
        ({"highway": "cycleway", "foot": "designated"}, True),
        ({"highway": "footway", "foot": "no"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "private", "foot": "yes"}, True),
        ({"highway": "construction"}, False),
        ({"railway": "rail"}, False),
    ],
)
def test_walkable_tags(tags: dict[str, str], walkable: bool) -> None:
    assert is_walkable(tags) is walkable


def test_import_keeps_walkable_ways_and_splits_at_intersections(empty_db, tmp_path) -> None:
    result = load_test_network(empty_db, tmp_path)
    assert result.ways_kept == 6  # A, B, bridge, spur, designated cycleway, island
    # A splits at the spur (x=600) only: the excluded crossers do not make intersections.
    assert result.edges == 7
    assert result.nodes == 9
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        rows = conn.execute(
            "SELECT osm_way_id, round(length_m), round(cost), round(reverse_cost) "
            "FROM walk_edges ORDER BY osm_way_id, length_m"
        ).fetchall()
        srid = conn.execute("SELECT DISTINCT ST_SRID(geom) FROM walk_edges").fetchall()
        ends_ok = conn.execute(
            "SELECT bool_and(ST_DWithin(ST_StartPoint(e.geom), s.geom, 0.01) "
            "AND ST_DWithin(ST_EndPoint(e.geom), t.geom, 0.01)) FROM walk_edges e "
            "JOIN walk_nodes s ON s.id = e.source JOIN walk_nodes t ON t.id = e.target"
        ).fetchone()[0]
    assert rows == [
        (100, 400, 400, 400),
        (100, 600, 600, 600),
        (101, 1000, 1000, 1000),
        (102, 100, 100, 100),
        (106, 100, 100, 100),
        (107, 200, 200, 200),
        (110, 100, 100, 100),
    ]
    assert srid == [(25833,)]
    assert ends_ok


def test_reimport_replaces_the_network(empty_db, tmp_path) -> None:
    load_test_network(empty_db, tmp_path)
    small = write_osm(
        tmp_path / "small.osm", {1: (0, 0), 2: (0, 100)}, [(1, [1, 2], {"highway": "path"})]
    )
    with db.transaction(empty_db) as conn:
        result = import_osm(conn, small)
    assert (result.nodes, result.edges) == (2, 1)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        assert conn.execute("SELECT count(*) FROM walk_edges").fetchone()[0] == 1


def test_failed_import_leaves_the_old_network(empty_db, tmp_path) -> None:
    load_test_network(empty_db, tmp_path)
    empty = write_osm(tmp_path / "nothing.osm", {1: (0, 0)}, [])
    with pytest.raises(Exception, match="no walkable ways"), db.transaction(empty_db) as conn:
        import_osm(conn, empty)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        assert conn.execute("SELECT count(*) FROM walk_edges").fetchone()[0] == 7


def test_cli_network_import_and_errors(empty_db, tmp_path) -> None:
    from geoplan.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["network", "import", str(write_osm(tmp_path / "n.osm"))])
    assert ok.exit_code == 0, ok.output
    assert "7 edges" in ok.output
    missing = runner.invoke(app, ["network", "import", str(tmp_path / "missing.osm.pbf")])
    assert missing.exit_code == 1
    assert "file not found" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a pbf file")
    bad = runner.invoke(app, ["network", "import", str(garbage)])
    assert bad.exit_code == 1
    assert len(bad.output.strip().splitlines()) == 1
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        assert conn.execute("SELECT count(*) FROM walk_edges").fetchone()[0] == 7
