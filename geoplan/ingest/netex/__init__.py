"""NeTEx import (Entur's Nordic profile): hubs, their stop places and quays, departures per hour.

See :mod:`geoplan.ingest.netex.importer` and docs/netex.md.
"""

from geoplan.ingest.netex.importer import NetexOptions, NetexResult, import_netex

__all__ = ["NetexOptions", "NetexResult", "import_netex"]
