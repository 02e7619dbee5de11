"""Embedding and sharing a served map: the ``?embed=1`` mode and the "Del kartet" control.

Municipalities put maps on their own websites. A served map page takes an :class:`Embedding`:

* ``embed=False`` (the full page): the usual side panel, with a "Del kartet" part holding a
  link to the map as it is shown (filters in the query, the view in ``#kart=zoom/lat/lon``) and a
  copyable ``<iframe>`` snippet of its embed mode;
* ``embed=True`` (``?embed=1``): the map fills the frame — no side panel, no skip links into
  it — with a compact bar naming the map, its data warnings and a link to the full page. The
  lists under the map stay (a scroll away): they are the map's text alternative (WCAG 1.1.1).

Where the map may be embedded is ``GEOPLAN_FRAME_ANCESTORS`` (the page's CSP
``frame-ancestors``); the control says so when it is not every site. Written map files get no
``Embedding`` (``None``): nothing changes for them. The page code is
``maps/static/geoplan-share.js``, its style is in ``maps/static/geoplan.css``
(``.gp-share``, ``.gp-embed``, ``body.gp-embedded``); the builders call :func:`add_title` where
they added their title panel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import folium
from folium.elements import JSCSSMixin
from folium.template import Template

from maps import base

SHARE_JS = ("geoplan_share_js", "geoplan-share.js")


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


SHARE_HTML = (
    '<details class="gp-share" data-gp-collapse><summary><span class="gp-wide">Del kartet</span>'
    '<span class="gp-narrow">Del</span></summary>'
    '<label for="gp-share-link">Lenke til kartet slik det vises nå</label>'
    '<div class="gp-copy"><input id="gp-share-link" type="text" readonly>'
    '<button type="button" data-copy="gp-share-link">Kopier lenken</button></div>'
    '<label for="gp-embed-code">Kode for å bygge kartet inn på en nettside</label>'
    '<div class="gp-copy"><textarea id="gp-embed-code" rows="3" readonly></textarea>'
    '<button type="button" data-copy="gp-embed-code">Kopier koden</button></div></details>'
)
"""The share part of a full page's title panel; ``geoplan.share`` fills in the link and the
code (and the note on where the map may be embedded) and keeps them current."""


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
    """The title panel of a full page, or the embed bar; and the share control when served
    (a part of the title panel, like "Om kartet": one more button on phones, where the panel
    keeps one part open at a time, and nothing new to overlap on the map)."""
    if embedding is None:
        base.add_panel(m, panel_html)
        return
    if not embedding.embed:
        base.add_panel(m, panel_html + SHARE_HTML)
    if embedding.embed:
        _embed_page(m, panel_html)
    m.add_child(ShareControl(title, embedding, bar_html(title, notes)))


_ID = re.compile(r'\bid="([^"]+)"')


def _embed_page(m: folium.Map, panel_html: str) -> None:
    """The page around an embedded map: the map fills the frame (``body.gp-embedded``), and the
    skip links into the panel it no longer has are dropped (a link to nothing is a trap)."""
    frame = getattr(m.get_root(), "gp_frame", None)
    if frame is None:
        return
    frame.body_class = f"{frame.body_class} gp-embedded".strip()
    gone = {f"#{i}" for i in _ID.findall(panel_html)}
    frame.skip_links[:] = [(href, text) for href, text in frame.skip_links if href not in gone]
