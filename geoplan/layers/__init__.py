"""What each layer's fields are (:mod:`~geoplan.layers.spec`) and the SQL derived from that
description (:mod:`~geoplan.layers.sql`)."""
