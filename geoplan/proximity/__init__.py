"""Transit-hub proximity: nearest hubs, walking distance and time, catchments, coverage.

How a walking distance is obtained (every result says which, in ``method``):

``network``
    The site and each hub are *anchored* on their nearest walkable edge (within
    :attr:`WalkSettings.max_snap_m`); the perpendicular "snap" distance is walked in a straight
    line, then the route runs along the network (pgRouting Dijkstra, edge cost = metres).
``straight_line``
    No network is loaded, the site or hub lies too far from it, or no path connects them (another
    component of the network, e.g. an island in the extract): straight-line distance ×
    :attr:`WalkSettings.detour_factor` (1.3 by default — a common ratio of street to crow-flies
    distance in Norwegian suburbs).

Anchoring on edges rather than on the nearest intersection matters: edges run between
intersections only, so the nearest *node* can be hundreds of metres away along a long road while
the road itself passes the door.

Hubs are joined to the graph through *virtual vertices*: one extra vertex per hub, linked to the
two ends of its anchor edge with the right partial costs. That lets one pgRouting call answer
"nearest hub on foot" for every premises at once (multi-source ``pgr_drivingDistance`` with
``equicost``: each node is labelled with its closest hub), and "everything within 15 minutes of
every hub" for all catchments at once — set-based work in PostGIS, no per-row Python.

The package, one module per concern: :mod:`~geoplan.proximity.hubs` (which hubs),
:mod:`~geoplan.proximity.checks` (input checks), :mod:`~geoplan.proximity.routing` (pgRouting
plumbing), :mod:`~geoplan.proximity.nearest`, :mod:`~geoplan.proximity.annotate` (premises'
stored walks), :mod:`~geoplan.proximity.catchments`, :mod:`~geoplan.proximity.coverage` and
:mod:`~geoplan.proximity.network` (the walking network from OSM). The walking model (speed,
detour factor, snap limit) is a :class:`WalkSettings` parameter of every function whose result
depends on it (:mod:`~geoplan.proximity.walk`). The names below are its API.
"""

from geoplan.proximity.annotate import (
    WALK_MIN_INDEX,
    annotate_premises,
    on_hubs_changed,
    on_network_changed,
    update_walk_times,
)
from geoplan.proximity.catchments import (
    CATCHMENT_BUFFER_M,
    CATCHMENT_MINUTES,
    Catchment,
    catchment_inputs,
    catchments_geojson,
    compute_catchments,
    refresh_catchments,
)
from geoplan.proximity.checks import MAX_K, check_k, check_minutes, site_from_lonlat
from geoplan.proximity.coverage import MUNICIPALITY_ID, CoverageRow, coverage, coverage_report
from geoplan.proximity.hubs import EXISTING_HUBS, HUB_GROUPS, HubDistance, HubSelection
from geoplan.proximity.nearest import (
    nearest_hubs,
    nearest_report,
    nearest_report_async,
    walk_to_nearest_hub,
)
from geoplan.proximity.routing import MAX_NETWORK_WALK_M, network_loaded
from geoplan.proximity.walk import WalkSettings, default_walk

__all__ = [
    "CATCHMENT_BUFFER_M",
    "CATCHMENT_MINUTES",
    "EXISTING_HUBS",
    "HUB_GROUPS",
    "MAX_K",
    "MAX_NETWORK_WALK_M",
    "MUNICIPALITY_ID",
    "WALK_MIN_INDEX",
    "Catchment",
    "CoverageRow",
    "HubDistance",
    "HubSelection",
    "WalkSettings",
    "annotate_premises",
    "catchment_inputs",
    "catchments_geojson",
    "check_k",
    "check_minutes",
    "compute_catchments",
    "coverage",
    "coverage_report",
    "default_walk",
    "nearest_hubs",
    "nearest_report",
    "nearest_report_async",
    "network_loaded",
    "on_hubs_changed",
    "on_network_changed",
    "refresh_catchments",
    "site_from_lonlat",
    "update_walk_times",
    "walk_to_nearest_hub",
]
