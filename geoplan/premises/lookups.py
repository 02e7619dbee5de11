"""What a search's lookups read, so the API may keep their rows.

A search's checks look a few things up (is ``kommune`` a municipality, ``area`` a focus area,
does ``near`` lie in the served region). They are :mod:`geoplan.store.steps` generators, one
piece of code whether the CLI runs them on a ``psycopg.Connection`` or ``GET /premises`` on the
API's asyncio read pool. A lookup reads only the reference layers (:data:`LOOKUP_LAYERS`), so
its rows stay true until one of them is written: the API keeps them per data version
(:class:`geoplan.store.steps.Known`) and a repeated search asks the database only for its
results.
"""

from __future__ import annotations

LOOKUP_LAYERS: tuple[str, ...] = ("boundary", "areas", "hubs", "municipalities")
"""The layers every lookup reads (``data_versions`` names): its rows hold while none of them
is written."""
