"""A search's count is kept with the data versions it was made at and reused by the next search
with the same conditions while those versions hold (issue 13): the next page, another order,
the same search again. The statement compares the versions itself, in its own snapshot, so a
write from anywhere is counted at once — no notification to wait for.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from geoplan import premises
from geoplan.premises import PremisesQuery, search_features, search_features_async
from geoplan.store import db

search_module = importlib.import_module("geoplan.premises.search")

OFFICE = {
    "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
    "address": "Telleveien 1, 1473 Lørenskog",
    "uses": ["office"],
    "floor_area_m2": 400,
    "rent_nok_m2_year": 1900,
}

QUERIES = [
    PremisesQuery(uses=["office"], sort="area"),  # counted up to the cap (_count_sql)
    PremisesQuery(uses=["office"]),  # summed from premises_search_counts (migration 0019)
    PremisesQuery(uses=["office"], max_area_m2=5000, sort="updated"),  # a unit filter's halves
]


class Counts(dict[Hashable, Any]):
    """The smallest :class:`geoplan.store.steps.Known`: a dict (the API's is an LRU)."""

    def put(self, key: Hashable, rows: Any) -> None:
        self[key] = rows


def _search(url: str, q: PremisesQuery, counts: Counts):
    async def run():
        async with await psycopg.AsyncConnection.connect(db.conninfo(url)) as aconn:
            return await search_features_async(aconn, q, counts=counts)

    return asyncio.run(run())


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: repr(q)[:80])
def test_a_kept_count_answers_until_the_listings_change(loaded_db, conn, q):
    counts = Counts()
    first = _search(loaded_db, q, counts)
    assert first.number_matched == search_features(conn, q).number_matched > 0
    ((key, [(n, exact, versions)]),) = counts.items()
    assert (n, exact) == (first.number_matched, True) and len(versions) >= 2
    # a planted number under the versions seen now is answered: the search did not count
    counts[key] = [(n + 1000, True, versions)]
    for same in (q, replace(q, offset=1), replace(q, sort="rent")):
        page = _search(loaded_db, same, counts)
        assert page.number_matched == n + 1000 and page.number_matched_exact
    assert len(counts) == 1  # one count for the search in every order and page
    # a committed write on another connection: the next search counts again, at once
    premises.create(conn, OFFICE, "alice")
    conn.commit()
    after = _search(loaded_db, q, counts)
    assert after.number_matched == n + 1 == search_features(conn, q).number_matched
    ((_, [(kept, _, newer)]),) = counts.items()
    assert kept == n + 1 and newer != versions
    # a write rolled back bumps nothing: the count just kept is still answered
    premises.create(conn, OFFICE | {"address": "Telleveien 3, 1473 Lørenskog"}, "alice")
    conn.rollback()
    counts[next(iter(counts))] = [(n + 2000, True, newer)]
    assert _search(loaded_db, q, counts).number_matched == n + 2000


def test_a_kept_estimate_stays_flagged_and_past_the_page(loaded_db, monkeypatch):
    monkeypatch.setattr(search_module, "COUNT_CAP", 2)
    q = PremisesQuery(min_area_m2=1, sort="area", limit=3)  # most listings: past a cap of 2
    counts = Counts()
    first = _search(loaded_db, q, counts)
    assert not first.number_matched_exact and first.number_matched > 2
    ((key, [(estimate, exact, versions)]),) = counts.items()
    assert not exact
    counts[key] = [(1, False, versions)]  # an estimate below the page is never answered
    page = _search(loaded_db, replace(q, offset=6), counts)
    assert not page.number_matched_exact
    assert page.number_matched == max(2 + 1, 6 + page.number_returned + int(page.more))


def test_a_search_by_place_keeps_no_count(loaded_db):
    # its count comes from the matches it reads for its page anyway: nothing to save
    counts = Counts()
    page = _search(loaded_db, PremisesQuery(area="sentrum"), counts)
    assert page.number_matched > 0 and not counts
