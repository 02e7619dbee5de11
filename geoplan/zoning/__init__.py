"""Zoning plans: Reguleringsplanforslag 5.0 GML and SOSI into the layers ``plans`` and
``land_use``, the official code lists, and vacant premises counted per land-use purpose.

- :mod:`~geoplan.zoning.codes`: the code lists in ``layers/land_use_codes.toml``
- :mod:`~geoplan.zoning.gml` / :mod:`~geoplan.zoning.sosi`: reading and checking a plan file
- :mod:`~geoplan.zoning.curves`: arcs as straight segments
- :mod:`~geoplan.zoning.importer`: ``geoplan import-plan`` (read, place, write; all or nothing)
- :mod:`~geoplan.zoning.premises`: vacant premises per arealformål
- :mod:`~geoplan.zoning.mapdata`: the land-use areas a map draws
"""

from geoplan.zoning.codes import CodeLists, LandUseCode, code_lists
from geoplan.zoning.gml import read_plan_gml
from geoplan.zoning.importer import (
    PlanImportOptions,
    PlanImportResult,
    import_plan,
    read_plan,
)
from geoplan.zoning.mapdata import land_use_for_map
from geoplan.zoning.model import Finding, PlanData, PlanFileError
from geoplan.zoning.premises import LandUsePremises, PurposeCount, vacant_premises_by_land_use
from geoplan.zoning.sosi import MissingToolError, read_plan_sosi, sosi_converter

__all__ = [
    "CodeLists",
    "Finding",
    "LandUseCode",
    "LandUsePremises",
    "MissingToolError",
    "PlanData",
    "PlanFileError",
    "PlanImportOptions",
    "PlanImportResult",
    "PurposeCount",
    "code_lists",
    "import_plan",
    "land_use_for_map",
    "read_plan",
    "read_plan_gml",
    "read_plan_sosi",
    "sosi_converter",
    "vacant_premises_by_land_use",
]
