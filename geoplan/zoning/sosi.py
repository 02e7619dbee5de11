"""Reading a zoning plan in SOSI (``.sos``) through GDAL's SOSI driver.

The driver comes with Debian's ``gdal-bin`` (``ogr2ogr``; the GDAL inside the pyogrio wheel has
no SOSI driver). geoplan copies the file into a temporary folder first — the driver writes index
files beside the file it opens, and the original may sit on a read-only disk — converts it there
to a GeoPackage with ``ogr2ogr`` and reads that. The driver builds each ``.FLATE`` from the
``.KURVE``/``.BUEP`` it refers to (arcs linearised by GDAL) and names the attributes as SOSI Plan
does (``arealformål``, ``feltbetegnelse``, ``planidentifikasjon`` ...).

SOSI has no ``Arealplan`` object: the plan's name, type, status and decision date are read from
its ``RpOmråde``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.polygon import orient

from geoplan.config import STORAGE_SRID
from geoplan.errors import GeoplanError
from geoplan.zoning.codes import CodeLists, code_lists
from geoplan.zoning.model import Finding, LandUseRecord, PlanData, PlanFileError, PlanRecord

FORMAT = "SOSI"
SUFFIXES = (".sos", ".sosi")
INSTALL = "apt-get install gdal-bin"
CONVERT_TIMEOUT_S = 600


class MissingToolError(GeoplanError):
    """A program geoplan needs for this input is not installed."""


def sosi_converter() -> str:
    """The ``ogr2ogr`` that has GDAL's SOSI driver, or :class:`MissingToolError` saying what
    to install."""
    ogr2ogr, ogrinfo = shutil.which("ogr2ogr"), shutil.which("ogrinfo")
    if not ogr2ogr or not ogrinfo:
        raise MissingToolError(
            f"reading SOSI needs GDAL's SOSI driver (ogr2ogr from Debian's gdal-bin), which is "
            f"not installed: run `{INSTALL}`"
        )
    formats = subprocess.run([ogrinfo, "--formats"], capture_output=True, text=True, timeout=60)
    if "SOSI" not in formats.stdout:
        raise MissingToolError(
            f"the GDAL at {ogr2ogr} has no SOSI driver; install Debian's build, which has it: "
            f"run `{INSTALL}`"
        )
    return ogr2ogr


def _str(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    text = _str(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    """A finite number, else None (as for text that is no number: ``INF`` is none either)."""
    text = _str(value)
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is None or math.isfinite(number) else None


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _str(value)
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    return None


def _kommune(value: Any) -> str | None:
    """The driver types KOMM as an integer (0301 arrives as 301): four digits again."""
    number = _int(value)
    return f"{number:04d}" if number is not None and 0 < number < 10_000 else None


def _convert(path: Path, workdir: Path) -> Path:
    ogr2ogr = sosi_converter()
    copy = workdir / path.name
    shutil.copyfile(path, copy)
    out = workdir / "plan.gpkg"
    proc = subprocess.run(
        [ogr2ogr, "-f", "GPKG", str(out), str(copy)],
        capture_output=True,
        text=True,
        timeout=CONVERT_TIMEOUT_S,
        cwd=workdir,
    )
    if proc.returncode != 0 or not out.exists():
        first = next((ln for ln in proc.stderr.splitlines() if ln.strip()), "no output")
        raise PlanFileError(path.name, [Finding("", f"GDAL's SOSI driver cannot read it: {first}")])
    return out


def read_plan_sosi(path: Path, codes: CodeLists | None = None) -> PlanData:
    """Read and check the plan in the SOSI file ``path`` (see the module docstring)."""
    codes = codes or code_lists()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    with tempfile.TemporaryDirectory(prefix="geoplan-sosi-") as tmp:
        gpkg = _convert(path, Path(tmp))
        layers = [str(name) for name in pyogrio.list_layers(gpkg)[:, 0]]
        if "polygons" in layers:
            gdf = gpd.read_file(gpkg, layer="polygons", engine="pyogrio")
        else:
            gdf = gpd.GeoDataFrame({"objekttypenavn": []}, geometry=[], crs=None)
        types: Counter = Counter()
        for layer in layers:
            frame = pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False)
            if "objekttypenavn" in frame.columns:
                types.update(str(t) for t in frame["objekttypenavn"].dropna())
    return _plan_from_polygons(path, gdf, types, codes)


def _plan_from_polygons(
    path: Path, gdf: gpd.GeoDataFrame, types: Counter, codes: CodeLists
) -> PlanData:
    findings: list[Finding] = []
    if "objekttypenavn" not in gdf.columns:
        gdf["objekttypenavn"] = None
    rp = gdf[gdf["objekttypenavn"] == "RpOmråde"]
    af = gdf[gdf["objekttypenavn"] == "RpArealformålOmråde"]
    if rp.empty and af.empty:
        found = ", ".join(f"{n} {t}" for t, n in types.most_common(8)) or "nothing"
        raise PlanFileError(
            path.name,
            [Finding("", f"no RpOmråde or RpArealformålOmråde: not a zoning plan (found {found})")],
        )
    if gdf.crs is None:
        raise PlanFileError(path.name, [Finding(".HODE", "no KOORDSYS: the file has no CRS")])

    def col(frame, name):
        return frame[name] if name in frame.columns else [None] * len(frame)

    keys = {
        (_kommune(k), _str(p))
        for k, p in zip(col(gdf, "kommunenummer"), col(gdf, "planidentifikasjon"), strict=True)
    }
    keys.discard((None, None))
    if len(keys) > 1:
        listed = ", ".join(f"{k}_{p}" for k, p in sorted(keys, key=str))
        raise PlanFileError(
            path.name,
            [Finding("", f"holds {len(keys)} plans ({listed}); geoplan imports one plan per file")],
        )
    kommune, plan_id = next(iter(keys)) if keys else (None, None)
    head = rp.iloc[0] if len(rp) else af.iloc[0]
    name = _str(head.get("plannavn")) or ""
    if not name:
        findings.append(Finding("RpOmråde", "has no PLANNAVN", error=True))
    if kommune is None:
        findings.append(Finding("RpOmråde", "no usable KOMM (kommunenummer)", error=False))
    plan_type, status = _int(head.get("plantype")), _int(head.get("planstatus"))
    plan = PlanRecord(
        id=f"{kommune}_{plan_id}" if kommune and plan_id else f"sosi:{path.stem}",
        plan_id=plan_id,
        name=name,
        plan_type=plan_type,
        plan_type_name=codes.plan_types.get(plan_type) if plan_type is not None else None,
        status=status,
        status_name=codes.plan_statuses.get(status) if status is not None else None,
        decision_date=_date(head.get("vedtakEndeligPlanDato")),
        kommunenummer=kommune,
        lokal_id=_str(head.get("LOKALID")),
        namespace=_str(head.get("NAVNEROM")),
    )
    to_storage = gdf.to_crs(STORAGE_SRID)

    def where(i: int, row) -> str:
        field = _str(row.get("feltbetegnelse"))
        return f"{row['objekttypenavn']} {i + 1}" + (f" (FELTNAVN {field})" if field else "")

    areas: list[LandUseRecord] = []
    for i, (idx, row) in enumerate(af.iterrows()):
        here = where(i, row)
        geom = _clean(to_storage.geometry.loc[idx])
        code = _int(row.get("arealformål"))
        if code is None or code not in codes.land_use:
            findings.append(
                Finding(
                    here,
                    f"RPAREALFORMÅL {_str(row.get('arealformål'))!r} is not in the "
                    "code list RpArealformål (layers/land_use_codes.toml)",
                )
            )
            continue
        if geom is None or not geom.is_valid:
            reason = shapely.is_valid_reason(geom) if geom is not None else "no surface"
            findings.append(Finding(here, f"its surface is invalid ({reason})"))
            continue
        utype = _int(row.get("utnyttingstype"))
        lokal = _str(row.get("LOKALID"))
        areas.append(
            LandUseRecord(
                id=f"{plan.id}/{lokal or i + 1}",
                code=code,
                name=codes.land_use[code].name,
                field_name=_str(row.get("feltbetegnelse")),
                ownership=_int(row.get("eierformType")),
                description=_str(row.get("beskrivelse")),
                utilisation_type=utype,
                utilisation_type_name=codes.utilisation_types.get(utype) if utype else None,
                utilisation=_float(row.get("utnyttingstall")),
                utilisation_min=_float(row.get("utnyttingstall_minimum")),
                accuracy_m=None,
                geometry=geom,
                lokal_id=lokal,
                where=here,
            )
        )
    plan_area, plan_area_where = None, ""
    if len(rp):
        parts = [_clean(to_storage.geometry.loc[idx]) for idx in rp.index]
        bad = [
            where(i, rp.loc[idx])
            for i, (idx, g) in enumerate(zip(rp.index, parts, strict=True))
            if g is None or not g.is_valid
        ]
        for here in bad:
            findings.append(Finding(here, "the plan area's surface is invalid"))
        good = [g for g in parts if g is not None and g.is_valid]
        if good:
            union = shapely.union_all(good)
            plan_area = (
                union
                if isinstance(union, MultiPolygon)
                else MultiPolygon(
                    [g for g in getattr(union, "geoms", [union]) if g.geom_type == "Polygon"]
                )
            )
            plan_area_where = "RpOmråde"
    if any(f.error for f in findings):
        raise PlanFileError(path.name, findings)
    ignored = Counter(
        {t: n for t, n in types.items() if t not in ("RpOmråde", "RpArealformålOmråde")}
    )
    return PlanData(
        path=path,
        format=FORMAT,
        plan=plan,
        plan_area=plan_area,
        plan_area_where=plan_area_where,
        areas=areas,
        warnings=findings,
        ignored=ignored,
        crs=[gdf.crs.to_string()],
    )


def _clean(geom) -> MultiPolygon | None:
    """The driver repeats the point where two boundary curves meet: drop such repeats."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.remove_repeated_points(geom, 1e-9)
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon":
        return None
    return MultiPolygon([orient(p, 1.0) for p in geom.geoms])
