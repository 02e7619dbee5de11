"""The printable HTML report of an assessment (Jinja2 template ``templates/assessment_report``).

Rendering is separate from map building: ``geoplan`` may not import ``maps``, so the caller
passes the map's HTML in (see :func:`maps.assessment.assessment_report_html`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

import geoplan


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("geoplan.assessment", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: f"{v:.0%}" if v is not None else "–"
    env.filters["num"] = lambda v: f"{v:,.0f}".replace(",", " ") if v is not None else "–"
    return env


def render_report(
    record: dict[str, Any], *, map_html: str | None = None, policy_title: str | None = None
) -> str:
    """The report as one self-contained HTML page (the map goes in an iframe ``srcdoc``)."""
    return (
        _env()
        .get_template("assessment_report.html.j2")
        .render(
            r=record,
            facts=record["facts"],
            map_html=map_html,
            policy_title=policy_title,
            geoplan_version=geoplan.__version__,
        )
    )
