"""Which hubs a walk may end at (selections by status, mode, id) and one hub's distance from
a site.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class HubSelection:
    """Which hubs a batch walk may end at: by status, mode and/or id (None = any).

    The values are bound as query parameters, never spliced into SQL text, so a hub id typed
    by a user (``GET /premises?hub=...``) can select hubs but cannot change the statement.
    """

    statuses: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None

    def where(self) -> tuple[str, dict[str, list[str] | None]]:
        """An SQL condition on ``hubs`` (constant text) and the parameters it binds."""
        sql = (
            "(%(hs_statuses)s::text[] IS NULL OR status = ANY(%(hs_statuses)s)) "
            "AND (%(hs_modes)s::text[] IS NULL OR mode = ANY(%(hs_modes)s)) "
            "AND (%(hs_ids)s::text[] IS NULL OR id = ANY(%(hs_ids)s))"
        )
        params = {
            "hs_statuses": list(self.statuses) if self.statuses is not None else None,
            "hs_modes": list(self.modes) if self.modes is not None else None,
            "hs_ids": list(self.ids) if self.ids is not None else None,
        }
        return sql, params

    def describe(self) -> str:
        """The selection as a readable condition, e.g. ``status = 'existing'`` (for reports)."""
        parts = []
        for column, values in (("status", self.statuses), ("mode", self.modes), ("id", self.ids)):
            if values is None:
                continue
            quoted = ", ".join(f"'{v}'" for v in values)
            parts.append(f"{column} = {quoted}" if len(values) == 1 else f"{column} IN ({quoted})")
        return " AND ".join(parts) or "any hub"


EXISTING_HUBS = HubSelection(statuses=("existing",))
"""The hubs every premises' nearest hub is chosen from."""

HUB_GROUPS: dict[str, HubSelection] = {
    "existing": EXISTING_HUBS,
    "existing_rail_metro": HubSelection(statuses=("existing",), modes=("rail", "metro")),
    "planned": HubSelection(statuses=("planned",)),
}
"""Hub selections coverage is reported for."""


@dataclass
class HubDistance:
    """One hub's distance from a site. ``method`` says how ``walk_m`` was obtained."""

    hub_id: str
    name: str
    mode: str
    status: str
    straight_m: float
    walk_m: float
    walk_min: float
    method: str  # "network" | "straight_line"

    def to_dict(self) -> dict:
        return asdict(self)
