"""The real Norwegian files in ``../shared/data/real/`` (see its README) and helpers to load them.

The repository is cloned beside ``shared/`` (on CI too), so the files are found relative to it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from geoplan.config import REPO_ROOT
from geoplan.store import db

REAL_DIR = REPO_ROOT.parent / "shared" / "data" / "real"
BOUNDARIES = REAL_DIR / "boundaries" / "kommuner_norge_2024_generalised.geojson"
ELVERUM_ADDRESSES = REAL_DIR / "addresses" / "Basisdata_3420_Elverum_25833_MatrikkelenAdresse.csv"


def load_boundary(url: str, kommunenummer: str) -> None:
    """Replace the store's boundary with the real one of ``kommunenummer``.

    Written with SQL, not ``import_file``: the boundary layer is validated against Lørenskog's
    envelope (geoplan.geo.region), which refuses any other municipality until "any
    municipality" (issue 12, item 1) lands.
    """
    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    (feature,) = [f for f in data["features"] if f["properties"]["kommunenummer"] == kommunenummer]
    with db.transaction(url) as conn:
        conn.execute("DELETE FROM boundary")
        conn.execute(
            "INSERT INTO boundary (id, name, kommunenummer, geom, source, licence, accuracy_m, "
            "verified) VALUES (%(nr)s, %(name)s, %(nr)s, ST_Multi(ST_Transform(ST_SetSRID("
            "ST_GeomFromGeoJSON(%(geom)s), 4326), 25833)), %(source)s, 'CC BY 4.0 © Kartverket', "
            "150, true)",
            {
                "nr": kommunenummer,
                "name": feature["properties"]["kommunenavn"],
                "geom": json.dumps(feature["geometry"]),
                "source": "Kartverket, Administrative enheter – kommuner "
                "(robhop/fylker-og-kommuner, generalised)",
            },
        )


def csv_records(path: Path = ELVERUM_ADDRESSES) -> list[dict[str, str]]:
    """The file's data rows, read with the csv module alone (an independent count)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))
