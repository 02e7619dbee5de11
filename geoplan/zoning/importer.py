"""``geoplan import-plan``: one zoning plan (Reguleringsplanforslag 5.0 GML or SOSI) into the
layers ``plans`` and ``land_use``, all or nothing, in the caller's transaction.

Three stages: read and check the file (:mod:`geoplan.zoning.gml`, :mod:`geoplan.zoning.sosi`),
check where it lies (its surfaces within the region of the municipality the store serves, its
``kommunenummer`` that municipality's), then write. Importing a plan that is already stored
replaces it and all its land-use areas (a plan is identified by its national plan id,
``<kommunenummer>_<planidentifikasjon>``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import psycopg

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo.region import region
from geoplan.zoning.codes import code_lists
from geoplan.zoning.gml import FORMAT as GML_FORMAT
from geoplan.zoning.gml import read_plan_gml
from geoplan.zoning.model import Finding, PlanData, PlanFileError, PlanRecord
from geoplan.zoning.sosi import SUFFIXES as SOSI_SUFFIXES
from geoplan.zoning.sosi import read_plan_sosi

GML_SUFFIXES = (".gml", ".xml")


@dataclass
class PlanImportOptions:
    """What ``geoplan import-plan`` can be told beyond the file itself."""

    # Only for schema examples and test data whose coordinates lie nowhere real: skip the check
    # that the plan lies in the municipality the store serves (reported as a warning instead).
    check_region: bool = True
    source: str | None = None
    source_url: str | None = None
    licence: str | None = None
    verified: bool = False
    sample: bool = False


@dataclass
class PlanImportResult:
    path: Path
    format: str
    plan: PlanRecord
    areas: int
    replaced: bool
    has_plan_area: bool
    by_code: list[tuple[int, str, int]]  # (arealformål, name, areas)
    warnings: list[Finding] = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)


def read_plan(path: Path) -> PlanData:
    """Read and check a plan file, by its suffix: ``.gml``/``.xml`` or ``.sos``/``.sosi``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if suffix in GML_SUFFIXES:
        return read_plan_gml(path)
    if suffix in SOSI_SUFFIXES:
        return read_plan_sosi(path)
    raise ValidationError(
        f"{path.name}: unsupported file type {suffix or '(none)'}; a zoning plan is read from "
        f"{GML_FORMAT} (.gml) or SOSI (.sos)",
        field="path",
    )


def _place(conn: psycopg.Connection, data: PlanData, check: bool) -> list[Finding]:
    """Findings about where the plan lies: errors when ``check``, else warnings."""
    findings: list[Finding] = []
    items = ([(data.plan_area_where or "RpOmråde", data.plan_area)] if data.plan_area else []) + [
        (a.where, a.geometry) for a in data.areas
    ]
    if items:
        reg = region(conn)
        inside = reg.contains(np.array([g for _, g in items], dtype=object))
        for (where, _), ok in zip(items, inside, strict=True):
            if not ok:
                findings.append(
                    Finding(
                        where,
                        f"lies outside the region ({reg.description}): a plan for another "
                        "municipality, or coordinates in the wrong CRS",
                        error=check,
                    )
                )
    served, names = conn.execute(
        "SELECT array_agg(DISTINCT kommunenummer) FILTER (WHERE kommunenummer IS NOT NULL), "
        "string_agg(name, ', ' ORDER BY id) FROM boundary"
    ).fetchone()
    kommune = data.plan.kommunenummer
    if kommune and served and kommune not in served:
        findings.append(
            Finding(
                f"plan {data.plan.id}",
                f"is a plan of kommune {kommune}, but this store serves "
                f"{', '.join(sorted(served))} ({names})",
                error=check,
            )
        )
    if not check and findings:
        findings.insert(
            0,
            Finding(
                "",
                "region check skipped (--no-region-check): only for schema examples and test data",
                error=False,
            ),
        )
    return findings


def import_plan(
    conn: psycopg.Connection,
    path: Path,
    options: PlanImportOptions | None = None,
    progress=None,
) -> PlanImportResult:
    """Read, check and store the plan in ``path`` inside the caller's transaction."""
    options = options or PlanImportOptions()
    path = Path(path)
    report = progress or (lambda *_: None)
    report("reading", 0, None)
    data = read_plan(path)
    report("reading", 1, 1)
    n = len(data.areas)
    report("checking", 0, n)
    placed = _place(conn, data, options.check_region)
    if any(f.error for f in placed):
        raise PlanFileError(path.name, placed)
    report("checking", n, n)
    warnings = data.warnings + placed
    replaced = _write(conn, data, options)
    report("writing", n, n)
    codes = code_lists()
    by_code = Counter(a.code for a in data.areas)
    return PlanImportResult(
        path=path,
        format=data.format,
        plan=data.plan,
        areas=n,
        replaced=replaced,
        has_plan_area=data.plan_area is not None,
        by_code=[(c, codes.land_use[c].name, k) for c, k in sorted(by_code.items())],
        warnings=warnings,
        ignored=data.ignored,
    )


def _write(conn: psycopg.Connection, data: PlanData, options: PlanImportOptions) -> bool:
    plan = data.plan
    codes = code_lists()
    source = options.source or f"{data.path.name}: {plan.name or plan.id} ({data.format})"
    provenance = (source, options.source_url, options.licence, options.verified, options.sample)
    replaced = (
        conn.execute("DELETE FROM plans WHERE id = %s RETURNING id", [plan.id]).fetchone()
        is not None
    )  # its land-use areas go with it (ON DELETE CASCADE)
    conn.execute(
        f"""INSERT INTO plans (id, plan_id, name, plan_type, plan_type_name, status, status_name,
                decision_date, kommunenummer, lokal_id, format, source_file, source_date,
                source, source_url, licence, verified, sample, geom)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                    ST_SetSRID(ST_GeomFromWKB(%s), {STORAGE_SRID}))""",
        [
            plan.id,
            plan.plan_id,
            plan.name,
            plan.plan_type,
            plan.plan_type_name,
            plan.status,
            plan.status_name,
            plan.decision_date,
            plan.kommunenummer,
            plan.lokal_id,
            data.format,
            data.path.name,
            _date_part(plan.updated),
            *provenance,
            data.plan_area.wkb if data.plan_area is not None else None,
        ],
    )
    rows = [
        [
            a.id,
            plan.id,
            a.code,
            a.name,
            codes.land_use[a.code].group,
            a.field_name,
            codes.ownership.get(a.ownership) if a.ownership is not None else None,
            a.utilisation_type,
            a.utilisation_type_name,
            a.utilisation,
            a.utilisation_min,
            a.description,
            plan.kommunenummer,
            a.lokal_id,
            a.gml_id,
            source,
            options.source_url,
            options.licence,
            a.accuracy_m,
            options.verified,
            options.sample,
            a.geometry.wkb,
        ]
        for a in data.areas
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                f"""INSERT INTO land_use (id, plan, code, name, main_purpose, field_name,
                        ownership, utilisation_type, utilisation_type_name, utilisation,
                        utilisation_min, description, kommunenummer, lokal_id, gml_id,
                        source, source_url, licence, accuracy_m, verified, sample, geom)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                            %s, %s, %s, %s, ST_SetSRID(ST_GeomFromWKB(%s), {STORAGE_SRID}))""",
                rows,
            )
    return replaced


def _date_part(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
