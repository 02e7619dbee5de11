"""The fast premises search (``premises_search``, migration ``premises_search``) answers exactly
what the search over the listings answers, stays current through every write, and says when
``numberMatched`` is an estimate.

The reference is :func:`geoplan.premises.search._listing_features`: the search as it ran
before ``premises_search`` (one ``count(*)`` and one page over ``premises_annotated``, Features
built live by ``json_build_object``), kept for searches naming ``hub``. The fast path must give
the same bytes.
"""

from __future__ import annotations

import importlib
from datetime import date

import psycopg
import pytest

from geoplan.premises import PremisesQuery, search_features
from geoplan.proximity import annotate_premises, default_walk
from geoplan.vocab import USE_CATEGORIES

search_module = importlib.import_module("geoplan.premises.search")

QUERIES = [
    PremisesQuery(),
    PremisesQuery(uses=["office"], max_walk_min=15),
    PremisesQuery(uses=["office", "retail"], sort="area", limit=7, offset=3),
    PremisesQuery(min_area_m2=300, max_area_m2=2000, sort="rent"),
    PremisesQuery(max_rent_nok_m2=2000, sort="updated", limit=5, offset=10),
    PremisesQuery(kommune=["3222"], available_by=date(2026, 6, 1)),
    PremisesQuery(area="visperud", sort="area"),
    PremisesQuery(include_withdrawn=True, max_walk_min=8, sort="rent"),
    PremisesQuery(uses=["warehouse_logistics"], offset=1000),
]


def _reference(conn: psycopg.Connection, q: PremisesQuery):
    return search_module._listing_features(conn, q, default_walk(None))


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: repr(q)[:90])
def test_fast_search_gives_the_bytes_of_the_search_over_the_listings(loaded_db, conn, q):
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'sample-002'")
    fast, slow = search_features(conn, q), _reference(conn, q)
    assert fast.features_json == slow.features_json
    assert (fast.number_matched, fast.number_returned) == (
        slow.number_matched,
        slow.number_returned,
    )
    assert fast.number_matched_exact and fast.more == slow.more


def test_a_listing_without_a_stored_head_is_built_live(loaded_db, conn):
    conn.execute("DELETE FROM premises_features WHERE seq IN (SELECT seq FROM premises LIMIT 5)")
    q = PremisesQuery(limit=100)
    assert search_features(conn, q).features_json == _reference(conn, q).features_json


def test_premises_search_follows_writes_and_annotation(loaded_db, conn):
    q = PremisesQuery(uses=["retail"], min_area_m2=100_000, limit=100)
    assert search_features(conn, q).number_matched == 0
    # a listing's attributes (an UPDATE), text that needs escaping, a new listing (an INSERT)
    conn.execute(
        "UPDATE premises SET uses = '{retail,office}', floor_area_m2 = 123456, "
        "address = 'Gate \"7\" \\ ø' WHERE id = 'sample-003'"
    )
    conn.execute(
        "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) "
        "SELECT 'new-1', 'Ny', '{retail}', 200000, 'test', geom FROM premises "
        "WHERE id = 'sample-004'"
    )
    annotate_premises(conn, ["new-1"])
    fast, slow = search_features(conn, q), _reference(conn, q)
    assert fast.number_matched == 2 and fast.features_json == slow.features_json
    # the walk: a hub moved far away changes every walk (only changed rows are written)
    walk = PremisesQuery(max_walk_min=10, limit=1000)
    before = search_features(conn, walk).number_matched
    conn.execute("UPDATE hubs SET geom = ST_Translate(geom, 50000, 0)")
    annotate_premises(conn)
    after = search_features(conn, walk)
    assert after.features_json == _reference(conn, walk).features_json
    assert after.number_matched < before
    # a listing renamed keeps its stored search head in step (the key is its first property)
    conn.execute("UPDATE premises SET id = 'new-1-renamed' WHERE id = 'new-1'")
    fast = search_features(conn, q)
    assert '"id" : "new-1-renamed"' in fast.features_json
    assert fast.features_json == _reference(conn, q).features_json
    # and a listing that is deleted leaves the search, and its stored pieces with it
    conn.execute("DELETE FROM premises WHERE id = 'new-1-renamed'")
    assert search_features(conn, q).number_matched == 1
    orphans = "SELECT count(*) FROM premises_search_heads x LEFT JOIN premises p USING (seq) "
    assert conn.execute(orphans + "WHERE p.seq IS NULL").fetchone()[0] == 0


def test_uses_mask_follows_the_vocabulary(loaded_db, conn):
    for i, use in enumerate(USE_CATEGORIES):
        mask = conn.execute("SELECT geoplan_uses_mask(%s)", ([use],)).fetchone()[0]
        assert mask == 1 << i
        assert all(m & mask for m in search_module._uses_masks([use]))
    assert conn.execute("SELECT geoplan_uses_mask('{office,retail}')").fetchone()[0] == 3


FAR = date(2100, 1, 1)  # available by then: every listing, but a condition the counts lack


def test_past_the_cap_number_matched_is_a_flagged_estimate(loaded_db, conn, monkeypatch):
    monkeypatch.setattr(search_module, "COUNT_CAP", 10)  # the statement reads it when built
    page = search_features(conn, PremisesQuery(limit=20, available_by=FAR))
    assert not page.number_matched_exact and page.number_matched > 10
    assert page.number_returned == 20 and page.more
    exact = _reference(conn, PremisesQuery(limit=20, available_by=FAR))
    assert page.features_json == exact.features_json
    last = search_features(conn, PremisesQuery(limit=20, offset=40, available_by=FAR))
    assert last.number_returned == exact.number_matched - 40 and not last.more
    assert last.number_matched >= 40 + last.number_returned


COUNTED = [
    PremisesQuery(limit=20),
    PremisesQuery(uses=["office"], limit=5),
    PremisesQuery(uses=["warehouse_logistics", "production"], kommune=["3222"], sort="area"),
    PremisesQuery(include_withdrawn=True, sort="updated", limit=3),
    PremisesQuery(kommune=["3222", "0301"], include_withdrawn=True, offset=30),
    PremisesQuery(kommune=["0301"]),  # none
]


@pytest.mark.parametrize("q", COUNTED, ids=lambda q: repr(q)[:90])
def test_a_search_on_status_use_and_municipality_alone_is_counted_exactly_past_the_cap(
    loaded_db, conn, monkeypatch, q
):
    # its count is summed from premises_search_counts (migration 0019): exact however many
    monkeypatch.setattr(search_module, "COUNT_CAP", 2)
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'sample-002'")
    conn.execute("UPDATE premises SET kommunenummer = NULL WHERE id = 'sample-003'")
    fast, slow = search_features(conn, q), _reference(conn, q)
    assert fast.number_matched_exact and fast.number_matched == slow.number_matched
    assert fast.features_json == slow.features_json and fast.more == slow.more
    # a search with any other condition is counted in its matches, stopping past the cap
    other = search_features(conn, PremisesQuery(uses=q.uses, kommune=q.kommune, available_by=FAR))
    assert other.number_matched_exact == (other.number_matched <= 2)


def test_the_search_counts_follow_every_write(loaded_db, conn):
    truth = (
        "SELECT status, uses_mask, coalesce(kommunenummer, ''), count(*) FROM premises_search "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    kept = "SELECT status, uses_mask, kommunenummer, n FROM premises_search_counts ORDER BY 1, 2, 3"
    assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall() != []
    for statement in (
        "UPDATE premises SET status = 'withdrawn' WHERE id IN ('sample-001', 'sample-002')",
        "UPDATE premises SET uses = '{retail,office}' WHERE id = 'sample-003'",
        "UPDATE premises SET kommunenummer = NULL WHERE id = 'sample-004'",
        "UPDATE premises SET address = 'Ny 1' WHERE id = 'sample-005'",  # moves no count
        "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) SELECT 'new-1', "
        "'Ny', '{health}', 100, 'test', geom FROM premises WHERE id = 'sample-006'",
        "DELETE FROM premises WHERE id IN ('sample-007', 'new-1')",
    ):
        conn.execute(statement)
        assert conn.execute(kept).fetchall() == conn.execute(truth).fetchall(), statement
    assert all(n > 0 for *_, n in conn.execute(kept))
    conn.execute("TRUNCATE premises CASCADE")
    assert conn.execute(kept).fetchall() == []
