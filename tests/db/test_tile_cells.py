"""premises_tile_cells (migration tile_cells): the clusters of low-zoom tiles, kept by triggers,
equal a count from scratch after every kind of write."""

from __future__ import annotations

import psycopg
import pytest

from geoplan.ogc.tiles import CELL_LEVELS

U = "((lonlat[0] + 180) / 360)"
V = "((1 - ln(tan(pi() / 4 + radians(lonlat[1]) / 2)) / pi()) / 2)"
FROM_SCRATCH = f"""
    SELECT l.z, floor({U} * 2 ^ (l.z + 4))::int, floor({V} * 2 ^ (l.z + 4))::int, status,
           count(*)::int, sum({U}), sum({V})
    FROM premises CROSS JOIN unnest(%s::int[]) AS l(z) GROUP BY 1, 2, 3, 4"""


def cells(conn: psycopg.Connection) -> dict[tuple, tuple]:
    rows = conn.execute("SELECT z, cx, cy, status, n, sx, sy FROM premises_tile_cells").fetchall()
    return {r[:4]: r[4:] for r in rows}


def expected(conn: psycopg.Connection) -> dict[tuple, tuple]:
    return {r[:4]: r[4:] for r in conn.execute(FROM_SCRATCH, [list(CELL_LEVELS)]).fetchall()}


def assert_consistent(conn: psycopg.Connection) -> None:
    have, want = cells(conn), expected(conn)
    assert have.keys() == want.keys()
    for key, (n, sx, sy) in want.items():
        assert have[key][0] == n
        assert have[key][1] == pytest.approx(sx, abs=1e-9)
        assert have[key][2] == pytest.approx(sy, abs=1e-9)


def test_cells_follow_every_write(loaded_db, conn):
    assert_consistent(conn)  # the shipped premises, loaded by COPY
    assert {k[0] for k in cells(conn)} == set(CELL_LEVELS)
    conn.execute(
        """INSERT INTO premises (id, address, uses, floor_area_m2, status, source, verified,
                                 sample, geom)
           SELECT 'c-' || d.path[1], 'x', ARRAY['office'], 100, 'available', 'test', false,
                  true, d.geom
           FROM boundary b, ST_Dump(ST_GeneratePoints(b.geom, 500, 3)) d"""
    )
    assert_consistent(conn)
    # a move, a status change, a change that moves nothing, a delete
    conn.execute("UPDATE premises SET geom = ST_Translate(geom, 700, -300) WHERE id LIKE 'c-1%'")
    assert_consistent(conn)
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id LIKE 'c-2%'")
    assert_consistent(conn)
    before = cells(conn)
    conn.execute("UPDATE premises SET rent_nok_m2_year = 1234")
    assert cells(conn) == before
    conn.execute("DELETE FROM premises WHERE id LIKE 'c-3%' OR id = 'sample-001'")
    assert_consistent(conn)
    assert all(n > 0 for n, _, _ in cells(conn).values())  # emptied cells are gone
    conn.execute("DELETE FROM premises")
    assert cells(conn) == {}
    conn.rollback()
    assert_consistent(conn)
    conn.execute("TRUNCATE premises CASCADE")
    assert cells(conn) == {}
    conn.rollback()
