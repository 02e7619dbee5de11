"""The pedestrian network: reading OpenStreetMap ways a person may walk on into a routable graph.

``import_osm`` turns an OSM extract (``.osm.pbf``, ``.osm``, ``.osm.bz2`` — anything pyosmium
reads) into ``walk_nodes`` and ``walk_edges`` in EPSG:25833 with a pgRouting topology:
edges run between *decision points* only (nodes shared by two or more walkable ways, and way
ends), so pgRouting searches a graph of intersections instead of every shape vertex, while each
edge keeps its full shape for length and catchment polygons. ``cost`` and ``reverse_cost`` are the
edge length in metres (walking is the same both ways; one-way streets do not bind pedestrians).

Everything is written in ONE transaction: a failed or interrupted import leaves the previous
network untouched, and a successful one replaces it completely.
"""

from __future__ import annotations

import io
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import shapely
from pyproj import Transformer

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import region

WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "living_street",
        "residential",
        "service",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "unclassified",
        "track",
        "road",
        "crossing",
        "corridor",
        "bridleway",
    }
)
"""``highway=*`` values a pedestrian may use without further tags (footway=crossing and
footway=sidewalk are ``highway=footway`` ways, so crossings and sidewalks are included)."""

FOOT_ONLY_IF_ALLOWED = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "cycleway"})
"""Kept only with explicit foot access (``foot=yes|designated|permissive``). Motorways and
trunk roads are closed to pedestrians in Norway; a plain ``highway=cycleway`` is a cycle track,
while the common Norwegian *gang- og sykkelvei* is tagged ``cycleway`` + ``foot=designated``."""

FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official"})
ACCESS_DENIED = frozenset({"no", "private"})

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: called while importing; the CLI draws a rich progress bar."""


def is_walkable(tags: dict[str, str]) -> bool:
    """Whether a way with these OSM tags may be walked on (see the module constants)."""
    highway = tags.get("highway")
    if not highway:
        return False
    foot = tags.get("foot")
    if foot == "no" or foot == "use_sidepath":
        return False
    if highway in FOOT_ONLY_IF_ALLOWED:
        return foot in FOOT_ALLOWED
    if highway not in WALKABLE_HIGHWAYS:
        return False
    if tags.get("access") in ACCESS_DENIED and foot not in FOOT_ALLOWED:
        return False
    return tags.get("area") != "yes" or highway == "pedestrian"


@dataclass
class NetworkImport:
    """What an import stored."""

    path: Path
    ways_read: int
    ways_kept: int
    nodes: int
    edges: int
    length_km: float
    catchments: int = 0
    premises_annotated: int = 0


@dataclass
class _Way:
    osm_id: int
    highway: str
    refs: list[int]


def _read_ways(path: Path, progress: Progress | None) -> tuple[list[_Way], dict[int, tuple], int]:
    """All walkable ways with their node refs, and the lon/lat of every node they use."""
    import osmium

    ways: list[_Way] = []
    coords: dict[int, tuple[float, float]] = {}
    read = 0
    try:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()  # node locations are stored before the filters run
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in fp:
            read += 1
            if progress and read % 5000 == 0:
                progress("reading ways", read, None)
            tags = dict(way.tags)
            if not is_walkable(tags):
                continue
            refs = []
            for n in way.nodes:
                if not n.location.valid():
                    continue  # node outside the extract: the way is cut at the extract edge
                refs.append(n.ref)
                coords[n.ref] = (n.location.lon, n.location.lat)
            # drop consecutive duplicates (zero-length segments)
            refs = [r for i, r in enumerate(refs) if i == 0 or r != refs[i - 1]]
            if len(refs) >= 2:
                ways.append(_Way(way.id, tags["highway"], refs))
    except RuntimeError as exc:  # pyosmium reports unreadable files as RuntimeError
        raise ValidationError(f"cannot read OSM file {path}: {exc}", field="file") from exc
    if progress:
        progress("reading ways", read, read)
    return ways, coords, read


def _split_edges(ways: list[_Way]) -> list[tuple[int, str, list[int]]]:
    """Split ways at decision points: nodes used twice or more (by any ways) and way ends."""
    uses: Counter[int] = Counter()
    for w in ways:
        uses.update(w.refs)
        uses[w.refs[0]] += 1  # ends are always split points
        uses[w.refs[-1]] += 1
    edges = []
    for w in ways:
        start = 0
        for i in range(1, len(w.refs)):
            if uses[w.refs[i]] >= 2 or i == len(w.refs) - 1:
                edges.append((w.osm_id, w.highway, w.refs[start : i + 1]))
                start = i
    return edges


def _copy_rows(conn: psycopg.Connection, sql: str, rows, progress: Progress | None, stage: str):
    total = len(rows)
    with conn.cursor().copy(sql) as copy:
        for i, row in enumerate(rows, 1):
            copy.write_row(row)
            if progress and i % 10000 == 0:
                progress(stage, i, total)
    if progress:
        progress(stage, total, total)


def import_osm(
    conn: psycopg.Connection,
    path: Path | str,
    *,
    progress: Progress | None = None,
    refresh: bool = True,
) -> NetworkImport:
    """Replace the walking network with the walkable ways of the OSM file at ``path``.

    Runs inside the caller's transaction (the CLI opens one), so it is all-or-nothing. With
    ``refresh`` the hub catchments and the premises' walking times are recomputed on the new
    network in the same transaction, so nothing stale is ever served.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    ways, coords, read = _read_ways(path, progress)
    if not ways:
        raise ValidationError(
            f"{path.name}: no walkable ways found (is it an OpenStreetMap extract?)", field="file"
        )
    edges = _split_edges(ways)

    # Project every used node once, vectorised.
    node_ids = np.fromiter(coords.keys(), dtype=np.int64, count=len(coords))
    lonlat = np.array(list(coords.values()), dtype=float)
    to_utm = Transformer.from_crs(4326, STORAGE_SRID, always_xy=True)
    xs, ys = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
    _check_region(conn, path, xs, ys)
    index = {int(n): i for i, n in enumerate(node_ids)}

    edge_rows = []
    graph_nodes: set[int] = set()
    total_m = 0.0
    for eid, (way_id, highway, refs) in enumerate(edges, 1):
        idx = [index[r] for r in refs]
        line = shapely.LineString(np.column_stack([xs[idx], ys[idx]]))
        length = float(line.length)
        if length <= 0:
            continue
        total_m += length
        graph_nodes.update((refs[0], refs[-1]))
        ewkb = shapely.to_wkb(shapely.set_srid(line, STORAGE_SRID), hex=True, include_srid=True)
        edge_rows.append((eid, refs[0], refs[-1], length, length, length, way_id, highway, ewkb))
    node_rows = []
    for n in graph_nodes:
        i = index[n]
        node_rows.append((n, n, _ewkb_point(xs[i], ys[i])))

    conn.execute("DELETE FROM walk_edges")
    conn.execute("DELETE FROM walk_nodes")
    _copy_rows(
        conn, "COPY walk_nodes (id, osm_id, geom) FROM STDIN", node_rows, progress, "storing nodes"
    )
    _copy_rows(
        conn,
        "COPY walk_edges (id, source, target, cost, reverse_cost, length_m, osm_way_id, "
        "highway, geom) FROM STDIN",
        edge_rows,
        progress,
        "storing edges",
    )
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('walk_edges', 'id'), greatest(%s, 1))", (len(edges),)
    )
    conn.execute("ANALYZE walk_nodes")
    conn.execute("ANALYZE walk_edges")
    result = NetworkImport(
        path, read, len(ways), len(node_rows), len(edge_rows), round(total_m / 1000, 3)
    )
    if refresh:
        from geoplan.proximity import on_network_changed

        if progress:
            progress("catchments and premises", 0, None)
        result.catchments, result.premises_annotated = on_network_changed(conn)
    return result


def _check_region(conn: psycopg.Connection, path: Path, xs: np.ndarray, ys: np.ndarray) -> None:
    """Refuse an extract none of whose walkable ways comes near the municipality (within the
    region margin, :mod:`geoplan.geo.region`): an extract of another town would replace the
    network with one no hub or premises can use, and every walk would fall back to straight
    lines without a word."""
    where = region(conn)
    if where.contains_xy(xs, ys).any():
        return
    cx, cy = float(np.median(xs)), float(np.median(ys))
    lon, lat = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True).transform(cx, cy)
    raise ValidationError(
        f"{path.name}: none of its {len(xs)} walkable nodes lies {where.description} "
        f"(the extract centres near {lat:.3f}° N, {lon:.3f}° E); an extract of another area? "
        "nothing was imported",
        field="file",
    )


def _ewkb_point(x: float, y: float) -> str:
    # little-endian EWKB point with SRID flag: the text form COPY accepts for geometry columns
    return struct.pack("<BIIdd", 1, 0x20000001, STORAGE_SRID, x, y).hex()


def network_summary(conn: psycopg.Connection) -> dict:
    """Counts and total length of the loaded network (zero when none is loaded)."""
    nodes = conn.execute("SELECT count(*) FROM walk_nodes").fetchone()[0]
    edges, km = conn.execute(
        "SELECT count(*), coalesce(sum(length_m), 0) / 1000 FROM walk_edges"
    ).fetchone()
    return {"nodes": nodes, "edges": edges, "length_km": round(float(km), 3)}


def load_edges(conn: psycopg.Connection, edges: list[tuple[int, int, shapely.LineString]]) -> int:
    """Store a network given as ``(source, target, line in EPSG:25833)`` (synthetic networks).

    Used by the benchmark's grid and handy for tests of networks not drawn from OSM; nodes are
    taken from the line ends. Replaces the current network; no refresh (the caller decides).
    """
    conn.execute("DELETE FROM walk_edges")
    conn.execute("DELETE FROM walk_nodes")
    nodes: dict[int, tuple[float, float]] = {}
    buf = io.StringIO()
    for i, (s, t, line) in enumerate(edges, 1):
        c = shapely.get_coordinates(line)
        nodes.setdefault(s, tuple(c[0]))
        nodes.setdefault(t, tuple(c[-1]))
        length = float(line.length)
        ewkb = shapely.to_wkb(shapely.set_srid(line, STORAGE_SRID), hex=True, include_srid=True)
        buf.write(f"{i}\t{s}\t{t}\t{length}\t{length}\t{length}\t\\N\tsynthetic\t{ewkb}\n")
    with conn.cursor().copy(
        "COPY walk_edges (id, source, target, cost, reverse_cost, length_m, osm_way_id, "
        "highway, geom) FROM STDIN"
    ) as copy:
        copy.write(buf.getvalue())
    with conn.cursor().copy("COPY walk_nodes (id, osm_id, geom) FROM STDIN") as copy:
        for n, (x, y) in nodes.items():
            copy.write_row((n, None, _ewkb_point(x, y)))
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('walk_edges', 'id'), greatest(%s, 1))", (len(edges),)
    )
    conn.execute("ANALYZE walk_nodes")
    conn.execute("ANALYZE walk_edges")
    return len(edges)
