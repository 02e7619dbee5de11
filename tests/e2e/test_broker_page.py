"""The broker page (``/megler``) end to end in headless Chromium against a live server: sign in
with an API key, add a listing (server validation shown at the fields), see it, change it, lose
a race to a concurrent API edit (412 → the reload message), withdraw it; a second broker's key
neither sees nor changes it; an admin key does both. Keyboard only, axe-core at both sizes."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
import pytest
from pyproj import Transformer

from geoplan.auth import keys
from geoplan.store import db
from tests.conftest import free_port
from tests.e2e.browser import (
    BLOCKING,
    CHROMIUM,
    DESKTOP,
    PHONE,
    SIZES,
    browser_page,
    describe,
    run_axe,
    wait_for,
)
from tests.e2e.live_server import live_server
from tests.real_data import ELVERUM_ADDRESSES

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():  # pragma: no cover - the Makefile installs chromium
    pytest.fail(f"{CHROMIUM} is missing: run `make test` (installs Debian's chromium)")

LORENSKOG_HUS = (59.9267, 10.9548)  # lat, lon
CONFLICT = "Oppføringen er endret av noen andre — last inn på nytt"


@pytest.fixture
def site(loaded_db, tmp_path):
    """A live server on the shipped layers, two brokers' keys and the municipality's admin key,
    and one official address (Matrikkelen's CSV form) for the address lookup."""
    with db.transaction(loaded_db) as conn:
        a, _ = keys.create_key(conn, "Megler A AS", "write")
        b, _ = keys.create_key(conn, "Megler B AS", "write")
        admin, _ = keys.create_key(conn, "Lørenskog kommune", "admin")
        _one_address(conn, tmp_path)
    with live_server(loaded_db, free_port()) as url:
        yield url, {"a": a, "b": b, "admin": admin}


def _one_address(conn, tmp_path: Path) -> None:
    """Festplassen 1 in Lørenskog, written as Kartverket's address CSV is (a test fixture)."""
    from geoplan.addresses import import_addresses

    with open(ELVERUM_ADDRESSES, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        row = next(reader)
        header = reader.fieldnames
    x, y = Transformer.from_crs(4326, 25833, always_xy=True).transform(
        LORENSKOG_HUS[1], LORENSKOG_HUS[0]
    )
    row.update(
        {
            "kommunenummer": "3222",
            "kommunenavn": "LØRENSKOG",
            "adressenavn": "Festplassen",
            "nummer": "1",
            "bokstav": "",
            "adresseTekst": "Festplassen 1",
            "adresseTekstUtenAdressetilleggsnavn": "Festplassen 1",
            "Nord": f"{y:.2f}",
            "Øst": f"{x:.2f}",
            "postnummer": "1473",
            "poststed": "LØRENSKOG",
            "lokalid": "900000001",
            "adresseId": "900000001",
            "adressekode": "9001",
        }
    )
    path = tmp_path / "Basisdata_3222_Lorenskog_25833_MatrikkelenAdresse.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, delimiter=";")
        writer.writeheader()
        writer.writerow(row)
    import_addresses(conn, path)


def api(base: str, key: str, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(
        method, base + path, headers={"Authorization": f"Bearer {key}", **kw.pop("headers", {})},
        timeout=30, **kw,
    )  # fmt: skip


def sign_in(page, base: str, key: str) -> None:
    page.goto(base + "/megler", wait_until="load")
    page.wait_for_selector("#gp-login:not([hidden])")
    page.fill("#gp-key", key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#gp-list:not([hidden])")
    wait_for(page, "document.querySelector('#gp-count').textContent !== ''")


def status(page, text: str) -> None:
    wait_for(page, "t => document.querySelector('#gp-status').textContent.includes(t)", text)


def active_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def axe_clean(page, where: str) -> None:
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"{where}:\n{describe(blocking)}"


def test_a_broker_adds_sees_edits_loses_a_race_and_withdraws(site, tmp_path):
    base, k = site
    with browser_page(tmp_path, DESKTOP) as page:
        sign_in(page, base, k["a"])
        assert active_id(page) == "gp-list-title"
        assert page.inner_text("#gp-who") == "Megler A AS"
        assert page.inner_text("#gp-count") == "Du har ingen oppføringer ennå."
        # the key is in this tab's sessionStorage only: no cookie, no URL
        assert page.evaluate("sessionStorage.getItem('geoplan.megler.key')") == k["a"]
        assert k["a"] not in page.evaluate("document.cookie") and k["a"] not in page.url
        assert page.is_hidden("#gp-all")  # not an admin

        page.click("#gp-new")
        assert active_id(page) == "gp-editor-title"
        page.fill("#f-address", "Festplassen 1, 1473 Lørenskog")
        page.fill("#f-floor_area_m2", "-5")
        page.fill("#f-rent_nok_m2_year", "1900")
        # the address lookup places it (one exact candidate)
        page.click("#gp-geocode")
        status(page, "Posisjonen er satt til Festplassen 1")
        lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
        assert (lat, lon) == pytest.approx(LORENSKOG_HUS, abs=1e-5)
        page.click("#gp-save")
        # the server's verdict, at the fields and in a summary that has the focus
        page.wait_for_selector("#gp-summary:not([hidden])")
        assert active_id(page) == "gp-summary"
        summary = page.inner_text("#gp-summary")
        assert "Areal: Må være" in summary and "Formål" in summary, summary
        assert page.get_attribute("#f-floor_area_m2", "aria-invalid") == "true"
        assert "Må være" in page.inner_text("#f-floor_area_m2-error")
        assert page.is_visible("#f-uses-error")
        page.click("#gp-summary a[href='#f-floor_area_m2']")
        assert active_id(page) == "f-floor_area_m2"
        axe_clean(page, "errors shown")
        assert api(base, k["a"], "GET", "/me/premises").json()["numberMatched"] == 0  # nothing

        page.fill("#f-floor_area_m2", "250")
        page.check("#f-uses-office")
        page.click("#gp-save")
        status(page, "Oppføringen er lagt inn.")
        assert page.is_hidden("#gp-summary")
        assert (
            page.inner_text("#gp-editor-title") == "Endre oppføring: Festplassen 1, 1473 Lørenskog"
        )
        mine = api(base, k["a"], "GET", "/me/premises").json()["features"]
        assert len(mine) == 1
        pid = mine[0]["id"]
        assert mine[0]["properties"]["floor_area_m2"] == 250
        assert mine[0]["properties"]["uses"] == ["office"]

        page.click("#gp-cancel")
        assert active_id(page) == "gp-list-title"
        wait_for(page, "document.querySelectorAll('#gp-table tbody tr').length === 1")
        row = page.inner_text("#gp-table tbody tr")
        assert "Festplassen 1" in row and "Ledig" in row and "250 m²" in row

        # change it
        page.click("#gp-table button[data-edit]")
        page.wait_for_selector("#gp-editor:not([hidden])")
        assert page.input_value("#f-rent_nok_m2_year") == "1900"
        page.fill("#f-rent_nok_m2_year", "2100")
        page.fill("#f-description", "Lyse kontorer ved Lørenskog hus.")
        page.click("#gp-save")
        status(page, "Endringene er lagret.")
        got = api(base, k["a"], "GET", f"/premises/{pid}").json()["properties"]
        assert (got["rent_nok_m2_year"], got["version"]) == (2100, 2)
        assert got["description"] == "Lyse kontorer ved Lørenskog hus."

        # someone else changes it meanwhile (the same broker's system, through the API)
        r = api(base, k["a"], "PATCH", f"/premises/{pid}",
                json={"properties": {"floor_area_m2": 260}})  # fmt: skip
        assert r.status_code == 200
        page.fill("#f-rent_nok_m2_year", "2200")
        page.click("#gp-save")
        page.wait_for_selector("#gp-conflict:not([hidden])")
        assert CONFLICT in page.inner_text("#gp-conflict")
        assert active_id(page) == "gp-conflict"
        axe_clean(page, "conflict shown")
        got = api(base, k["a"], "GET", f"/premises/{pid}").json()["properties"]
        assert (got["rent_nok_m2_year"], got["floor_area_m2"], got["version"]) == (2100, 260, 3)
        page.click("#gp-reload")
        status(page, "Den nyeste versjonen er lastet inn")
        assert page.is_hidden("#gp-conflict")
        assert page.input_value("#f-floor_area_m2") == "260"
        assert page.input_value("#f-rent_nok_m2_year") == "2100"
        page.fill("#f-rent_nok_m2_year", "2200")
        page.click("#gp-save")
        status(page, "Endringene er lagret.")
        got = api(base, k["a"], "GET", f"/premises/{pid}").json()["properties"]
        assert (got["rent_nok_m2_year"], got["floor_area_m2"], got["version"]) == (2200, 260, 4)

        # withdraw it
        page.click("#gp-withdraw")
        assert active_id(page) == "gp-confirm-yes"
        page.click("#gp-confirm-yes")
        status(page, "er trukket tilbake")
        assert active_id(page) == "gp-list-title"
        assert "Trukket tilbake" in page.inner_text("#gp-table tbody tr")
        got = api(base, k["a"], "GET", f"/premises/{pid}").json()["properties"]
        assert (got["status"], got["version"]) == ("withdrawn", 5)
        history = api(base, k["a"], "GET", f"/premises/{pid}/history").json()["history"]
        assert [e["action"] for e in history] == ["create", *["update"] * 3, "withdraw"]
        assert all(e["actor"].startswith("Megler A AS (API key #") for e in history)

        page.click("#gp-logout")
        assert page.evaluate("sessionStorage.getItem('geoplan.megler.key')") is None
        assert page.is_visible("#gp-login") and active_id(page) == "gp-login-title"
        assert page.errors == []


def test_a_map_click_places_the_listing(site, tmp_path):
    base, k = site
    with browser_page(tmp_path, DESKTOP) as page:
        sign_in(page, base, k["a"])
        page.click("#gp-new")
        assert page.input_value("#f-lat") == ""
        page.locator("#gp-map").scroll_into_view_if_needed()
        page.wait_for_selector("#gp-map.leaflet-container")
        box = page.locator("#gp-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        status(page, "Posisjonen er satt")
        lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
        assert 59.85 < lat < 60.0 and 10.85 < lon < 11.05  # inside Lørenskog's extent
        assert page.evaluate("document.querySelectorAll('#gp-map path.leaflet-interactive, "
                             "#gp-map path').length") >= 1  # fmt: skip
        assert page.errors == []


def test_another_broker_neither_sees_nor_changes_it_and_the_admin_does(site, tmp_path):
    base, k = site
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LORENSKOG_HUS[1], LORENSKOG_HUS[0]]},
        "properties": {"address": "Solheimveien 10", "uses": ["office"], "floor_area_m2": 400},
    }
    r = api(base, k["a"], "POST", "/premises", json=feature)
    assert r.status_code == 201
    pid = r.json()["id"]
    with browser_page(tmp_path, DESKTOP) as page:
        sign_in(page, base, k["b"])
        assert page.inner_text("#gp-count") == "Du har ingen oppføringer ennå."
        page.fill("#gp-q", pid)
        page.press("#gp-q", "Enter")
        status(page, "Ingen oppføringer passer søket.")
        assert page.is_hidden("#gp-all")
        # ... and the API the page uses refuses B's change
        r = api(base, k["b"], "PATCH", f"/premises/{pid}",
                json={"properties": {"floor_area_m2": 1}})  # fmt: skip
        assert r.status_code == 403
        page.click("#gp-logout")

        sign_in(page, base, k["admin"])
        assert "administrator" in page.inner_text("#gp-role")
        page.check("#gp-all")
        page.fill("#gp-q", pid)
        page.click("#gp-filter button[type=submit]")
        wait_for(page, "document.querySelectorAll('#gp-table tbody tr').length === 1")
        assert page.inner_text("#gp-list-title") == "Alle oppføringer"
        assert "Lagt inn av Megler A AS" in page.inner_text("#gp-table tbody tr")
        page.click("#gp-table button[data-edit]")
        page.wait_for_selector("#gp-editor:not([hidden])")
        assert page.is_visible("#f-verified")  # only the municipality verifies
        page.fill("#f-floor_area_m2", "420")
        page.check("#f-verified")
        page.click("#gp-save")
        status(page, "Endringene er lagret.")
        got = api(base, k["a"], "GET", f"/premises/{pid}").json()["properties"]
        assert (got["floor_area_m2"], got["verified"]) == (420, True)
        assert page.errors == []


def test_keyboard_only_and_axe_on_every_state_at_both_sizes(site, tmp_path):
    base, k = site
    for size, viewport in SIZES.items():
        with browser_page(tmp_path, viewport, phone=size == "phone") as page:
            page.goto(base + "/megler", wait_until="load")
            page.wait_for_selector("#gp-login:not([hidden])")
            axe_clean(page, f"{size} signed out")
            # keyboard only: skip link, then the key field, Enter signs in
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.getAttribute('href')") == "#innhold"
            for _ in range(10):
                page.keyboard.press("Tab")
                if active_id(page) == "gp-key":
                    break
            assert active_id(page) == "gp-key"
            page.keyboard.press("Enter")  # empty: the field says so, the focus stays
            assert page.inner_text("#gp-key-error") == "Skriv inn API-nøkkelen."
            page.keyboard.type("gp_wrong")
            page.keyboard.press("Enter")
            wait_for(page, "document.querySelector('#gp-key-error').textContent"
                                   ".includes('ukjent')")  # fmt: skip
            page.fill("#gp-key", "")
            page.keyboard.type(k["a"])
            page.keyboard.press("Enter")
            page.wait_for_selector("#gp-list:not([hidden])")
            wait_for(page, "document.activeElement.id === 'gp-list-title'")
            axe_clean(page, f"{size} signed in")
            for _ in range(10):
                page.keyboard.press("Tab")
                if active_id(page) == "gp-new":
                    break
            page.keyboard.press("Enter")
            assert active_id(page) == "gp-editor-title"
            page.keyboard.press("Tab")
            assert active_id(page) == "f-address"
            page.keyboard.type("Festplassen 1, 1473 Lørenskog")
            page.keyboard.press("Tab")
            page.keyboard.press("Space")  # the first use: office
            assert page.is_checked("#f-uses-office")
            page.focus("#f-floor_area_m2")
            page.keyboard.type("180")
            page.focus("#f-lat")
            page.keyboard.type(str(LORENSKOG_HUS[0]))
            page.keyboard.press("Tab")
            page.keyboard.type(str(LORENSKOG_HUS[1]))
            page.focus("#gp-save")
            page.keyboard.press("Enter")
            status(page, "Oppføringen er lagt inn.")
            axe_clean(page, f"{size} editor after saving")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            page.focus("#gp-cancel")
            page.keyboard.press("Enter")
            wait_for(page, "document.querySelectorAll('#gp-table tbody tr').length >= 1")
            axe_clean(page, f"{size} list")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            if size == "phone":  # touch targets
                b = page.locator("#gp-table button[data-edit]").first.bounding_box()
                assert b and b["height"] >= 44
            assert page.errors == []
    assert PHONE["width"] < DESKTOP["width"]
