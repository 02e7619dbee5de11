"""A real OGC API – Features client, GDAL's OAPIF driver (what QGIS uses), reads every layer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from geoplan import ogc as features
from geoplan.store import db
from tests.conftest import free_port
from tests.e2e.live_server import live_server

pytestmark = pytest.mark.gdal


@pytest.fixture(autouse=True)
def _gdal_installed() -> None:
    # `make test` installs gdal-bin; a missing client is a failure, never a silent skip
    assert shutil.which("ogrinfo"), "gdal-bin is missing: run `make test` (it installs it)"


def gdal(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    return result


def db_features(conn: psycopg.Connection, coll: features.Collection) -> dict[str, dict]:
    cols = ", ".join(p.name for p in coll.props)
    cur = conn.execute(
        f"SELECT id::text, ST_AsGeoJSON(ST_Transform(geom, 4326), 7), {cols} FROM {coll.table}"
    )
    names = [d.name for d in cur.description][2:]
    return {
        r[0]: {"geometry": json.loads(r[1]), **dict(zip(names, r[2:], strict=True))}
        for r in cur.fetchall()
    }


def same_value(got, expected) -> bool:
    if expected is None:
        return got is None
    if isinstance(expected, bool):
        return bool(got) == expected
    if isinstance(expected, int | float):
        return got == pytest.approx(expected)
    if isinstance(expected, list):
        return list(got or []) == expected
    if hasattr(expected, "isoformat"):  # dates and timestamps: GDAL writes its own format
        text = str(got).replace("/", "-").replace("T", " ")
        return text[:10] == expected.isoformat()[:10]
    return got == expected


def flat(coords) -> list[float]:
    if isinstance(coords, int | float):
        return [coords]
    return [v for c in coords for v in flat(c)]


def test_gdal_lists_and_reads_every_collection(loaded_db: str, tmp_path: Path):
    with psycopg.connect(db.conninfo(loaded_db)) as conn:
        # loading the layers stored catchments for every hub; keep GDAL's read small but real
        conn.execute("DELETE FROM catchments WHERE minutes <> 5")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM catchments").fetchone()[0] > 0
        expected = {cid: db_features(conn, c) for cid, c in features.COLLECTIONS.items()}
    with live_server(loaded_db, free_port()) as base:
        listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{base}/ogc").stdout
        for cid in features.COLLECTIONS:
            assert f": {cid} " in listing, listing
        for cid, coll in features.COLLECTIONS.items():
            summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc", cid).stdout
            assert f"Feature Count: {len(expected[cid])}" in summary, summary
            out = tmp_path / f"{cid}.geojson"
            # a small page size makes GDAL follow the next links across pages
            # integer ids become GDAL's FID, which ogr2ogr keeps only when asked to
            keep_fid = ["-preserve_fid"] if coll.id_type == features.INTEGER else []
            gdal("ogr2ogr", "-f", "GeoJSON", "-oo", "PAGE_SIZE=4", *keep_fid, str(out),
                 f"OAPIF:{base}/ogc", cid)  # fmt: skip
            got = json.loads(out.read_text())["features"]
            by_id = {str(f["properties"].get("id", f.get("id"))): f for f in got}
            assert set(by_id) == set(expected[cid]) and len(got) == len(expected[cid])
            for fid, want in expected[cid].items():
                feature = by_id[fid]
                for prop in coll.props:
                    value = feature["properties"].get(prop.name)
                    assert same_value(value, want[prop.name]), (cid, fid, prop.name, value)
                assert (
                    feature["geometry"]["type"]
                    .lower()
                    .endswith(want["geometry"]["type"].lower().removeprefix("multi"))
                )
                assert flat(feature["geometry"]["coordinates"]) == pytest.approx(
                    flat(want["geometry"]["coordinates"]), abs=1e-6
                ), (cid, fid)
