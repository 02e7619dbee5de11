"""Nearest hubs, walking distances, catchments and premises annotation on the hand-drawn network.

See tests/test_network.py for the map. Distances below are worked out by hand from it: roads A
(y=50) and B (y=-50) run east-west on either side of a railway (y=0) whose only crossing is the
footbridge at x=1000 (100 m). Hubs and premises sit 10 m off a road unless stated.
"""

from __future__ import annotations

import psycopg
import pytest
import shapely

from geoplan.config import get_settings
from geoplan.premises import PremisesQuery, search
from geoplan.proximity import (
    HubSelection,
    annotate_premises,
    compute_catchments,
    coverage,
    nearest_hubs,
    refresh_catchments,
    walk_to_nearest_hub,
)
from geoplan.store import db
from tests.db.test_network import load_test_network, xy

SPEED = 5000 / 60  # m/min at the default 5 km/h


def add_hub(conn, hub_id: str, dx: float, dy: float, *, status="existing", mode="bus_stop"):
    x, y = xy(dx, dy)
    conn.execute(
        "INSERT INTO hubs (id, name, mode, status, source, geom) "
        "VALUES (%s, %s, %s, %s, 'test', ST_SetSRID(ST_MakePoint(%s, %s), 25833))",
        (hub_id, hub_id.title(), mode, status, x, y),
    )


def add_premises(conn, pid: str, dx: float, dy: float, area: float = 100.0) -> None:
    x, y = xy(dx, dy)
    conn.execute(
        "INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom) "
        "VALUES (%s, 'Testveien 1', '{office}', %s, 'test', true, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 25833))",
        (pid, area, x, y),
    )


def site(dx: float, dy: float) -> shapely.Point:
    return shapely.Point(*xy(dx, dy))


@pytest.fixture
def railway_town(empty_db, tmp_path) -> str:
    """The hand-drawn network with two hubs: NORTH (across the railway) and SOUTH."""
    with db.transaction(empty_db) as conn:
        add_hub(conn, "north", 500, 40)  # 10 m south of road A
        add_hub(conn, "south", 300, -60)  # 10 m south of road B
    load_test_network(empty_db, tmp_path)
    return empty_db


def test_knn_order_without_network(empty_db, conn) -> None:
    for i, d in enumerate((900, 100, 500, 300)):
        add_hub(conn, f"h{i}", d, 0)
    hubs = nearest_hubs(conn, site(0, 0), k=3)
    assert [h.hub_id for h in hubs] == ["h1", "h3", "h2"]
    assert [h.straight_m for h in hubs] == [100, 300, 500]
    assert all(h.method == "straight_line" for h in hubs)
    assert hubs[0].walk_m == pytest.approx(100 * get_settings().detour_factor)
    assert hubs[0].walk_min == pytest.approx(130 / SPEED, abs=0.01)


def test_nearest_on_foot_is_not_nearest_as_the_crow_flies(railway_town, conn) -> None:
    # From 10 m north of road B at x=500: NORTH is 80 m away in a straight line but the railway
    # is in the way: 10 + 500 (B to x=1000) + 100 (bridge) + 500 (A back to x=500) + 10 = 1120.
    # SOUTH is 201 m in a straight line and 10 + 200 + 10 = 220 m on foot.
    hubs = nearest_hubs(conn, site(500, -40), k=2)
    assert [h.hub_id for h in hubs] == ["south", "north"]
    assert [h.method for h in hubs] == ["network", "network"]
    assert hubs[0].walk_m == pytest.approx(220, abs=0.5)
    assert hubs[1].walk_m == pytest.approx(1120, abs=0.5)
    assert hubs[1].straight_m == pytest.approx(80, abs=0.5)
    assert hubs[0].walk_min == pytest.approx(220 / SPEED, abs=0.01)
    # k=1 keeps the nearest ON FOOT
    assert [h.hub_id for h in nearest_hubs(conn, site(500, -40), k=1)] == ["south"]


def test_same_edge_walks_along_the_edge(railway_town, conn) -> None:
    # NORTH is on road A's west edge (x 0..600); a site 10 m north of x=300 walks 10+200+10.
    hubs = nearest_hubs(conn, site(300, 60), k=1)
    assert hubs[0].hub_id == "north"
    assert hubs[0].walk_m == pytest.approx(220, abs=0.5)


def test_fallback_is_labelled(railway_town, conn) -> None:
    # 1 km south of road B: farther than the snap limit from any path -> straight line × 1.3
    far = nearest_hubs(conn, site(300, -1050), k=2)
    assert {h.method for h in far} == {"straight_line"}
    assert far[0].hub_id == "south"
    assert far[0].walk_m == pytest.approx(990 * get_settings().detour_factor, abs=0.5)
    # A hub on the island (no path to the rest) is reached only "as the crow flies".
    add_hub(conn, "island", 2050, 10)
    hubs = {h.hub_id: h for h in nearest_hubs(conn, site(500, -40), k=3)}
    assert hubs["island"].method == "straight_line"
    assert hubs["south"].method == "network"


def test_filters_by_status_and_mode(railway_town, conn) -> None:
    add_hub(conn, "metro", 400, -60, status="planned", mode="metro")
    assert nearest_hubs(conn, site(500, -40), k=1)[0].hub_id == "metro"
    assert nearest_hubs(conn, site(500, -40), k=1, statuses=["existing"])[0].hub_id == "south"
    assert [h.hub_id for h in nearest_hubs(conn, site(500, -40), k=5, modes=["metro"])] == ["metro"]


def catchment(conn, hub: str, minutes: int) -> tuple[str, shapely.Geometry]:
    method, wkb = conn.execute(
        "SELECT method, ST_AsBinary(geom) FROM catchments WHERE hub_id = %s AND minutes = %s",
        (hub, minutes),
    ).fetchone()
    return method, shapely.from_wkb(bytes(wkb))


def test_catchments_follow_the_network(railway_town, conn) -> None:
    # network import refreshed them: 3 per hub
    assert conn.execute("SELECT count(*) FROM catchments").fetchone()[0] == 6
    method, five = catchment(conn, "south", 5)
    assert method == "network"
    # SOUTH anchors at x=300 on road B: 5 min = 416.7 m, minus the 10 m snap, reaches x≈706.
    assert five.contains(site(650, -50))
    assert five.contains(site(650, -30))  # 20 m off the road: inside the buffer
    assert five.contains(site(0, -50))  # the west end of B (300 m)
    assert not five.contains(site(780, -50))
    assert not five.contains(site(300, 50))  # across the railway, 100 m away as the crow flies
    _, fifteen = catchment(conn, "south", 15)
    # 1250 - 10 = 1240 m: x=1000 (700), bridge (800), then 440 m west along A -> x≈560
    assert fifteen.contains(site(700, 50))
    assert fifteen.contains(site(600, 100))  # 40 m up the spur (x=600) + buffer
    assert not fifteen.contains(site(400, 50))
    assert not fifteen.contains(site(2050, 0))  # the island


def catchment_ids(conn) -> dict[str, set[int]]:
    """Row ids of the stored catchments per hub: new ids mean they were recomputed."""
    out: dict[str, set[int]] = {}
    for hub_id, cid in conn.execute("SELECT hub_id, id FROM catchments"):
        out.setdefault(hub_id, set()).add(cid)
    return out


def test_catchments_are_recomputed_only_when_their_inputs_change(railway_town, conn) -> None:
    assert set(catchment_ids(conn)) == {"north", "south"}  # stored by the network import
    before = catchment_ids(conn)

    # premises-only changes and hub edits that do not move a hub leave catchments alone
    add_premises(conn, "p1", 500, -40)
    conn.execute("UPDATE hubs SET name = 'Nord' WHERE id = 'north'")
    annotate_premises(conn)
    assert catchment_ids(conn) == before
    assert walk_of(conn, "p1")[0] == "south"

    # moving one hub recomputes that hub's catchments, and only those
    x, y = xy(350, -60)
    conn.execute(
        "UPDATE hubs SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 25833) WHERE id = 'north'",
        (x, y),
    )
    annotate_premises(conn)
    after = catchment_ids(conn)
    assert after["south"] == before["south"]
    assert not after["north"] & before["north"] and len(after["north"]) == 3
    _, five = catchment(conn, "north", 5)
    assert five.contains(site(350, -50)) and not five.contains(site(500, 50))

    # a new hub gets catchments; a deleted hub's go with it
    add_hub(conn, "east", 1500, -60)
    conn.execute("DELETE FROM hubs WHERE id = 'south'")
    annotate_premises(conn)
    assert set(catchment_ids(conn)) == {"north", "east"}
    assert catchment_ids(conn)["north"] == after["north"]

    # the explicit recompute (geoplan network catchments) recomputes everything
    assert refresh_catchments(conn) == 6
    assert not catchment_ids(conn)["north"] & after["north"]


def test_annotation_never_points_at_a_deleted_hub(railway_town, conn) -> None:
    # premises_walk.hub_id has no foreign key (it would slow the batch write-back): every
    # hub write re-annotates, and that must leave no reference to a hub that is gone
    add_premises(conn, "p1", 500, -40)
    add_premises(conn, "p2", 500, 60)
    annotate_premises(conn)
    assert walk_of(conn, "p2")[0] == "north"
    conn.execute("DELETE FROM hubs WHERE id = 'north'")
    annotate_premises(conn)
    assert walk_of(conn, "p2")[0] == "south"
    dangling = conn.execute(
        "SELECT count(*) FROM premises_annotated p WHERE p.nearest_hub_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM hubs h WHERE h.id = p.nearest_hub_id)"
    ).fetchone()[0]
    assert dangling == 0


def test_reannotation_leaves_the_listings_untouched(empty_db, conn) -> None:
    # the annotation lives in premises_walk: re-annotating rewrites no listing row (no version
    # or ETag change, no bloat of the wide table), in the full and the per-id pass alike
    add_hub(conn, "north", 500, 40)
    add_premises(conn, "p1", 500, -40)
    add_premises(conn, "p2", 900, 60)
    annotate_premises(conn)
    listings = "SELECT id, xmin::text, version, updated_at FROM premises ORDER BY id"
    before = conn.execute(listings).fetchall()
    add_hub(conn, "east", 900, 40)
    assert annotate_premises(conn) == 2
    assert annotate_premises(conn, ["p1"]) == 1
    assert conn.execute(listings).fetchall() == before
    assert walk_of(conn, "p2")[0] == "east" and walk_of(conn, "p1")[0] == "north"
    assert conn.execute("SELECT count(*) FROM premises_walk").fetchone()[0] == 2


def test_catchments_fall_back_to_circles(empty_db, conn) -> None:
    add_hub(conn, "lonely", 0, 0)
    assert refresh_catchments(conn) == 3
    method, ten = catchment(conn, "lonely", 10)
    assert method == "straight_line"
    radius = 10 * SPEED / get_settings().detour_factor  # 641 m
    assert ten.contains(site(radius - 10, 0))
    assert not ten.contains(site(radius + 10, 0))


def test_catchments_any_minutes_on_the_fly(railway_town, conn) -> None:
    (two,) = compute_catchments(conn, ["south"], [2])
    assert two.method == "network"
    assert two.geom.contains(site(400, -50))  # 10 + 100 m
    assert not two.geom.contains(site(500, -50))  # 210 m > 166.7


def walk_of(conn, pid: str) -> tuple:
    return conn.execute(
        "SELECT nearest_hub_id, walk_m, walk_min, walk_method FROM premises_annotated "
        "WHERE id = %s",
        (pid,),
    ).fetchone()


def test_annotation_uses_the_network_and_refreshes_after_writes(railway_town, conn) -> None:
    add_premises(conn, "p1", 500, -40)
    add_premises(conn, "p2", 500, 60)  # north of road A, 20 m from NORTH by foot
    add_premises(conn, "far", 300, -1050)  # off the network
    assert annotate_premises(conn, ["p1", "p2", "far"]) == 3
    assert walk_of(conn, "p1") == ("south", 220.0, round(220 / SPEED, 2), "network")
    assert walk_of(conn, "p2") == ("north", 20.0, round(20 / SPEED, 2), "network")
    hub, m, _, method = walk_of(conn, "far")
    assert (hub, method) == ("south", "straight_line")
    assert m == pytest.approx(990 * get_settings().detour_factor, abs=0.1)

    # a write moves p2 across the railway, next to SOUTH's road: annotate(ids) follows
    x, y = xy(350, -40)
    conn.execute(
        "UPDATE premises SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 25833) WHERE id = 'p2'",
        (x, y),
    )
    annotate_premises(conn, ["p2"])
    assert walk_of(conn, "p2")[:2] == ("south", 70.0)  # 10 + 50 + 10

    # a new hub on p1's own edge: annotating everything picks it and refreshes its catchments
    add_hub(conn, "new", 520, -45)
    annotate_premises(conn)
    assert walk_of(conn, "p1")[:2] == ("new", 35.0)  # 10 + 20 along B + 5
    assert conn.execute("SELECT count(*) FROM catchments WHERE hub_id = 'new'").fetchone()[0] == 3

    # a planned hub is never anyone's nearest (existing hubs only)
    add_hub(conn, "planned", 500, -41, status="planned", mode="metro")
    annotate_premises(conn)
    assert walk_of(conn, "p1")[0] == "new"

    # removing every existing hub leaves no stale value
    conn.execute("DELETE FROM hubs WHERE status = 'existing'")
    annotate_premises(conn)
    assert walk_of(conn, "p1") == (None, None, None, None)


def test_network_import_reannotates_premises(empty_db, tmp_path) -> None:
    with db.transaction(empty_db) as conn:
        add_hub(conn, "north", 500, 40)
        add_hub(conn, "south", 300, -60)
        add_premises(conn, "p1", 500, -40)
        annotate_premises(conn)
        assert walk_of(conn, "p1")[0] == "north"  # crow flies: 80 m vs 201 m
        assert walk_of(conn, "p1")[3] == "straight_line"
    load_test_network(empty_db, tmp_path)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        assert walk_of(conn, "p1") == ("south", 220.0, round(220 / SPEED, 2), "network")


def test_coverage_counts_premises_by_hub_group(railway_town, conn) -> None:
    add_hub(conn, "metro", 900, -60, status="planned", mode="metro")
    add_hub(conn, "rail", 2050, 10, mode="rail")  # on the island: straight line only
    add_premises(conn, "near_south", 350, -40, 100)  # 70 m to SOUTH
    add_premises(conn, "near_metro", 950, -40, 200)  # 70 m to METRO, 380+ to SOUTH
    add_premises(conn, "withdrawn", 350, -40, 999)
    conn.execute("UPDATE premises SET status = 'withdrawn' WHERE id = 'withdrawn'")
    rows = {(r.area_id, r.hubs): r for r in coverage(conn)}
    total = rows[("municipality", "existing")]
    assert (total.premises, total.floor_area_m2) == (2, 300.0)
    assert total.within[5] == {"premises": 1, "floor_area_m2": 100.0}
    assert total.within[10]["premises"] == 2  # near_metro: 10 + 650 + 10 = 670 m < 833
    assert rows[("municipality", "existing_rail_metro")].within[15]["premises"] == 0
    planned = rows[("municipality", "planned")]
    assert planned.within[5] == {"premises": 1, "floor_area_m2": 200.0}
    assert rows[("municipality", "planned_adds")].within[5]["floor_area_m2"] == 200.0


def test_premises_search_to_a_named_hub_walks_the_network(railway_town, conn) -> None:
    add_premises(conn, "p1", 500, -40)  # 80 m from NORTH as the crow flies, 1120 m on foot
    add_premises(conn, "p2", 500, 60)  # 20 m from NORTH on foot
    add_premises(conn, "far", 300, -1050)  # off the network
    # 5 minutes = 417 m: the straight-line estimate (80 × 1.3 = 104 m) would let p1 in
    found = search(conn, PremisesQuery(hub="north", max_walk_min=5))
    assert list(found.features["id"]) == ["p2"]
    assert list(found.features["hub_walk_method"]) == ["network"]
    assert found.features["hub_walk_m"][0] == pytest.approx(20, abs=0.5)

    every = search(conn, PremisesQuery(hub="north")).features.set_index("id")
    assert list(every.index) == ["p2", "p1", "far"]  # sort=walk: by walk to NORTH
    assert every.loc["p1", "hub_walk_m"] == pytest.approx(1120, abs=0.5)
    assert every.loc["p1", "hub_walk_min"] == pytest.approx(1120 / SPEED, abs=0.01)
    assert every.loc["p1", "hub_walk_method"] == "network"
    far = every.loc["far"]
    assert far["hub_walk_method"] == "straight_line"
    straight = ((300 - 500) ** 2 + (-1050 - 40) ** 2) ** 0.5
    assert far["hub_walk_m"] == pytest.approx(straight * get_settings().detour_factor, abs=0.5)


def test_hub_selection_binds_values_as_parameters(railway_town, conn) -> None:
    add_premises(conn, "p1", 500, -40)
    sneaky = HubSelection(ids=("north' OR 'x' = 'x",))
    assert walk_to_nearest_hub(conn, hubs=sneaky, out="_t_none") == 0
    assert walk_to_nearest_hub(conn, hubs=HubSelection(ids=("south",)), out="_t_south") == 1
    assert conn.execute("SELECT hub_id, method FROM _t_south").fetchone() == ("south", "network")


def test_full_rebuild_keeps_the_walk_tables_indexes(empty_db, conn) -> None:
    # a full pass drops premises_walk's indexes for the bulk load and must build them again:
    # the primary key (lets PostgreSQL drop the view's join; per-id writes) and walk_min
    # (searches by walking time)
    def indexes() -> set[tuple[str, str]]:
        return set(
            conn.execute(
                "SELECT indexname, regexp_replace(indexdef, '^.* USING ', '') FROM pg_indexes "
                "WHERE tablename = 'premises_walk'"
            ).fetchall()
        )

    migrated = indexes()
    assert {name for name, _ in migrated} == {"premises_walk_pkey", "premises_walk_min_idx"}
    add_hub(conn, "north", 500, 40)
    add_premises(conn, "p1", 500, -40)
    assert annotate_premises(conn) == 1
    assert indexes() == migrated
    assert annotate_premises(conn, ["p1"]) == 1
    assert indexes() == migrated
