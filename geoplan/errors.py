"""geoplan's error types. Each carries a message a user can act on without reading a traceback."""

from __future__ import annotations


class GeoplanError(Exception):
    """Base of errors caused by input or environment, not by a bug."""


class ValidationError(GeoplanError, ValueError):
    """Input is wrong; ``field`` names what (an API field, a file column, ``row N``)."""

    def __init__(self, message: str, field: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or [{"field": field, "message": message}]


class NotFoundError(GeoplanError, LookupError):
    """A named thing (premises id, hub, area slug, assessment) does not exist."""
