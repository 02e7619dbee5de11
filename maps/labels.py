"""Norwegian (bokmål) words the maps show for geoplan's English vocabulary codes."""

from __future__ import annotations

USE_LABELS: dict[str, str] = {
    "office": "Kontor",
    "retail": "Handel",
    "warehouse_logistics": "Lager/logistikk",
    "production": "Produksjon",
    "health": "Helse",
    "hospitality": "Servering/overnatting",
    "other": "Annet",
}
ROLE_LABELS: dict[str, str] = {
    "centre": "Sentrum",
    "local_centre": "Lokalsenter",
    "business_area": "Næringsområde",
    "campus": "Campus",
    "destination": "Destinasjon",
}
MODE_LABELS: dict[str, str] = {
    "rail": "Tog",
    "metro": "T-bane",
    "bus_terminal": "Bussterminal",
    "bus_stop": "Bussholdeplass",
}
STATUS_LABELS: dict[str, str] = {"existing": "Eksisterende", "planned": "Planlagt"}
PREMISES_STATUS_LABELS: dict[str, str] = {"available": "Ledig", "withdrawn": "Trukket tilbake"}
METHOD_LABELS: dict[str, str] = {
    "network": "gangnett",
    "straight_line": "luftlinje-sirkel (anslag uten gangnett)",
}
SORT_LABELS: dict[str, str] = {
    "walk": "Gangtid til knutepunkt",
    "area": "Størst areal",
    "rent": "Lavest leie",
    "updated": "Sist oppdatert",
    "distance": "Nærmest søkepunktet",
}


def nok(value: float | None) -> str:
    """``2225.0`` -> ``'2 225'`` (Norwegian thousands separator); missing (None/NaN) -> ``–``.

    Pandas turns a NULL rent into NaN, which would otherwise be printed as ``nan``.
    """
    if value is None or value != value:
        return "–"
    return f"{value:,.0f}".replace(",", "\u00a0")
