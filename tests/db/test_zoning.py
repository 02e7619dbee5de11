"""Zoning plans: every Reguleringsplanforslag 5.0 test file in ../shared/data/real/zoning/ gets
its documented answer (docs/zoning.md), counts are checked against an independent reading of
the file with the standard library's ElementTree, and SOSI goes through GDAL's SOSI driver.

The GML files are DiBK's validator test data (Arkitektum/DiBK.RuleValidator.Rules.Gml, MIT):
schema examples, not real plans. Those with real coordinates lie in Arendal (4203); the others
have synthetic coordinates near 0° N 4.5° E, which no municipality holds, so they are imported
with the region check off — and, like every file here, marked as sample data.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import shapely
from pyproj import Transformer

from geoplan.config import REPO_ROOT
from geoplan.errors import NotFoundError, ValidationError
from geoplan.ogc import COLLECTIONS, ItemsQuery, get_item, query_items
from geoplan.store import db
from geoplan.zoning import (
    MissingToolError,
    PlanFileError,
    PlanImportOptions,
    code_lists,
    import_plan,
    land_use_for_map,
    sosi_converter,
    vacant_premises_by_land_use,
)
from tests.conftest import table_counts

REAL = REPO_ROOT.parent / "shared" / "data" / "real"
ZONING = REAL / "zoning"
KOMMUNER = REAL / "boundaries" / "kommuner_norge_2024_generalised.geojson"
N50_SOSI = REAL / "sosi" / "0128_N50_Samferdsel.sos"
LICENCE = "MIT (Arkitektum/DiBK.RuleValidator.Rules.Gml test data)"
RPF = "{http://skjema.geonorge.no/SOSI/produktspesifikasjon/Reguleringsplanforslag/5.0}"


@dataclass(frozen=True)
class Setup:
    """How a file is imported: which municipality is loaded, with or without region check."""

    kommune: str | None = None  # boundary loaded first (None: none, the fallback applies)
    region_check: bool = True


SYNTHETIC = Setup(None, region_check=False)  # coordinates near 0° N 4.5° E: nowhere real
ARENDAL = Setup("4203")
RISOR = Setup("4201")

PASS: dict[str, Setup] = {
    "gml.avgr.1-pass.gml": SYNTHETIC,
    "gml.bue.1-pass.gml": RISOR,
    "gml.bue.2-pass.gml": RISOR,
    "gml.epsg.1-pass-1.gml": SYNTHETIC,
    "gml.epsg.1-pass-2.gml": SYNTHETIC,
    "gml.epsg.2-pass.gml": Setup(),
    "gml.gmlid.1-2D-pass.gml": ARENDAL,
    "gml.gmlid.1-3D-pass.gml": ARENDAL,
    "gml.uuid.1-pass.gml": RISOR,
    "gml.xlink.1-2D-pass.gml": ARENDAL,
    "gml.xlink.1-3D-pass.gml": ARENDAL,
}

# file -> (setup, "refused" | "warning", what the message names) — the table in docs/zoning.md
FAIL: dict[str, tuple[Setup, str, tuple[str, ...]]] = {
    "gml.avgr.1-fail.gml": (
        SYNTHETIC,
        "warning",
        ("RpFormålGrense gml:id=_3eba76fe-4291-4e08-a239-0746c88d8e87", "strays up to 0.040 m"),
    ),
    "gml.bue.1-fail.gml": (
        SYNTHETIC,
        "warning",
        ("gml:Arc (line 93)", "an arc needs exactly 3 positions, this one has 2"),
    ),
    "gml.bue.2-fail.gml": (SYNTHETIC, "warning", ("gml:Arc (line 93)", "(nearly) straight")),
    "gml.epsg.1-fail.gml": (
        SYNTHETIC,
        "refused",
        (
            "RpOmråde gml:id=_d23f6d0c-ac1d-4857-b2fc-a8501e014dfb",
            "gml:MultiSurface gml:id=_d23f6d0c-ac1d-4857-b2fc-a8501e014dfb-0 (line 51)",
            "CRS EPSG:23095 is not one Reguleringsplanforslag 5.0 allows",
        ),
    ),
    "gml.epsg.2-fail.gml": (
        Setup(),
        "warning",
        ("RpRegulertTerreng", "gml:TriangulatedSurface", "no coordinate reference system"),
    ),
    "gml.flate.1-fail.gml": (
        SYNTHETIC,
        "refused",
        ("RpOmråde gml:id=_d23f6d0c", "gml:posList (line 56)", "posList has 49 numbers"),
    ),
    "gml.flate.2-fail.gml": (
        SYNTHETIC,
        "warning",
        ("RpBestemmelseOmråde gml:id=_0b710728", "the exterior ring crosses itself"),
    ),
    "gml.flate.3-fail.gml": (
        SYNTHETIC,
        "warning",
        ("RpArealformålOmråde gml:id=_6d6d42da", "the exterior ring runs clockwise"),
    ),
    "gml.flate.4-fail.gml": (
        SYNTHETIC,
        "refused",
        ("RpArealformålOmråde gml:id=_1deb7804", "interior ring 1 is not inside the exterior ring"),
    ),
    "gml.flate.5-fail.gml": (
        SYNTHETIC,
        "refused",
        ("RpArealformålOmråde gml:id=_1deb7804", "interior rings 1 and 2 overlap"),
    ),
    "gml.gmlid.1-2D-fail.gml": (
        ARENDAL,
        "refused",
        ("gml:Polygon (line 65)", "gml:id _0e39744f-76e3-4171-bb8f-d3554c70ebb5 is already used"),
    ),
    "gml.gmlid.1-3D-fail.gml": (
        ARENDAL,
        "refused",
        ("RpRegulertTerreng (line 46)", "gml:id _0e39744f-76e3-4171-bb8f-d3554c70ebb5 is already"),
    ),
    "gml.kurve.1-fail.gml": (
        SYNTHETIC,
        "refused",
        (
            "RpOmråde gml:id=_d23f6d0c",
            "posList has 49 numbers",
            "warning: RpRegulertHøyde gml:id=_0c12aec2-74f1-4095-b2dc-86a6a0768edf",
            "gml:posList (line 326): posList has 11 numbers",
        ),
    ),
    "gml.kurve.2-fail.gml": (
        SYNTHETIC,
        "warning",
        ("RpFormålGrense gml:id=_af6f620e", "1 repeated position(s) (zero-length segments)"),
    ),
    "gml.uuid.1-fail.gml": (
        RISOR,
        "warning",
        ("RpFormålGrense gml:id=_df9d57e3", "lokalId 'ugyldlig-uuid' is not a UUID"),
    ),
    "gml.xlink.1-2D-fail.gml": (
        ARENDAL,
        "warning",
        ("Arealplan gml:id=_0e39744f", "links to #_ef872b4e", "no element of the file has"),
    ),
    "gml.xlink.1-3D-fail.gml": (
        ARENDAL,
        "warning",
        ("RpRegulertTerreng gml:id=_6f28752d", "links to #_c2440206", "no element"),
    ),
}


def test_every_file_in_the_folder_has_a_documented_answer():
    files = {p.name for p in ZONING.glob("*.gml")}
    assert files == set(PASS) | set(FAIL)
    documented = (REPO_ROOT / "docs" / "zoning.md").read_text(encoding="utf-8")
    for name in FAIL:
        assert f"`{name}`" in documented, f"{name} is missing from docs/zoning.md"


# -- helpers ----------------------------------------------------------------------------------
def load_boundary(url: str, kommunenummer: str) -> None:
    """The real (generalised) boundary of one municipality, from the national file.

    Written with SQL rather than ``geoplan import --layer boundary``: the generalised national
    file self-intersects in places (repaired here with ST_MakeValid, a test fixture), and the
    boundary import checks against Lørenskog until the any-municipality work lands.
    """
    features = json.loads(KOMMUNER.read_text(encoding="utf-8"))["features"]
    feature = next(f for f in features if f["properties"]["kommunenummer"] == kommunenummer)
    with db.transaction(url) as conn:
        conn.execute("DELETE FROM boundary")
        conn.execute(
            """INSERT INTO boundary (id, name, kommunenummer, source, licence, geom)
               VALUES (%s, %s, %s, %s, 'CC BY 4.0 © Kartverket', ST_Multi(ST_CollectionExtract(
                 ST_MakeValid(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), 25833)),
                 3)))""",
            [
                kommunenummer,
                feature["properties"]["kommunenavn"],
                kommunenummer,
                "Kartverket, Administrative enheter – kommuner (generalised)",
                json.dumps(feature["geometry"]),
            ],
        )


def run_import(url: str, path: Path, setup: Setup, **options):
    if setup.kommune:
        load_boundary(url, setup.kommune)
    opts = PlanImportOptions(
        check_region=setup.region_check, licence=LICENCE, sample=True, **options
    )
    with db.transaction(url) as conn:
        return import_plan(conn, path, opts)


@dataclass
class Expected:
    """What a plain ElementTree reading of the file says should be stored."""

    areas: int
    codes: list[int]
    fields: list[str]
    plan_name: str
    kommunenummer: str | None
    has_plan_area: bool


def expected(path: Path) -> Expected:
    root = ET.parse(path).getroot()
    areas = list(root.iter(f"{RPF}RpArealformålOmråde"))
    plan = next(root.iter(f"{RPF}Arealplan"))
    kommune = next(plan.iter(f"{RPF}kommunenummer")).text
    return Expected(
        areas=len(areas),
        codes=sorted(int(a.find(f"{RPF}arealformål").text) for a in areas),
        fields=sorted(a.find(f"{RPF}feltnavn").text for a in areas),
        plan_name=plan.find(f"{RPF}plannavn").text,
        kommunenummer=kommune if kommune and kommune.isdigit() else None,
        has_plan_area=any(e.find(f"{RPF}område") is not None for e in root.iter(f"{RPF}RpOmråde")),
    )


def stored(url: str) -> dict:
    with psycopg.connect(db.conninfo(url)) as conn:
        plans = conn.execute(
            "SELECT id, name, kommunenummer, geom IS NOT NULL, sample, licence FROM plans"
        ).fetchall()
        areas = conn.execute(
            "SELECT code, name, field_name, plan, sample, ST_IsValid(geom) FROM land_use"
        ).fetchall()
    return {"plans": plans, "areas": areas}


# -- the pass files ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PASS))
def test_pass_file_imports_with_exact_counts(empty_db: str, name: str):
    path = ZONING / name
    want = expected(path)
    result = run_import(empty_db, path, PASS[name])
    got = stored(empty_db)
    assert len(got["plans"]) == 1
    plan_id, plan_name, kommune, has_area, sample, licence = got["plans"][0]
    assert (plan_name, kommune, has_area) == (
        want.plan_name,
        want.kommunenummer,
        want.has_plan_area,
    )
    assert sample and licence == LICENCE  # schema examples, never presented as real plans
    assert result.plan.id == plan_id and result.areas == want.areas
    assert len(got["areas"]) == want.areas
    assert sorted(a[0] for a in got["areas"]) == want.codes
    assert sorted(a[2] for a in got["areas"]) == want.fields
    names = code_lists().land_use
    assert all(a[1] == names[a[0]].name and a[3] == plan_id and a[4] and a[5] for a in got["areas"])


def test_pass_file_land_use_names_come_from_the_code_list(empty_db: str):
    run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT code, name, main_purpose, utilisation_type_name, ownership "
            "FROM land_use"
        ).fetchall()
    assert rows == [
        (1169, "Annen offentlig eller privat tjenesteyting", "Bebyggelse og anlegg",
         "%-BYA – bebygd areal i prosent etter TEK 2007/TEK17", "offentlig"),
    ]  # fmt: skip


# -- the fail files ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FAIL))
def test_fail_file_gets_its_documented_answer(empty_db: str, name: str):
    setup, answer, named = FAIL[name]
    path = ZONING / name
    if setup.kommune:
        load_boundary(empty_db, setup.kommune)
    before = table_counts(empty_db)
    if answer == "refused":
        with pytest.raises(PlanFileError) as info:
            run_import(empty_db, path, setup)
        message = str(info.value)
        assert message.startswith(f"{name}: ")
        assert "nothing was imported" in message.splitlines()[0]
        for part in named:
            assert part in message, message
        assert table_counts(empty_db) == before  # all or nothing
    else:
        result = run_import(empty_db, path, setup)
        warnings = "\n".join(str(w) for w in result.warnings)
        for part in named:
            assert part in warnings, warnings
        want = expected(path)
        got = stored(empty_db)
        assert len(got["plans"]) == 1 and len(got["areas"]) == want.areas


# -- where a plan lies ------------------------------------------------------------------------
def test_plan_for_another_municipality_is_refused(loaded_db: str):
    """A real-coordinate plan of Arendal into the shipped Lørenskog store: nothing written."""
    before = table_counts(loaded_db)
    with pytest.raises(PlanFileError) as info:
        run_import(loaded_db, ZONING / "gml.gmlid.1-2D-pass.gml", Setup())
    message = str(info.value)
    assert "RpOmråde gml:id=_bf872b4e-c1b7-40eb-b949-fdb0ca19c6aa" in message
    assert "lies outside the region (within 10 km of Lørenskog kommune)" in message
    assert "is a plan of kommune 4203, but this store serves 3222 (Lørenskog)" in message
    assert table_counts(loaded_db) == before


def test_synthetic_coordinates_need_the_region_check_off(empty_db: str):
    load_boundary(empty_db, "4203")
    with pytest.raises(PlanFileError, match="lies outside the region"):
        run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", Setup("4203"))
    result = run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", Setup("4203", False))
    warnings = "\n".join(map(str, result.warnings))
    assert "region check skipped (--no-region-check)" in warnings
    assert warnings.count("lies outside the region (within 10 km of Arendal kommune)") == 4
    assert result.areas == 3


def test_arcs_are_linearised_on_the_circle(empty_db: str):
    """The plan area of gmlid.1-2D-pass is a ring of line segments and gml:Arc: the stored
    boundary passes through every arc's middle point (within the 1 cm tolerance)."""
    path = ZONING / "gml.gmlid.1-2D-pass.gml"
    run_import(empty_db, path, ARENDAL)
    gml = "{http://www.opengis.net/gml/3.2}"
    root = ET.parse(path).getroot()
    rp = next(root.iter(f"{RPF}RpOmråde"))
    arcs = [a for a in rp.iter(f"{gml}Arc")]
    assert len(arcs) == 2
    to_33 = Transformer.from_crs(25832, 25833, always_xy=True)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        wkb, npoints = conn.execute(
            "SELECT ST_AsBinary(geom), ST_NPoints(geom) FROM plans"
        ).fetchone()
    outline = shapely.from_wkb(bytes(wkb)).boundary
    straight = sum(
        len(s.find(f"{gml}posList").text.split()) // 2 for s in rp.iter(f"{gml}LineStringSegment")
    )
    assert npoints > straight + 2 * 3  # each arc became more than its three points
    for a in arcs:
        values = [float(v) for v in a.find(f"{gml}posList").text.split()]
        mid = shapely.Point(to_33.transform(values[2], values[3]))
        assert outline.distance(mid) < 0.01


def test_reimport_replaces_the_plan(empty_db: str):
    first = run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    again = run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    assert (first.replaced, again.replaced) == (False, True)
    assert len(stored(empty_db)["areas"]) == 3


# -- bad input --------------------------------------------------------------------------------
def _variant(tmp_path: Path, name: str, change) -> Path:
    out = tmp_path / name
    out.write_bytes(change((ZONING / "gml.avgr.1-pass.gml").read_bytes()))
    return out


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("truncated.gml", lambda b: b[:3000], "truncated.gml: line "),
        (
            "namespace.gml",
            lambda b: b.replace(b"Reguleringsplanforslag/5.0", b"Reguleringsplan/4.5"),
            "not a Reguleringsplanforslag 5.0 file",
        ),
        (
            "code.gml",
            lambda b: b.replace("formål>1169<".encode(), "formål>9999<".encode(), 1),
            "arealformål '9999' is not in the code list RpArealformål",
        ),
        (
            "entity.gml",
            lambda b: b.replace(
                b'<?xml version="1.0" encoding="utf-8"?>',
                b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                b'"file:///etc/passwd">]>',
            ).replace(b"<app:plannavn>String<", b"<app:plannavn>&e;<"),
            "has no plannavn",
        ),
    ],
    ids=["truncated", "namespace", "unknown code", "external entity"],
)
def test_bad_file_is_refused_naming_the_problem(empty_db, tmp_path, name, change, message):
    before = table_counts(empty_db)
    with pytest.raises(ValidationError) as info:
        run_import(empty_db, _variant(tmp_path, name, change), SYNTHETIC)
    assert message in str(info.value)
    assert table_counts(empty_db) == before


def test_unsupported_suffix_and_missing_file(empty_db: str, tmp_path: Path):
    other = tmp_path / "plan.geojson"
    other.write_text("{}")
    with pytest.raises(ValidationError, match=r"\.gml\) or SOSI \(\.sos\)"):
        run_import(empty_db, other, Setup())
    with pytest.raises(FileNotFoundError):
        run_import(empty_db, tmp_path / "nope.gml", Setup())


# -- SOSI --------------------------------------------------------------------------------------
SOSI_PLAN = """.HODE
..TEGNSETT ISO8859-10
..TRANSPAR
...KOORDSYS 22
...ORIGO-NØ 0 0
...ENHET 0.01
..OMRÅDE
...MIN-NØ 647640000 48440000
...MAX-NØ 647760000 48560000
..SOSI-VERSJON 4.5
..SOSI-NIVÅ 4
.FLATE 1:
..OBJTYPE RpOmråde
..NASJONALAREALPLANID
...KOMM 4203
...PLANID 9999
..PLANNAVN "Syntetisk testplan (ikke en virkelig plan)"
..PLANTYPE 35
..PLANSTAT 3
..VEDTAKENDELIGPLANDATO 20200115
..VERTNIV 2
..REF :1 :2
..NØ
647700000 48490000
.FLATE 2:
..OBJTYPE RpArealformålOmråde
..NASJONALAREALPLANID
...KOMM 4203
...PLANID 9999
..RPAREALFORMÅL 1300
..FELTNAVN "BN1"
..UTNYTTING
...UTNTYP 16
...UTNTALL 60
..REF :1 :-3
..NØ
647700000 48470000
.FLATE 3:
..OBJTYPE RpArealformålOmråde
..NASJONALAREALPLANID
...KOMM 4203
...PLANID 9999
..RPAREALFORMÅL 1130
..FELTNAVN "BS1"
..REF :2 :3
..NØ
647700000 48520000
.KURVE 1:
..OBJTYPE RpGrense
..NØ
647650000 48500000
647650000 48450000
647750000 48450000
647750000 48500000
.KURVE 2:
..OBJTYPE RpGrense
..NØ
647750000 48500000
647750000 48550000
647650000 48550000
647650000 48500000
.KURVE 3:
..OBJTYPE RpFormålGrense
..NØ
647650000 48500000
647750000 48500000
.SLUTT
"""
"""A synthetic SOSI plan (written for this test, not real): a 1 km × 1 km plan area in Arendal
(EUREF89 UTM 32) split into Næringsbebyggelse (west) and Sentrumsformål (east)."""


def sosi_driver_available() -> bool:
    try:
        sosi_converter()
    except MissingToolError:
        return False
    return True


def test_sosi_plan_imports_through_gdal_or_says_what_to_install(empty_db: str, tmp_path: Path):
    """Never skipped: with GDAL's SOSI driver (Debian's gdal-bin, which `make test` installs)
    the plan imports with exact counts; without it the import fails with one line naming the
    package to install."""
    path = tmp_path / "plan.sos"
    path.write_bytes(SOSI_PLAN.encode("latin-1"))
    if not sosi_driver_available():
        with pytest.raises(MissingToolError, match=r"run `apt-get install gdal-bin`"):
            run_import(empty_db, path, ARENDAL)
        return
    result = run_import(empty_db, path, ARENDAL)
    assert (result.format, result.plan.id, result.areas) == ("SOSI", "4203_9999", 2)
    assert result.by_code == [(1130, "Sentrumsformål", 1), (1300, "Næringsbebyggelse", 1)]
    assert not list(tmp_path.glob("plan/*")), "GDAL's index files must not be written beside it"
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        plan = conn.execute(
            "SELECT name, plan_type_name, status_name, decision_date::text, kommunenummer, "
            "round(ST_Area(geom)) FROM plans"
        ).fetchone()
        areas = conn.execute(
            "SELECT code, field_name, utilisation, round(ST_Area(geom) / 1000) FROM land_use "
            "ORDER BY code"
        ).fetchall()
    assert plan[:5] == (
        "Syntetisk testplan (ikke en virkelig plan)",
        "Detaljregulering",
        "Endelig vedtatt arealplan",
        "2020-01-15",
        "4203",
    )
    assert 990_000 < plan[5] < 1_010_000  # 1 km² in UTM 32, measured in UTM 33
    assert areas == [(1130, "BS1", None, 502), (1300, "BN1", 60.0, 502)]


def test_sosi_file_without_a_plan_is_refused(empty_db: str):
    """A real SOSI file (Kartverket N50 roads, read-only in shared/): not a zoning plan."""
    if not sosi_driver_available():
        with pytest.raises(MissingToolError, match="apt-get install gdal-bin"):
            run_import(empty_db, N50_SOSI, Setup())
        return
    with pytest.raises(PlanFileError, match=r"not a zoning plan \(found 2680 VegSenterlinje"):
        run_import(empty_db, N50_SOSI, Setup())
    assert not (N50_SOSI.parent / N50_SOSI.stem).exists()


def test_missing_sosi_driver_is_one_line_naming_the_package(empty_db, tmp_path, monkeypatch):
    path = tmp_path / "plan.sos"
    path.write_bytes(SOSI_PLAN.encode("latin-1"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no ogr2ogr here
    with pytest.raises(MissingToolError) as info:
        run_import(empty_db, path, Setup())
    assert str(info.value).count("\n") == 0
    assert "run `apt-get install gdal-bin`" in str(info.value)


# -- OGC collections and the premises count ----------------------------------------------------
def test_land_use_and_plans_are_ogc_collections(empty_db: str):
    run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        page = query_items(conn, COLLECTIONS["land_use"], ItemsQuery(limit=10))
        features = json.loads(page.features_json)
        one = get_item(conn, COLLECTIONS["land_use"], features[0]["id"])
        plans = json.loads(query_items(conn, COLLECTIONS["plans"], ItemsQuery()).features_json)
        filtered = query_items(
            conn,
            COLLECTIONS["land_use"],
            ItemsQuery(filter="code = 1169 AND field_name = 'o_BTAN2'"),
        )
    assert page.number_returned == page.number_matched == 3
    props = features[0]["properties"]
    assert props["code"] == 1169 and props["name"] == "Annen offentlig eller privat tjenesteyting"
    assert props["plan"] == plans[0]["id"] and props["sample"] is True
    assert props["licence"] == LICENCE
    assert features[0]["geometry"]["type"] == "MultiPolygon"
    assert one["id"] == features[0]["id"]
    assert plans[0]["properties"]["name"] == "String"
    assert filtered.number_returned == 1


def test_vacant_premises_counted_per_land_use_purpose(empty_db: str):
    """Synthetic premises placed inside the imported polygons (and one outside, one withdrawn)
    are counted per purpose."""
    run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    with db.transaction(empty_db) as conn:
        for pid, field, area in (
            ("p1", "o_BTAN1", 100),
            ("p2", "o_BTAN1", 50),
            ("p3", "o_BTAN3", 25),
        ):
            conn.execute(
                """INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom)
                   SELECT %s, 'Testveien 1 (eksempel)', ARRAY['office'], %s, 'test', true,
                          ST_PointOnSurface(geom) FROM land_use WHERE field_name = %s""",
                [pid, area, field],
            )
        conn.execute(
            """INSERT INTO premises (id, address, uses, floor_area_m2, status, source, sample,
                                     geom)
               SELECT 'p4', 'Testveien 2 (eksempel)', ARRAY['office'], 999, 'withdrawn', 'test',
                      true, ST_PointOnSurface(geom) FROM land_use WHERE field_name = 'o_BTAN2'"""
        )
        conn.execute(
            """INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom)
               VALUES ('p5', 'Langt unna (eksempel)', ARRAY['office'], 10, 'test', true,
                       ST_SetSRID(ST_MakePoint(100, 100), 25833))"""
        )
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        report = vacant_premises_by_land_use(conn)
        plan_id = conn.execute("SELECT id FROM plans").fetchone()[0]
        only = vacant_premises_by_land_use(conn, plan_id)
        with pytest.raises(NotFoundError):
            vacant_premises_by_land_use(conn, "0000_nope")
    assert (report.vacant_premises, report.in_land_use, report.outside_land_use) == (4, 3, 1)
    [purpose] = report.purposes
    assert (purpose.code, purpose.areas, purpose.premises) == (1169, 3, 3)
    assert (purpose.floor_area_m2, purpose.sample_premises) == (175.0, 3)
    assert only.to_dict() == report.to_dict() | {"plan": plan_id}


def test_map_reader_gives_colours_from_the_code_list(empty_db: str):
    run_import(empty_db, ZONING / "gml.avgr.1-pass.gml", SYNTHETIC)
    with psycopg.connect(db.conninfo(empty_db)) as conn:
        gdf = land_use_for_map(conn)
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326
    assert set(gdf["colour"]) == {code_lists().land_use[1169].colour}
    assert set(gdf["plan_name"]) == {"String"} and gdf["sample"].all()
