"""Alembic migrations: upgrade to head, downgrade to base, upgrade again."""

from __future__ import annotations

import json

import psycopg

from geoplan import db

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
        cols = conn.execute(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'"
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


def test_0002_renders_existing_premises_and_downgrades_cleanly(make_database) -> None:
    url = make_database()
    db.upgrade("0001", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO premises (id, address, uses, floor_area_m2, source, licence, "
            "accuracy_m, geom) VALUES ('p1', 'Storgata 1', ARRAY['office'], 250, 'test', "
            "'none', 10, ST_SetSRID(ST_MakePoint(607000, 6645000), 25833))"
        )
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        stored = conn.execute("SELECT feature FROM premises_features WHERE id = 'p1'").fetchone()[0]
    feature = json.loads(stored)
    assert feature["id"] == "p1" and feature["properties"]["floor_area_m2"] == 250
    assert feature["geometry"]["type"] == "Point"
    db.downgrade("0001", url=url)
    assert "premises_features" not in _tables(url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 1
