"""A position for a listing that has an address and no coordinates, and what its provenance says.

Premises imported from a file (:mod:`geoplan.ingest.geocoding`) or posted to the API
(:mod:`geoplan.premises.register`) without coordinates are placed at the one address the
register names (:func:`~geoplan.addresses.geocoder.resolve`; never a guess). The row then says
so in its provenance, in the columns every layer has (no schema of its own):

* ``accuracy_m`` — the address's accuracy (the register's point, not the listing's own);
* ``source`` — the listing's source, then ``position: geocoded (exact) from <the address as
  the register writes it>, <dataset and file> (lokalid N)``;
* ``licence`` — the listing's licence, then ``position: <the address data's licence>``;
* ``source_url`` — the listing's, else the address dataset's.

Both callers build it here, so a file import and a POST record the same words.
"""

from __future__ import annotations

from typing import Any

import psycopg

from geoplan.addresses.geocoder import Candidate, addresses_loaded
from geoplan.errors import ValidationError

POSITION_MARK = "position: geocoded"
"""How ``source`` begins the part about a geocoded position (searchable, e.g. in SQL)."""

IMPORT_ADDRESSES_HINT = (
    "run `geoplan import-addresses FILE.csv` first (Kartverket's Matrikkelen – Adresse for the "
    "municipality, from Geonorge), or give coordinates"
)


class NoAddressesLoaded(ValidationError):
    """A listing must be placed by its address, but the store holds no addresses."""


def require_addresses(conn: psycopg.Connection, what: str, field: str = "address") -> None:
    """Raise :class:`NoAddressesLoaded` (naming ``what`` needs them) when none are loaded."""
    if not addresses_loaded(conn):
        raise NoAddressesLoaded(
            f"{what} has an address and no coordinates, but no addresses are loaded to find "
            f"its position; {IMPORT_ADDRESSES_HINT}",
            field,
        )


def geocoded_note(match: Candidate) -> str:
    """``position: geocoded (exact) from Storgata 2, 2408 ELVERUM (kommune 3420), Kartverket,
    Matrikkelen – Adresse (file.csv) (lokalid 123)``."""
    ident = f" (lokalid {match.lokalid})" if match.lokalid is not None else ""
    return f"{POSITION_MARK} ({match.match_kind}) from {match.label()}, {match.source}{ident}"


def geocoded_provenance(
    match: Candidate,
    *,
    source: str,
    source_url: str | None = None,
    licence: str | None = None,
) -> dict[str, Any]:
    """The provenance columns of a row placed at ``match``, given the listing's own."""
    position_licence = f"position: {match.licence}" if match.licence else None
    return {
        "source": f"{source}; {geocoded_note(match)}",
        "source_url": source_url or match.source_url,
        "licence": "; ".join(p for p in (licence, position_licence) if p) or None,
        "accuracy_m": match.accuracy_m,
    }


def _parts(text: str | None) -> list[str]:
    return [p for p in (text or "").split("; ") if p]


def geocoded_position(source: str | None) -> str | None:
    """The note on a geocoded position in a row's ``source`` (:func:`geocoded_note`), or None
    when the row's position was given (surveyed, clicked in a map, sent as coordinates)."""
    notes = [p for p in _parts(source) if p.startswith(POSITION_MARK)]
    return notes[-1] if notes else None


def own_provenance(source: str | None, licence: str | None) -> tuple[str | None, str | None]:
    """A geocoded row's own ``source`` and ``licence``, without the parts about its position
    (what :func:`geocoded_provenance` added); a row that was not geocoded as it is."""
    own_source = "; ".join(p for p in _parts(source) if not p.startswith(POSITION_MARK))
    own_licence = "; ".join(p for p in _parts(licence) if not p.startswith("position: "))
    return own_source or None, own_licence or None
