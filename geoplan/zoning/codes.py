"""The official code lists of zoning plans (arealformål, plan type, status, utilisation), read
from the shipped data file ``layers/land_use_codes.toml``.

The file says where each list comes from (SOSI Plan 5.0, DiBK's national map styles); this module
only reads it, so a planner can check or extend a list without touching code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from geoplan.config import REPO_ROOT

CODES_FILE = REPO_ROOT / "layers" / "land_use_codes.toml"


@dataclass(frozen=True)
class LandUseCode:
    """One arealformål: its code, Norwegian name, main purpose and map colour."""

    code: int
    name: str
    group: str  # hovedformål (pbl. § 12-5 første ledd nr. 1–6), from the code's first digit
    colour: str  # fill colour of the national drawing rules ("#rrggbb")
    pattern: bool = False  # drawn as a hatching there; geoplan fills it with ``colour``
    expired: bool = False  # no longer allowed in new plans, still found in old ones


@dataclass(frozen=True)
class CodeLists:
    """All code lists of the file, keyed by their codes."""

    land_use: dict[int, LandUseCode]
    groups: dict[str, str]
    plan_types: dict[int, str]
    plan_statuses: dict[int, str]
    utilisation_types: dict[int, str]
    ownership: dict[int, str]
    source: dict[str, str]

    def land_use_name(self, code: int) -> str | None:
        entry = self.land_use.get(code)
        return entry.name if entry else None


def _int_keys(table: dict[str, str]) -> dict[int, str]:
    return {int(k): str(v) for k, v in table.items()}


@lru_cache(maxsize=4)
def code_lists(path: Path = CODES_FILE) -> CodeLists:
    """The code lists in ``path`` (default: the shipped ``layers/land_use_codes.toml``)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    groups = {str(k): str(v) for k, v in data["groups"].items()}
    land_use = {}
    for entry in data["land_use"]:
        code = int(entry["code"])
        land_use[code] = LandUseCode(
            code=code,
            name=str(entry["name"]),
            group=groups[str(code)[0]],
            colour=str(entry["colour"]),
            pattern=bool(entry.get("pattern", False)),
            expired=bool(entry.get("expired", False)),
        )
    return CodeLists(
        land_use=land_use,
        groups=groups,
        plan_types=_int_keys(data["plan_types"]),
        plan_statuses=_int_keys(data["plan_statuses"]),
        utilisation_types=_int_keys(data["utilisation_types"]),
        ownership=_int_keys(data["ownership"]),
        source={str(k): str(v) for k, v in data["source"].items()},
    )
