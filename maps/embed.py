"""Embedding and sharing a served map: the ``?embed=1`` mode and the "Del kartet" control.

Municipalities put maps on their own websites. A served map page takes an :class:`Embedding`:

* ``embed=False`` (the full page): the usual side panel, plus a small control with a link to
  the map as it is shown (filters in the query, the view in ``#kart=zoom/lat/lon``) and a
  copyable ``<iframe>`` snippet of its embed mode;
* ``embed=True`` (``?embed=1``): the map alone for an ``<iframe>`` — no side panel, no result
  table — with a compact bar naming the map, its data warnings and a link to the full page.

Where the map may be embedded is ``GEOPLAN_FRAME_ANCESTORS`` (the page's CSP
``frame-ancestors``); the control says so when it is not every site. Written map files get no
``Embedding`` (``None``): nothing changes for them. The page code is
``maps/static/geoplan-share.js``; the builders call :func:`add_title` where they added their
title panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import Element
from folium.elements import JSCSSMixin
from folium.template import Template

from maps import base

SHARE_JS = ("geoplan_share_js", "geoplan-share.js")

CSS = """
.gp-embed{max-width:260px}.gp-embed h1{font-size:14px}.gp-embed p{margin:3px 0}
.gp-share summary{cursor:pointer;font-weight:bold}
.gp-share label{display:block;margin-top:6px;font-size:12px}
.gp-copy{display:flex;gap:4px;align-items:flex-start}
.gp-copy input,.gp-copy textarea{flex:1;min-width:200px;font:12px/1.3 monospace}
"""


@dataclass(frozen=True)
class Embedding:
    """How a served page is shown: ``embed`` (``?embed=1``) and the origins allowed to frame it
    (``GEOPLAN_FRAME_ANCESTORS`` as CSP sources: ``*``, ``'self'``, ``https://…``)."""

    embed: bool = False
    origins: tuple[str, ...] = ("*",)

    @property
    def note(self) -> str:
        """What the share control says about where the map may be embedded ('' for anywhere)."""
        if "*" in self.origins:
            return ""
        sites = [o for o in self.origins if o not in ("'self'", "'none'")]
        setting = " (innstillingen GEOPLAN_FRAME_ANCESTORS)"
        if sites:
            return f"Kartet kan bygges inn på: {', '.join(sites)}{setting}."
        if "'self'" in self.origins:
            return f"Kartet kan bare bygges inn på denne nettsiden{setting}."
        return f"Innbygging på andre nettsider er slått av{setting}."


class ShareControl(JSCSSMixin):
    """``geoplan.share(map, …)``: the view in the address, and the share or embed control."""

    default_js = [SHARE_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
        geoplan.share({{ this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}"""
    )

    def __init__(self, title: str, embedding: Embedding, bar_html: str):
        super().__init__()
        self._name = "GeoplanShare"
        self.options_json = base._compact_json(
            {"title": title, "embed": embedding.embed, "bar": bar_html, "note": embedding.note}
        )


def bar_html(title: str, notes: list[str]) -> str:
    """The embed mode's bar: the map's title and its data warnings (sample data, estimates)."""
    return f"<h1>{base.esc(title)}</h1>{base.notes_html(notes)}"


def add_title(
    m: folium.Map,
    panel_html: str,
    *,
    title: str,
    notes: list[str],
    embedding: Embedding | None,
) -> None:
    """The title panel of a full page, or the embed bar; and the share control when served."""
    if embedding is None or not embedding.embed:
        base.add_panel(m, panel_html)
    if embedding is None:
        return
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        Element(f"<style>{CSS}</style>"), name="geoplan_share_css"
    )
    m.add_child(ShareControl(title, embedding, bar_html(title, notes)))
