"""``/megler`` as HTML: Norwegian, no inline script or event handler (a strict CSP can forbid
both), the key never asked for in a URL or cookie, and a form derived from the premises layer's
description, so a field added there appears on the page by itself."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.broker_form import control_for, form_groups
from geoplan.layers.spec import PREMISES, ColumnSpec
from maps.assets import STATIC_DIR

EXECUTABLE_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.fixture
def html(loaded_db) -> str:
    with TestClient(create_app(database_url=loaded_db)) as c:
        r = c.get("/megler")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert c.get("/static/megler.js").status_code == 200
        assert c.get("/static/megler.css").status_code == 200
        return r.text


def test_the_page_is_norwegian_and_csp_friendly(html):
    assert '<html lang="nb">' in html and "<title>Meglerside" in html
    assert "Lørenskog" in html  # the served municipality, in the heading
    assert not EXECUTABLE_INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert 'src="/static/megler.js"' in html and 'src="/static/leaflet.js"' in html
    # the key field: a password field, never autocompleted, in a form that is never submitted
    # to the server (no action, no method: the script sends the key in a header)
    assert re.search(r'<input id="gp-key" name="key" type="password" autocomplete="off"', html)
    form = re.search(r'<form id="gp-login-form"[^>]*>', html).group(0)
    assert "action" not in form and "method" not in form
    js = (STATIC_DIR / "megler.js").read_text()
    assert "sessionStorage" in js and "document.cookie" not in js and "localStorage" not in js
    assert "Oppføringen er endret av noen andre — last inn på nytt" in html


def test_every_writable_field_has_a_labelled_control(html):
    for col in PREMISES.writable:
        control = control_for(col)
        assert control is not None, col.name
        assert f'id="f-{col.name}"' in html, col.name
        assert f'data-field="{col.name}"' in html, col.name
        if control.control not in ("checkboxes",):
            assert f'<label for="f-{col.name}">' in html, col.name
        assert f'id="f-{col.name}-error"' in html, col.name  # where its error is shown
    assert 'for="f-uses-office">Kontor</label>' in html
    assert '<option value="withdrawn">Trukket tilbake</option>' in html
    assert 'min="0" max="1000000"' in html  # floor area's bounds, from the description


def test_a_field_added_to_the_layer_description_gets_its_control():
    energy = ColumnSpec(
        "energy_label", allowed=tuple("ABCDEFG"), label_nb="Energimerke", label_en="Energy label"
    )
    floor = ColumnSpec("floor", "int", min_value=-5, max_value=200, label_nb="Etasje")
    dock = ColumnSpec("loading_dock", "bool", label_nb="Lasterampe")
    assert control_for(energy).control == "select"
    assert [v for v, _ in control_for(energy).options] == list("ABCDEFG")
    got = control_for(floor)
    assert (got.control, got.step, got.min, got.max) == ("number", "1", "-5", "200")
    assert "minst -5 og høyst 200" in got.hint
    assert control_for(dock).control == "checkbox" and not control_for(dock).admin_only
    assert control_for(ColumnSpec("units", "jsonb")) is None  # unknown kinds are left out
    legends = [legend for legend, _ in form_groups()]
    assert legends == ["Om lokalet", "Kilde og nøyaktighet"]
