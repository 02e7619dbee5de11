"""Alembic migrations: upgrade to head, downgrade to base, upgrade again."""

from __future__ import annotations

import importlib
import json

import psycopg
import pytest

from geoplan.premises import PremisesQuery, search_features
from geoplan.proximity import default_walk
from geoplan.store import db

search_module = importlib.import_module("geoplan.premises.search")

TABLES = {
    "boundary",
    "areas",
    "hubs",
    "premises",
    "premises_history",
    "premises_features",
    "api_keys",
    "walk_nodes",
    "walk_edges",
    "catchments",
    "assessments",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(db.conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(make_database) -> None:
    url = make_database()
    db.upgrade(url=url)
    assert _tables(url) >= TABLES
    assert db.current_revision(url) is not None
    db.downgrade("base", url=url)
    assert not (TABLES & _tables(url))
    assert db.current_revision(url) is None
    db.upgrade(url=url)
    assert _tables(url) >= TABLES


def test_every_geometry_is_25833_with_gist_index(db_url: str) -> None:
    with psycopg.connect(db.conninfo(db_url)) as conn:
        cols = conn.execute(  # tables only: a view (premises_annotated) reads a table's index
            "SELECT f_table_name, srid FROM geometry_columns g JOIN information_schema.tables t "
            "ON t.table_schema = g.f_table_schema AND t.table_name = g.f_table_name "
            "WHERE f_table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        ).fetchall()
        gist = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'"
            ).fetchall()
        }
    assert {t for t, _ in cols} >= {"boundary", "areas", "hubs", "premises", "catchments"}
    assert all(srid == 25833 for _, srid in cols)
    assert {t for t, _ in cols} <= gist


def test_0002_moves_the_walk_annotation_and_back(make_database) -> None:
    """Upgrading a 0001 store keeps every premises' annotation; downgrading restores it."""
    url = make_database()
    db.upgrade("0001", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom, nearest_hub_id, "
            "walk_m, walk_min, walk_method) VALUES "
            "('a', 'x', '{office}', 10, 's', ST_SetSRID(ST_MakePoint(1, 2), 25833), 'h1', 130, "
            "1.56, 'straight_line'), "
            "('b', 'y', '{office}', 10, 's', ST_SetSRID(ST_MakePoint(3, 4), 25833), NULL, NULL, "
            "NULL, NULL)"
        )
    db.upgrade(url=url)
    query = "SELECT id, nearest_hub_id, walk_m, walk_min, walk_method FROM {} ORDER BY id"
    expect = [("a", "h1", 130.0, 1.56, "straight_line"), ("b", None, None, None, None)]
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute(query.format("premises_annotated")).fetchall() == expect
        assert conn.execute("SELECT count(*) FROM premises_walk").fetchone()[0] == 1
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'premises'"
            )
        }
        assert not cols & {"nearest_hub_id", "walk_m", "walk_min", "walk_method"}
    db.downgrade("0001", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute(query.format("premises")).fetchall() == expect


def test_0003_renders_existing_premises_and_downgrades_cleanly(make_database) -> None:
    url = make_database()
    db.upgrade("0002", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, licence, "
            "accuracy_m, geom) VALUES ('p1', 'Storgata 1', ARRAY['office'], 250, 'test', "
            "'none', 10, ST_SetSRID(ST_MakePoint(607000, 6645000), 25833))"
        )
    db.upgrade("0003", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        head = conn.execute("SELECT head FROM premises_features WHERE id = 'p1'").fetchone()[0]
        lon = conn.execute("SELECT lonlat[0] FROM premises_annotated WHERE id = 'p1'").fetchone()[0]
    # the Feature up to its listing properties, left open for the walk (see geoplan.ogc)
    feature = json.loads(head + "}}")
    assert feature["id"] == "p1" and feature["properties"]["floor_area_m2"] == 250
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"][0] == pytest.approx(lon, abs=1e-7)
    db.downgrade("0002", url=url)
    assert "premises_features" not in _tables(url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 1


def test_0004_rekeys_stored_features_by_seq_and_downgrades_cleanly(make_database) -> None:
    url = make_database()
    db.upgrade("0003", url=url)
    insert = (
        "INSERT INTO premises (id, address, uses, floor_area_m2, source, licence, accuracy_m, "
        "geom) VALUES (%s, 'Storgata 1', ARRAY['office'], 250, 'test', 'none', 10, "
        "ST_SetSRID(ST_MakePoint(607000, 6645000), 25833))"
    )
    heads_by_id = (
        "SELECT p.id, f.head FROM premises_features f JOIN premises p USING ({key}) ORDER BY 1"
    )
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(insert, ["p1"])
        before = conn.execute(heads_by_id.format(key="id")).fetchall()
    db.upgrade("0004", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        assert conn.execute(heads_by_id.format(key="seq")).fetchall() == before
        # the new triggers: insert, update, rename and delete keep one head per listing
        conn.execute(insert, ["p2"])
        conn.execute("UPDATE premises SET floor_area_m2 = 300, id = 'p2b' WHERE id = 'p2'")
        conn.execute("DELETE FROM premises WHERE id = 'p1'")
        heads = dict(conn.execute(heads_by_id.format(key="seq")).fetchall())
        assert list(heads) == ["p2b"]
        assert json.loads(heads["p2b"] + "}}")["properties"]["floor_area_m2"] == 300
        assert json.loads(heads["p2b"] + "}}")["id"] == "p2b"
        # walk numbers are appended as text by the read path: only finite ones are accepted
        seq = conn.execute("SELECT seq FROM premises WHERE id = 'p2b'").fetchone()[0]
        for bad in ("'NaN'", "'Infinity'", "-1"):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(
                    "INSERT INTO premises_walk (premises_seq, hub_id, walk_m, walk_min, method) "
                    f"VALUES (%s, 'h', {bad}, 1, 'straight_line')",
                    [seq],
                )
    db.downgrade("0003", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        assert [r[0] for r in conn.execute(heads_by_id.format(key="id"))] == ["p2b"]
        conn.execute("UPDATE premises SET id = 'p2c' WHERE id = 'p2b'")  # 0003's triggers again
        assert [r[0] for r in conn.execute(heads_by_id.format(key="id"))] == ["p2c"]


def test_premises_fields_upgrade_keeps_listings_as_single_spaces(make_database) -> None:
    """Upgrading a 0010 store with listings in it: every row and value kept, no units invented,
    stored heads re-rendered with the new fields; downgrading restores the 0010 heads."""
    url = make_database()
    db.upgrade("0010", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, rent_nok_m2_year, source, "
            "geom) VALUES ('p1', 'Storgata 1', ARRAY['office'], 250, 1800, 'test', "
            "ST_SetSRID(ST_MakePoint(273962, 6650157), 25833))"
        )
        before = conn.execute("SELECT head FROM premises_features").fetchone()[0]
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT floor_area_m2, rent_nok_m2_year, unit_count, energy_label, loading_dock "
            "FROM premises_annotated WHERE id = 'p1'"
        ).fetchone()
        assert row == (250.0, 1800.0, 0, None, None)
        assert conn.execute("SELECT count(*) FROM premises_units").fetchone()[0] == 0
        props = json.loads(conn.execute("SELECT head FROM premises_features").fetchone()[0] + "}}")[
            "properties"
        ]
        assert props["unit_count"] == 0 and "energy_label" in props
        assert props["floor_area_m2"] == 250
        # the new checks hold
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE premises SET energy_label = 'H'")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE premises SET year_built = 2000, year_renovated = 1999")
    db.downgrade("0010", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT head FROM premises_features").fetchone()[0] == before


def test_tile_reads_upgrade_counts_the_listings_there_and_keeps_counting(make_database) -> None:
    """Upgrading a 0016 store with listings: premises_counts holds their counts, the triggers
    keep them exact through inserts, updates, deletes and TRUNCATE; the tile index covers the
    tile's columns; downgrading restores 0003's index."""
    url = make_database()
    db.upgrade("0016", url=url)
    insert = (
        "INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, status, geom) "
        "SELECT 'p' || i, 'Storgata ' || i, ARRAY['office'], 100 + i, 'test', i %% 3 = 0, "
        "CASE WHEN i %% 5 = 0 THEN 'withdrawn' ELSE 'available' END, "
        "ST_SetSRID(ST_MakePoint(273962 + i, 6650157), 25833) FROM generate_series(1, %s) i"
    )
    truth = "SELECT status, sample, count(*) FROM premises GROUP BY 1, 2 ORDER BY 1, 2"
    kept = "SELECT status, sample, n FROM premises_counts ORDER BY 1, 2"
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(insert, (30,))
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'premises_lonlat_gist'"
        ).fetchone()[0]
        assert "INCLUDE (id, seq, address, uses" in index and "sample)" in index
        assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall()
        assert len(conn.execute(kept).fetchall()) == 4
        for statement in (
            "UPDATE premises SET status = 'withdrawn' WHERE id IN ('p1', 'p2', 'p3')",
            "UPDATE premises SET sample = NOT sample WHERE id LIKE 'p1%'",
            "UPDATE premises SET address = 'Ny 1' WHERE id = 'p4'",  # moves no count
            "DELETE FROM premises WHERE id IN ('p6', 'p9', 'p12')",
            "DELETE FROM premises WHERE status = 'withdrawn' AND sample",  # a combination empties
        ):
            conn.execute(statement)
            assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall(), statement
        assert all(n > 0 for *_, n in conn.execute(kept))
        conn.execute("TRUNCATE premises CASCADE")
        assert conn.execute(kept).fetchall() == []
        conn.execute(insert.replace("'p' || i", "'q' || i"), (7,))
        assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall()
    db.downgrade("0016", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'premises_lonlat_gist'"
        ).fetchone()[0]
        assert index.endswith("INCLUDE (id, seq)")
        assert "premises_counts" not in _tables(url)


def test_search_heads_upgrade_cuts_the_stored_heads_there(make_database) -> None:
    """Upgrading a 0017 store with listings: each stored head gets its search pieces, a search
    page made of them is the page built live, writes keep them in step; downgrading drops them
    and keeps the heads."""
    url = make_database()
    db.upgrade("0017", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, description, geom) "
            "SELECT 'p' || i, 'Gate \"' || i || '\" ø', ARRAY['office'], 100 + i, 'test', "
            "'a \\ b, \"version\" : x', ST_SetSRID(ST_MakePoint(273962 + i, 6650157), 25833) "
            "FROM generate_series(1, 12) i"
        )
        heads = conn.execute("SELECT seq, head FROM premises_features ORDER BY seq").fetchall()
    db.upgrade(url=url)
    q = PremisesQuery(limit=100)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM premises_search_heads").fetchone()[0] == 12
        page = search_features(conn, q).features_json
        assert page == search_module._listing_features(conn, q, default_walk(None)).features_json
        conn.execute("UPDATE premises SET address = 'Ny 1' WHERE id = 'p4'")
        assert '"address" : "Ny 1"' in search_features(conn, q).features_json
    db.downgrade("0017", url=url)
    assert "premises_search_heads" not in _tables(url)
    with psycopg.connect(db.conninfo(url)) as conn:
        after = conn.execute("SELECT seq, head FROM premises_features ORDER BY seq").fetchall()
    assert [seq for seq, _ in after] == [seq for seq, _ in heads]


def test_search_counts_upgrade_counts_the_listings_there(make_database) -> None:
    """Upgrading a 0018 store with listings: premises_search_counts holds their numbers per
    status, uses and municipality, and its triggers keep them; downgrading drops it."""
    url = make_database()
    db.upgrade("0018", url=url)
    truth = (
        "SELECT status, uses_mask, coalesce(kommunenummer, ''), count(*) FROM premises_search "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    kept = "SELECT status, uses_mask, kommunenummer, n FROM premises_search_counts ORDER BY 1, 2, 3"
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, status, "
            "kommunenummer, geom) SELECT 'p' || i, 'Storgata ' || i, "
            "CASE WHEN i % 2 = 0 THEN '{office}'::text[] ELSE '{office,retail}' END, 100, "
            "'test', CASE WHEN i % 5 = 0 THEN 'withdrawn' ELSE 'available' END, "
            "CASE WHEN i % 3 = 0 THEN NULL ELSE '3222' END, "
            "ST_SetSRID(ST_MakePoint(273962 + i, 6650157), 25833) FROM generate_series(1, 30) i"
        )
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall()
        assert len(conn.execute(kept).fetchall()) == 8
        conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id IN ('p1', 'p2')")
        assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall()
    db.downgrade("0018", url=url)
    assert "premises_search_counts" not in _tables(url)
