"""How walking is modelled: speed, detour factor, and how far off the network a point may lie.

Every walking distance and time geoplan computes depends on these three numbers, so the
functions that compute one take them as a :class:`WalkSettings` parameter instead of reading
the process settings deep inside. The adapters decide: the API passes its app's settings
(``create_app(settings)``), the CLI the process's (``GEOPLAN_*``).

``walk=None`` in a public function means :func:`default_walk`: the process settings. That
default serves library callers and the write paths (imports, premises writes, network imports)
whose stored results — ``premises_walk``, ``catchments`` — must all follow one store-wide
setting, whoever writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoplan.config import Settings, get_settings


@dataclass(frozen=True)
class WalkSettings:
    """The walking model: ``speed_kmh``, ``detour_factor`` (straight line × this ≈ walking
    distance without a network) and ``max_snap_m`` (farthest a point may lie from the walking
    network to be routed on it)."""

    speed_kmh: float
    detour_factor: float
    max_snap_m: float

    @property
    def m_per_min(self) -> float:
        """Metres walked per minute (5 km/h = 83.3 m/min)."""
        return self.speed_kmh * 1000 / 60

    @classmethod
    def from_settings(cls, settings: Settings) -> WalkSettings:
        """The walking model of ``settings`` (``walk_speed_kmh``, ``detour_factor``,
        ``network_max_snap_m``)."""
        return cls(settings.walk_speed_kmh, settings.detour_factor, settings.network_max_snap_m)


def default_walk(walk: WalkSettings | None = None) -> WalkSettings:
    """``walk``, or when None the process settings' walking model (see the module docstring)."""
    return walk if walk is not None else WalkSettings.from_settings(get_settings())
