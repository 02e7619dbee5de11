"""Folium map builders. They read through ``geoplan`` and return ``folium.Map`` objects."""
