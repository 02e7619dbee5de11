"""Keeping every premises' nearest hub and walking time current in ``premises_walk``.

Called after writes to premises (with their ids), hubs or the network (without): the batch
passes of :mod:`geoplan.proximity.nearest`, written back in one binary COPY.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg

from geoplan.proximity.catchments import refresh_catchments
from geoplan.proximity.hubs import EXISTING_HUBS
from geoplan.proximity.nearest import batch_settings, nearest_hub_pass, straight_line_nearest
from geoplan.proximity.routing import network_loaded
from geoplan.proximity.walk import WalkSettings, default_walk
from geoplan.store.copy import copy_in


def annotate_premises(
    conn: psycopg.Connection,
    premises_ids: Sequence[str] | None = None,
    *,
    walk: WalkSettings | None = None,
) -> int:
    """Set each premises' nearest existing hub and walking time; returns the premises annotated.

    Call after any write to premises (with their ids) or to hubs/the network (without ids).
    With ``premises_ids=None`` the hubs may have changed, so catchments are brought up to date
    too — only those of hubs whose position (or the network) changed are recomputed, so a call
    after a premises-only change costs a hash check (see :func:`refresh_catchments`); every
    premises is then annotated in one batch.
    Premises with no existing hub at all get no row in ``premises_walk`` (NULLs in
    ``premises_annotated``), so no stale value survives.

    ``walk``: the walking model (default: the process settings, which every writer of the
    stored walks should share; see :mod:`~geoplan.proximity.walk`).
    """
    walk = default_walk(walk)
    if premises_ids is None:
        refresh_catchments(conn, force=False, walk=walk)
    return update_walk_times(conn, premises_ids, walk=walk)


def update_walk_times(
    conn: psycopg.Connection,
    premises_ids: Sequence[str] | None = None,
    *,
    walk: WalkSettings | None = None,
) -> int:
    """The batch annotation without refreshing catchments (premises-only changes, benchmarks).

    With ``premises_ids=None`` ``premises_walk`` is rebuilt from scratch (TRUNCATE, bulk insert,
    index built afterwards): at a million premises that is several times cheaper than updating
    rows in place. TRUNCATE locks the table until the transaction commits, so reads of
    ``premises_annotated`` wait for the rebuild (≈ 1 s per million premises; nothing at the
    municipality's scale); they never see a half-written table.
    """
    if premises_ids is not None and not premises_ids:
        return 0
    with batch_settings(conn):
        return _update_walk_times(conn, premises_ids, default_walk(walk))


def _update_walk_times(
    conn: psycopg.Connection, premises_ids: Sequence[str] | None, walk: WalkSettings
) -> int:
    ids = list(premises_ids) if premises_ids is not None else None
    where = "true" if ids is None else "p.id = ANY(%(ids)s)"
    if network_loaded(conn):
        n = nearest_hub_pass(conn, where, {"ids": ids}, EXISTING_HUBS, "_px_result", walk=walk)
        walks = f"""
            SELECT seq, hub_id, round(walk_m::numeric, 1)::float8,
                   round((walk_m / {walk.m_per_min!r})::numeric, 2)::float8, method
            FROM _px_result"""
    else:  # the straight-line fast path: rounded in numpy, one binary COPY into premises_walk
        nearest = straight_line_nearest(
            conn,
            f"SELECT p.seq, ST_X(p.geom), ST_Y(p.geom) FROM premises p WHERE {where}",
            {"ids": ids},
            EXISTING_HUBS,
        )
        n = len(nearest.seq)
        walks = ""
    _clear_walks(conn, ids)
    if walks:
        conn.execute(f"INSERT INTO premises_walk {walks}")
    elif n:
        walk_m = nearest.dist * walk.detour_factor
        copy_in(
            conn,
            "premises_walk",
            premises_seq=nearest.seq,
            hub_id=(nearest.hub, nearest.hub_ids),
            walk_m=np.round(walk_m, 1),
            walk_min=np.round(walk_m / walk.m_per_min, 2),
            method="straight_line",
        )
    if ids is None:  # built after the bulk load: far cheaper than maintained row by row
        conn.execute("ALTER TABLE premises_walk ADD PRIMARY KEY (premises_seq)")
        conn.execute(f"CREATE INDEX {WALK_MIN_INDEX} ON premises_walk (walk_min)")
    # the premises search's copy of the walk (premises_search): only the walks that changed
    conn.execute("SELECT premises_search_sync_walks(%s)", (ids,))
    return n


WALK_MIN_INDEX = "premises_walk_min_idx"
"""Serves searches by walking time (``max_walk_min``, ``sort=walk``) in walk order."""


def _clear_walks(conn: psycopg.Connection, ids: list[str] | None) -> None:
    """Empty ``premises_walk`` for a full pass (indexes dropped until reloaded), else the ids'."""
    if ids is None:
        conn.execute("TRUNCATE premises_walk")
        conn.execute("ALTER TABLE premises_walk DROP CONSTRAINT premises_walk_pkey")
        conn.execute(f"DROP INDEX {WALK_MIN_INDEX}")
    else:
        conn.execute(
            "DELETE FROM premises_walk w USING premises p "
            "WHERE p.seq = w.premises_seq AND p.id = ANY(%(ids)s)",
            {"ids": ids},
        )


def on_hubs_changed(
    conn: psycopg.Connection, *, walk: WalkSettings | None = None
) -> tuple[int, int]:
    """After hubs are added, moved or removed: catchments of the changed hubs, every premises' hub.

    Returns (catchments recomputed, premises annotated)."""
    walk = default_walk(walk)
    return (
        refresh_catchments(conn, force=False, walk=walk),
        update_walk_times(conn, None, walk=walk),
    )


def on_network_changed(
    conn: psycopg.Connection, *, walk: WalkSettings | None = None
) -> tuple[int, int]:
    """After a network import: every hub's catchments and every premises' walking time."""
    walk = default_walk(walk)
    return (
        refresh_catchments(conn, force=True, walk=walk),
        update_walk_times(conn, None, walk=walk),
    )
