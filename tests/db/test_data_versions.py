"""The layers' data versions: bumped once per writing statement, at commit, by every write path."""

from __future__ import annotations

import importlib.util
import select

import psycopg

from geoplan.config import REPO_ROOT
from geoplan.store import db
from geoplan.store.data_versions import CHANNEL, LAYERS, read_versions

MIGRATION = REPO_ROOT / "geoplan/store/migrations/versions/0015_data_versions.py"


def _migration():
    spec = importlib.util.spec_from_file_location("data_versions_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def versions(url: str) -> dict[str, int]:
    with psycopg.connect(db.conninfo(url)) as conn:
        return {layer: v.version for layer, v in read_versions(conn).items()}


def test_every_layer_has_a_version_and_every_layer_table_a_trigger(db_url):
    assert set(versions(db_url)) == set(LAYERS) == set(_migration().LAYER_TABLES)
    with psycopg.connect(db.conninfo(db_url)) as conn:
        triggered = {
            r[0]
            for r in conn.execute(
                "SELECT event_object_table FROM information_schema.triggers "
                "WHERE trigger_name LIKE '%\\_data\\_version'"
            )
        }
    tables = {t for tables in _migration().LAYER_TABLES.values() for t in tables}
    assert triggered == tables


def test_a_statement_bumps_its_layer_once_and_only_when_it_commits(loaded_db):
    before = versions(loaded_db)
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        # 45 rows in one statement: one bump
        conn.execute("UPDATE premises SET description = description || ' ' ")
        assert versions(loaded_db) == before  # not visible before the commit
        conn.rollback()
    assert versions(loaded_db) == before  # a rolled-back write bumps nothing

    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        conn.execute("UPDATE premises SET description = description || ' ' ")
        conn.execute("UPDATE hubs SET name = name")
    after = versions(loaded_db)
    assert after["premises"] == before["premises"] + 1
    assert after["hubs"] == before["hubs"] + 1
    assert {k: v for k, v in after.items() if k not in ("premises", "hubs")} == {
        k: v for k, v in before.items() if k not in ("premises", "hubs")
    }


def test_derived_tables_and_truncate_bump_their_layer(loaded_db):
    before = versions(loaded_db)
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        conn.execute("UPDATE premises_walk SET walk_min = walk_min")  # a re-annotation
        conn.execute("DELETE FROM hub_stops")
        conn.execute("TRUNCATE catchments")
    after = versions(loaded_db)
    assert after["premises"] == before["premises"] + 1
    assert after["hubs"] == before["hubs"] + 1
    assert after["catchments"] == before["catchments"] + 1


def test_the_load_path_bumps_what_it_writes(empty_db):
    from geoplan.ingest.shipped import load_layers
    from tests.conftest import LAYERS_DIR

    before = versions(empty_db)
    with db.transaction(empty_db) as conn:
        load_layers(conn, LAYERS_DIR)
    after = versions(empty_db)
    for layer in ("boundary", "areas", "hubs", "premises", "catchments"):
        assert after[layer] > before[layer], layer
    assert after["addresses"] == before["addresses"]


def test_a_commit_notifies_listeners_with_the_layer(db_url):
    with psycopg.connect(db.conninfo(db_url), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with psycopg.connect(db.conninfo(db_url)) as writer:
            writer.execute("UPDATE areas SET name = name")
            # nothing before the commit
            assert select.select([listener.fileno()], [], [], 0.3)[0] == []
        payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert payloads == ["areas"]


def test_migration_downgrades_and_upgrades_cleanly(make_database):
    url = make_database()
    db.upgrade(url=url)
    db.downgrade("0014", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT to_regclass('data_versions')").fetchone()[0] is None
        conn.execute("UPDATE premises SET description = description")  # no trigger left behind
    db.upgrade(url=url)
    assert set(versions(url)) == set(LAYERS)
