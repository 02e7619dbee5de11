"""API keys: created once in plaintext, stored only as a hash, listed by prefix, revocable."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from geoplan.auth import keys
from geoplan.cli import app
from geoplan.errors import NotFoundError, ValidationError
from geoplan.store import db

runner = CliRunner()


def test_create_stores_only_a_hash_and_verify_finds_the_key(empty_db, conn):
    plaintext, key = keys.create_key(conn, "broker-as", "write")
    assert plaintext.startswith("gp_") and len(plaintext) > 40
    assert key.prefix == plaintext[: keys.PREFIX_LEN] and key.scope == "write"
    row = conn.execute("SELECT api_keys::text, key_hash FROM api_keys").fetchone()
    assert plaintext not in row[0]
    assert row[1] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert keys.verify_key(conn, plaintext).id == key.id
    assert keys.verify_key(conn, plaintext + "x") is None
    assert keys.verify_key(conn, "") is None
    assert keys.verify_key(conn, "gp_" + "\x00" * 10) is None


def test_two_keys_differ_and_revoked_keys_do_not_verify(empty_db, conn):
    a, ka = keys.create_key(conn, "a")
    b, kb = keys.create_key(conn, "b", "admin")
    assert a != b
    revoked = keys.revoke_key(conn, ka.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert keys.verify_key(conn, a) is None and keys.verify_key(conn, b).id == kb.id
    assert keys.revoke_key(conn, ka.id).revoked_at == revoked.revoked_at  # idempotent
    assert [k.id for k in keys.list_keys(conn, include_revoked=False)] == [kb.id]
    assert kb.allows("write") and kb.allows("admin") and not revoked.allows("write")
    assert ka.allows("write") and not ka.allows("admin")
    with pytest.raises(NotFoundError):
        keys.revoke_key(conn, 999)
    with pytest.raises(NotFoundError):
        keys.revoke_key(conn, 2**40)


@pytest.mark.parametrize(
    ("name", "scope", "field"), [("", "write", "name"), ("x", "root", "scope")]
)
def test_bad_key_requests_are_named(empty_db, conn, name, scope, field):
    with pytest.raises(ValidationError) as err:
        keys.create_key(conn, name, scope)
    assert err.value.field == field


def test_cli_create_list_revoke_and_the_api_honours_revocation(loaded_db):
    created = runner.invoke(app, ["keys", "create", "--name", "Megler AS"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("gp_")
    listed = runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "Megler AS" in listed.stdout
    assert plaintext[: keys.PREFIX_LEN] in listed.stdout and plaintext not in listed.stdout
    with db.connect(loaded_db) as conn:
        key_id = conn.execute("SELECT id FROM api_keys WHERE name = 'Megler AS'").fetchone()[0]
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [10.9548, 59.9267]},
        "properties": {"address": "Festplassen 1", "uses": ["office"], "floor_area_m2": 90},
    }
    with TestClient(create_app(database_url=loaded_db)) as client:
        h = {"Authorization": f"Bearer {plaintext}"}
        assert client.post("/premises", json=body, headers=h).status_code == 201
        revoked = runner.invoke(app, ["keys", "revoke", str(key_id)])
        assert revoked.exit_code == 0, revoked.output
        r = client.post("/premises", json=body, headers=h)
        assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    assert "revoked" in runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"}).stdout


def test_cli_key_errors_are_one_line(loaded_db):
    r = runner.invoke(app, ["keys", "revoke", "4242"])
    assert r.exit_code == 1 and "no API key with id 4242" in r.output
    r = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "root"])
    assert r.exit_code != 0
