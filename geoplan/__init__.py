"""geoplan: geospatial planning for business areas and transit hubs."""

__version__ = "0.1.0"
