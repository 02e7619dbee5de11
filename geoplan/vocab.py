"""The closed vocabularies of geoplan's layers, named once and used by models, import and API."""

from __future__ import annotations

USE_CATEGORIES: tuple[str, ...] = (
    "office",
    "retail",
    "warehouse_logistics",
    "production",
    "health",
    "hospitality",
    "other",
)
"""Use categories a vacant premises can be offered for."""

AREA_ROLES: tuple[str, ...] = ("centre", "local_centre", "business_area", "campus", "destination")
AREA_SLUGS: tuple[str, ...] = (
    "sentrum",
    "stasjonsomradet",
    "fjellhamar",
    "visperud",
    "ahus",
    "losbydalen",
)
HUB_MODES: tuple[str, ...] = ("rail", "metro", "bus_terminal", "bus_stop")
HUB_STATUSES: tuple[str, ...] = ("existing", "planned")
PREMISES_STATUSES: tuple[str, ...] = ("available", "withdrawn")
UNIT_STATUSES: tuple[str, ...] = ("available", "let")
"""A unit of a premises listing is vacant (``available``) or let (kept, no longer offered)."""
ENERGY_LABELS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G")
"""The energy label (energikarakter) of the Norwegian energy certificate, best first."""
LAYERS: tuple[str, ...] = ("boundary", "areas", "hubs", "premises")

KOMMUNENUMMER_PATTERN = "^[0-9]{4}$"
"""A Norwegian municipality number (kommunenummer): four digits, county first (0301 Oslo)."""
DEFAULT_KOMMUNE = "3222"
"""Lørenskog: the municipality a store serves unless told otherwise (``GEOPLAN_KOMMUNE``)."""
