"""maps/ draws and nothing else: data comes through geoplan.mapdata, settings from the caller,
and geoplan's own JavaScript from maps/static/geoplan.js (inlined like the vendored libraries).

The import-linter contract in pyproject.toml forbids maps → geoplan.store / geoplan.config; this
test also catches SQL run on a connection a map builder was handed.
"""

from __future__ import annotations

import ast

import geopandas as gpd
import shapely

from geoplan.config import REPO_ROOT
from maps import base
from maps.assets import STATIC_DIR

MAPS = REPO_ROOT / "maps"
FORBIDDEN_CALLS = {"execute", "executemany", "fetchone", "fetchall", "read_gdf", "get_settings"}
FORBIDDEN_MODULES = ("geoplan.store", "geoplan.config", "psycopg.sql")


def _modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def test_maps_run_no_sql_and_read_no_settings():
    problems = []
    for path in sorted(MAPS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name in FORBIDDEN_CALLS:
                    problems.append(f"{path.name}:{node.lineno} calls {name}()")
            for module in _modules(node):
                if module.startswith(FORBIDDEN_MODULES):
                    problems.append(f"{path.name}:{node.lineno} imports {module}")
    assert not problems, "maps/ must read through geoplan.mapdata: " + "; ".join(problems)


def test_geoplan_js_is_inlined_once_and_used():
    gdf = gpd.GeoDataFrame(
        {"id": ["p1"], "address": ["Testveien 1"], "uses": [["office"]], "sample": [True]},
        geometry=[shapely.Point(10.95, 59.93)],
        crs=4326,
    )
    m = base.new_map()
    base.add_premises(m, gdf)
    base.add_panel(m, "<b>panel</b>")
    base.add_controls(m)
    html = base.render_html(m)
    script = (STATIC_DIR / "geoplan.js").read_text(encoding="utf-8")
    assert html.count("/* geoplan.js (geoplan) */") == 1
    assert script in html
    assert '<script src="geoplan.js">' not in html
    for use in ("geoplan.premisesCluster(", "geoplan.panel(", "geoplan.formatLat"):
        assert use in html, use
