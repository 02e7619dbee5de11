"""maps/rendered_text.py: branca takes already rendered text as it is instead of compiling it as a
template — the pages must not change by a byte, and text with Jinja syntax is still a template."""

from __future__ import annotations

import branca.element
import jinja2
import psycopg
import pytest

from geoplan.premises import PremisesQuery
from geoplan.store import db
from maps.overview import render_overview
from maps.rendered_text import RenderedText, template
from maps.search import render_premises_map


@pytest.mark.parametrize(
    "source",
    ["", "\n", "plain", "plain\n", "two\n\n", "a\nb\n", "{ not jinja }", "x {{ 1 + 1 }} y",
     "{% if true %}yes{% endif %}\n", "a {# note #} b", "crlf\r\nline\r\n", "  \n  "],
)  # fmt: skip
def test_a_template_renders_as_jinja_does(source):
    assert template(source).render(this=None, kwargs={}) == jinja2.Template(source).render(
        this=None, kwargs={}
    )
    assert isinstance(template(source), RenderedText) == (
        not any(d in source for d in ("{{", "{%", "{#", "\r"))
    )


def test_pages_are_the_same_bytes_either_way(loaded_db, monkeypatch):
    def pages() -> list[str]:
        with psycopg.connect(db.conninfo(loaded_db)) as conn:
            return [
                render_overview(conn),
                render_overview(conn, tiles_threshold=10),
                render_premises_map(conn, PremisesQuery(uses=["office"])),
            ]

    assert branca.element.Template is template  # maps.base made branca use it
    ours = pages()
    monkeypatch.setattr(branca.element, "Template", jinja2.Template)
    assert pages() == ours
