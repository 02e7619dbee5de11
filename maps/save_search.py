""" "Lagre søket" on the served search map: save the search shown, get its stable link and feed.

A premises seeker who found a useful search wants to come back to it and hear of new matches.
The search map's panel has a button that saves the search the page shows — its filters and the
drawn area (the page's own query, :func:`saved_filters`) — through ``POST /premises/searches``
(no key needed), then shows the saved search's stable link (``/premises/searches/{id}``, which
a browser follows to the search map with those filters), the Atom feed link ("Abonner på nye
treff (Atom)") and a copy button; refusals (429 too many saves, 422) are said in words in a
live region. The page code is ``maps/static/geoplan-save.js`` (inlined and allowed by its hash
like the page's other scripts); only served pages get it (a written file has no API to save
to), and the embed mode has no panel to hold it.
"""

from __future__ import annotations

from folium.elements import JSCSSMixin
from folium.template import Template

from geoplan.premises import PremisesQuery
from geoplan.premises.saved import saved_filters
from maps import base

SAVE_JS = ("geoplan_save_js", "geoplan-save.js")

SAVE_HTML = (
    '<div class="gp-save" id="gp-save">'
    '<button type="button" id="gp-save-search" aria-describedby="gp-save-help">Lagre søket'
    "</button>"
    '<p id="gp-save-help" class="gp-hint">Få en fast lenke til søket og et varsel (Atom) om nye '
    "og endrede treff.</p>"
    '<div id="gp-saved" hidden>'
    '<label for="gp-saved-link">Fast lenke til det lagrede søket</label>'
    '<div class="gp-copy"><input id="gp-saved-link" type="text" readonly>'
    '<button type="button" id="gp-saved-copy">Kopier lenken</button></div>'
    '<p><a id="gp-saved-feed" href="#" type="application/atom+xml">'
    "Abonner på nye treff (Atom)</a></p></div>"
    '<p id="gp-save-status" role="status" aria-live="polite"></p></div>'
)
"""The save part under the search form; ``geoplan.saveSearch`` wires it."""


class SaveSearch(JSCSSMixin):
    """``geoplan.saveSearch(map, {filters, base})``: the button's behaviour."""

    default_js = [SAVE_JS]
    _template = Template(
        """{% macro script(this, kwargs) %}
        geoplan.saveSearch({{ this._parent.get_name() }}, {{ this.options_json }});
        {% endmacro %}"""
    )

    def __init__(self, q: PremisesQuery, link_base: str = ""):
        super().__init__()
        self._name = "GeoplanSaveSearch"
        self.options_json = base._compact_json({"filters": saved_filters(q), "base": link_base})
