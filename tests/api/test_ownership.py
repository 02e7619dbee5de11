"""Ownership: a key changes and withdraws only the listings it created, unless it is an admin key
(issue 13, the broker page); ``/me`` and ``/me/premises``; ``geoplan keys create --admin``;
migration ``premises_owner`` finds the creators of listings written before it."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.auth import keys
from geoplan.cli import app as cli_app
from geoplan.store import db
from tests.api.test_api_premises import PROBLEM, auth, feature
from tests.conftest import table_counts


@pytest.fixture
def brokers(loaded_db) -> dict[str, str]:
    """Two brokers' write keys, the municipality's admin key."""
    with db.transaction(loaded_db) as conn:
        a, _ = keys.create_key(conn, "Megler A AS", "write")
        b, _ = keys.create_key(conn, "Megler B AS", "write")
        admin, _ = keys.create_key(conn, "Kommunen", "admin")
    return {"a": a, "b": b, "admin": admin}


def _create(client, key: str, **props) -> str:
    r = client.post("/premises", json=feature(**props), headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _not_yours(r, whose: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["title"] == "Not your listing" and whose in body["detail"]


def test_another_brokers_key_cannot_change_or_withdraw_a_listing(client, brokers, loaded_db):
    pid = _create(client, brokers["a"])
    before = table_counts(loaded_db)
    b = auth(brokers["b"])
    patch = {"properties": {"rent_nok_m2_year": 1}}
    for r in (
        client.patch(f"/premises/{pid}", json=patch, headers=b),
        client.put(f"/premises/{pid}", json=feature(), headers=b),
        client.delete(f"/premises/{pid}", headers=b),
        # ownership is checked before the version: a stranger learns nothing of it
        client.patch(f"/premises/{pid}", json=patch, headers={**b, "If-Match": 'W/"9"'}),
    ):
        _not_yours(r, "another API key")
    assert table_counts(loaded_db) == before
    got = client.get(f"/premises/{pid}").json()["properties"]
    assert got["version"] == 1 and got["rent_nok_m2_year"] == 2000 and got["status"] == "available"
    assert [e["action"] for e in client.get(f"/premises/{pid}/history").json()["history"]] == [
        "create"
    ]
    # the owner may, and an unknown id is still 404 for anyone
    r = client.patch(f"/premises/{pid}", json=patch, headers=auth(brokers["a"]))
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    assert client.patch("/premises/p-nope", json=patch, headers=b).status_code == 404


def test_an_admin_key_changes_and_withdraws_any_listing(client, brokers):
    pid = _create(client, brokers["a"])
    admin = auth(brokers["admin"])
    r = client.patch(
        f"/premises/{pid}",
        json={"properties": {"floor_area_m2": 300}},
        headers={**admin, "If-Match": 'W/"1"'},
    )
    assert r.status_code == 200 and r.headers["etag"] == 'W/"2"'
    r = client.delete(f"/premises/{pid}", headers={**admin, "If-Match": 'W/"2"'})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "withdrawn"
    history = client.get(f"/premises/{pid}/history").json()["history"]
    assert [(e["action"], e["actor"].split(" (")[0]) for e in history] == [
        ("create", "Megler A AS"),
        ("update", "Kommunen"),
        ("withdraw", "Kommunen"),
    ]
    # still the broker's: it can put the listing back on the market
    r = client.patch(
        f"/premises/{pid}", json={"properties": {"status": "available"}}, headers=auth(brokers["a"])
    )
    assert r.status_code == 200 and r.json()["properties"]["status"] == "available"


def test_listings_without_an_owner_are_for_admin_keys_only(client, brokers):
    """Shipped, imported and CLI listings have no known owner: the municipality's."""
    patch = {"properties": {"rent_nok_m2_year": 1234}}
    _not_yours(
        client.patch("/premises/sample-001", json=patch, headers=auth(brokers["a"])),
        "no known owner",
    )
    _not_yours(client.delete("/premises/sample-001", headers=auth(brokers["a"])), "no known owner")
    r = client.patch("/premises/sample-001", json=patch, headers=auth(brokers["admin"]))
    assert r.status_code == 200 and r.json()["properties"]["rent_nok_m2_year"] == 1234


def test_a_revoked_key_keeps_its_listings_owned(client, brokers, loaded_db):
    pid = _create(client, brokers["a"])
    with db.transaction(loaded_db) as conn:
        key_id = conn.execute("SELECT owner_key_id FROM premises WHERE id = %s", (pid,)).fetchone()
        keys.revoke_key(conn, key_id[0])
    patch = {"properties": {"rent_nok_m2_year": 1}}
    assert (
        client.patch(f"/premises/{pid}", json=patch, headers=auth(brokers["a"])).status_code == 401
    )
    _not_yours(client.patch(f"/premises/{pid}", json=patch, headers=auth(brokers["b"])), "another")


def test_me_names_the_key_and_needs_one(client, brokers):
    r = client.get("/me")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/me", headers=auth("gp_unknown")).status_code == 401
    me = client.get("/me", headers=auth(brokers["a"])).json()
    assert me["name"] == "Megler A AS" and me["scope"] == "write" and me["admin"] is False
    assert me["prefix"] == brokers["a"][: keys.PREFIX_LEN] and brokers["a"] not in r.text
    admin = client.get("/me", headers=auth(brokers["admin"])).json()
    assert admin["admin"] is True and admin["scope"] == "admin"


def test_me_premises_lists_own_listings_only_and_admin_all(client, brokers):
    a1 = _create(client, brokers["a"], address="Solheimveien 10, 1473 Lørenskog")
    a2 = _create(client, brokers["a"], address="Festplassen 1, 1473 Lørenskog")
    client.delete(f"/premises/{a1}", headers=auth(brokers["a"]))  # withdrawn ones are listed too
    b1 = _create(client, brokers["b"])

    r = client.get("/me/premises", headers=auth(brokers["a"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["numberMatched"] == 2
    assert [f["id"] for f in body["features"]] == [a1, a2]  # newest change first
    assert {f["properties"]["status"] for f in body["features"]} == {"available", "withdrawn"}
    assert all(f["mine"] and f["owner"]["name"] == "Megler A AS" for f in body["features"])
    assert [
        f["id"] for f in client.get("/me/premises", headers=auth(brokers["b"])).json()["features"]
    ] == [b1]
    got = client.get("/me/premises", params={"q": "solheim"}, headers=auth(brokers["a"])).json()
    assert [f["id"] for f in got["features"]] == [a1]
    got = client.get("/me/premises", params={"q": "50%_"}, headers=auth(brokers["a"])).json()
    assert got["numberMatched"] == 0  # LIKE wildcards are plain text
    # only admin keys may list everyone's
    r = client.get("/me/premises", params={"all": "true"}, headers=auth(brokers["b"]))
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    everything = client.get(
        "/me/premises", params={"all": "true", "limit": 200}, headers=auth(brokers["admin"])
    ).json()
    assert everything["numberMatched"] == 45 + 3
    owners = {f["id"]: f["owner"] for f in everything["features"]}
    assert owners[b1]["name"] == "Megler B AS" and owners["sample-001"] is None
    assert not any(f["mine"] for f in everything["features"])
    page = client.get(
        "/me/premises",
        params={"all": "true", "limit": 10, "offset": 40},
        headers=auth(brokers["admin"]),
    ).json()
    assert page["numberReturned"] == 8
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"q": "x" * 201}):
        r = client.get("/me/premises", params=params, headers=auth(brokers["a"]))
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), params


def test_cli_creates_an_admin_key_with_admin(loaded_db):
    r = CliRunner().invoke(cli_app, ["keys", "create", "--name", "Kommunen", "--admin"])
    assert r.exit_code == 0, r.output
    plaintext = r.stdout.strip().splitlines()[-1]
    with TestClient(create_app(database_url=loaded_db)) as client:
        assert client.get("/me", headers=auth(plaintext)).json()["admin"] is True


def test_migration_finds_the_creators_of_existing_listings(make_database):
    """Listings created through the API before ownership was recorded get their creating key;
    imported ones, and those whose history names no existing key, stay without an owner."""
    url = make_database()
    db.upgrade("0010", url=url)
    with psycopg.connect(db.conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, name, scope, prefix, key_hash) VALUES "
            "(7, 'Megler (A)', 'write', 'gp_a', 'h1')"
        )
        for pid in ("p-api", "p-import", "p-gone"):
            conn.execute(
                "INSERT INTO premises (id, address, uses, floor_area_m2, source, geom) VALUES "
                "(%s, 'Storgata 1', ARRAY['office'], 250, 'test', "
                "ST_SetSRID(ST_MakePoint(607000, 6645000), 25833))",
                (pid,),
            )
        for pid, actor in (
            ("p-api", "Megler (A) (API key #7)"),
            ("p-import", "geoplan import premises.geojson"),
            ("p-gone", "Old (API key #99)"),
        ):
            conn.execute(
                "INSERT INTO premises_history (premises_id, action, actor) "
                "VALUES (%s, 'create', %s)",
                (pid, actor),
            )
        conn.execute(  # a later edit by another key does not make it the owner
            "INSERT INTO premises_history (premises_id, action, actor) "
            "VALUES ('p-import', 'update', 'Megler (A) (API key #7)')"
        )
    db.upgrade(url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        owners = dict(conn.execute("SELECT id, owner_key_id FROM premises ORDER BY id"))
    assert owners == {"p-api": 7, "p-gone": None, "p-import": None}
    assert db.schema_drift(url) == []
    db.downgrade("0010", url=url)
    with psycopg.connect(db.conninfo(url)) as conn:
        assert conn.execute("SELECT count(*) FROM premises").fetchone()[0] == 3
