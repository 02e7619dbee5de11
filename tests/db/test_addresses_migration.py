"""Migration 0006 (addresses): the two tables, their indexes and pg_trgm; a clean downgrade."""

from __future__ import annotations

import psycopg

from geoplan.store import db


def _names(url: str, sql: str) -> set[str]:
    with psycopg.connect(db.conninfo(url)) as conn:
        return {r[0] for r in conn.execute(sql)}


TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
INDEXES = "SELECT indexname FROM pg_indexes WHERE tablename IN ('addresses', 'address_streets')"


def test_upgrade_and_downgrade(make_database) -> None:
    url = make_database()
    db.upgrade("0005", url=url)
    assert not {"addresses", "address_streets"} & _names(url, TABLES)
    db.upgrade("0006", url=url)
    assert {"addresses", "address_streets"} <= _names(url, TABLES)
    assert _names(url, INDEXES) >= {
        "addresses_geom_gist",
        "addresses_street_loose_idx",
        "addresses_kommunenummer_idx",
        "addresses_lokalid_key",
        "address_streets_street_loose_idx",
        "address_streets_street_loose_trgm",
        "address_streets_kommunenummer_idx",
    }
    assert "pg_trgm" in _names(url, "SELECT extname FROM pg_extension")
    with psycopg.connect(db.conninfo(url)) as conn:
        # the trigram operator class the fuzzy street search relies on
        assert conn.execute("SELECT similarity('storgate', 'storgata')").fetchone()[0] > 0.3
    db.downgrade("0005", url=url)
    assert not {"addresses", "address_streets"} & _names(url, TABLES)
    db.upgrade("0006", url=url)  # again: the extension is kept, the tables come back
    assert {"addresses", "address_streets"} <= _names(url, TABLES)
