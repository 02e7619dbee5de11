"""Official addresses (Kartverket's Matrikkelen – Adresse) and the geocoder over them.

One module per concern: :mod:`~geoplan.addresses.normalise` (how address text is folded and a
query split into street, number, letter and locality), :mod:`~geoplan.addresses.matrikkel`
(reading the CSV Geonorge delivers), :mod:`~geoplan.addresses.importer` (the all-or-nothing
import into the ``addresses`` table), :mod:`~geoplan.addresses.geocoder` (ranked candidates
for free text; :func:`resolve` for callers that need exactly one position) and
:mod:`~geoplan.addresses.positions` (what a row placed by its address says in its
provenance). The names below are its API. The package sits beside :mod:`geoplan.proximity`
in the layer contract: the domain packages (premises, ingest, ...) may use it; it uses only
geo, store and the base.
"""

from geoplan.addresses.geocoder import (
    DEFAULT_LIMIT,
    MATCH_KINDS,
    MAX_LIMIT,
    RESOLVE_MIN_SCORE,
    AddressNotResolved,
    Candidate,
    addresses_loaded,
    check_limit,
    geocode,
    geocode_many,
    geocode_report,
    resolve,
    resolve_many,
    unique_match,
)
from geoplan.addresses.importer import (
    DEFAULT_ACCURACY_M,
    LICENCE,
    SOURCE_URL,
    AddressImport,
    AddressProvenance,
    import_addresses,
    refresh_streets,
)
from geoplan.addresses.matrikkel import AddressFileError, AddressRows, read_addresses
from geoplan.addresses.normalise import (
    MAX_QUERY_CHARS,
    ParsedQuery,
    fold,
    loose,
    parse_query,
    street_key,
)
from geoplan.addresses.positions import (
    IMPORT_ADDRESSES_HINT,
    POSITION_MARK,
    NoAddressesLoaded,
    geocoded_note,
    geocoded_position,
    geocoded_provenance,
    own_provenance,
    require_addresses,
)

__all__ = [
    "DEFAULT_ACCURACY_M",
    "DEFAULT_LIMIT",
    "IMPORT_ADDRESSES_HINT",
    "LICENCE",
    "MATCH_KINDS",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "POSITION_MARK",
    "RESOLVE_MIN_SCORE",
    "SOURCE_URL",
    "AddressFileError",
    "AddressImport",
    "AddressNotResolved",
    "AddressProvenance",
    "AddressRows",
    "Candidate",
    "NoAddressesLoaded",
    "ParsedQuery",
    "addresses_loaded",
    "check_limit",
    "fold",
    "geocode",
    "geocode_many",
    "geocode_report",
    "geocoded_note",
    "geocoded_position",
    "geocoded_provenance",
    "own_provenance",
    "import_addresses",
    "loose",
    "parse_query",
    "read_addresses",
    "refresh_streets",
    "require_addresses",
    "resolve",
    "resolve_many",
    "street_key",
    "unique_match",
]
