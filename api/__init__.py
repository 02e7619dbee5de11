"""geoplan's HTTP API (FastAPI). Thin routers over functions in ``geoplan``."""
