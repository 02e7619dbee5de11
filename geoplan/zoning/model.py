"""What a zoning-plan file becomes before it is stored: one plan, its land-use areas, and the
findings (refusals and warnings) met on the way. Both readers (GML and SOSI) produce these."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shapely.geometry import MultiPolygon

from geoplan.errors import ValidationError

SHOW_FINDINGS = 20
"""How many problems a refusal lists before it says "... and N more"."""


@dataclass(frozen=True)
class Finding:
    """One problem in a file: where (feature type, gml:id or SOSI object, element, line) and what.

    ``error`` findings refuse the file; the others are warnings reported with the import.
    """

    where: str
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class PlanFileError(ValidationError):
    """A plan file was refused: the first line names the file and the first problem; the lines
    after it list the others (all of them are in ``findings``)."""

    def __init__(self, file: str, findings: list[Finding]):
        errors = [f for f in findings if f.error] or findings
        warnings = [f for f in findings if not f.error and f not in errors]
        n = len(errors)
        what = f"{n} problem{'s' if n != 1 else ''}"
        if n == 1:
            head, lines = f"{file}: {errors[0]}; nothing was imported", []
        else:
            head = f"{file}: {what}, nothing was imported (first: {errors[0]})"
            lines = [f"  {e}" for e in errors[:SHOW_FINDINGS]]
            if n > SHOW_FINDINGS:
                lines.append(f"  ... and {n - SHOW_FINDINGS} more")
        # what would only have been warned about, so one run tells everything found
        lines += [f"  warning: {w}" for w in warnings[:SHOW_FINDINGS]]
        if len(warnings) > SHOW_FINDINGS:
            lines.append(f"  ... and {len(warnings) - SHOW_FINDINGS} more warnings")
        super().__init__(
            "\n".join([head, *lines]),
            field="path",
            errors=[{"field": "path", "message": str(e)} for e in errors],
        )
        self.file = file
        self.findings = errors
        self.warnings = warnings


@dataclass
class PlanRecord:
    """The plan as a whole (``Arealplan`` in GML; the plan attributes of ``RpOmråde`` in SOSI)."""

    id: str  # geoplan's key: "<kommunenummer>_<planidentifikasjon>", else the plan's lokalId
    plan_id: str | None  # planidentifikasjon
    name: str
    plan_type: int | None
    plan_type_name: str | None
    status: int | None
    status_name: str | None
    decision_date: date | None  # vedtakEndeligPlanDato
    kommunenummer: str | None
    lokal_id: str | None = None
    namespace: str | None = None  # navnerom
    version_id: str | None = None
    updated: str | None = None  # oppdateringsdato, as written in the file
    gml_id: str | None = None


@dataclass
class LandUseRecord:
    """One land-use area (``RpArealformålOmråde``) with its geometry in EPSG:25833."""

    id: str
    code: int
    name: str
    field_name: str | None  # feltnavn
    ownership: int | None  # eierform
    description: str | None
    utilisation_type: int | None
    utilisation_type_name: str | None
    utilisation: float | None  # utnyttingstall
    utilisation_min: float | None  # utnyttingstall_minimum
    accuracy_m: float | None
    geometry: MultiPolygon
    gml_id: str | None = None
    lokal_id: str | None = None
    where: str = ""  # for messages: "RpArealformålOmråde gml:id=... (line 96)"


@dataclass
class PlanData:
    """A plan file read and checked, not yet stored."""

    path: Path
    format: str  # "Reguleringsplanforslag 5.0 GML" | "SOSI"
    plan: PlanRecord
    plan_area: MultiPolygon | None  # the union of the plan's RpOmråde, EPSG:25833
    plan_area_where: str
    areas: list[LandUseRecord]
    warnings: list[Finding] = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)  # feature types read but not stored
    crs: list[str] = field(default_factory=list)  # the file's CRSs, e.g. ["EPSG:25832"]
