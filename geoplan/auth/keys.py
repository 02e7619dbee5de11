"""API keys for writes: created, listed and revoked by an operator; only a hash is stored.

A key is ``gp_`` + 32 random bytes (``secrets.token_urlsafe``), shown once at creation. The
store keeps its SHA-256 hex digest and a short prefix (so a list can show which key is which).

Why a fast hash and not bcrypt/argon2: slow password hashes exist to make guessing *low-entropy*
secrets expensive. A key with 256 random bits cannot be guessed whatever the hash speed, and a
plain digest lets every request find its key by an indexed equality lookup instead of running a
deliberately slow function per request (and per stored key). This is what GitHub, Stripe and
others do for tokens. Keys are never logged: only ids, names and prefixes are.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from geoplan.errors import NotFoundError, ValidationError

KEY_PREFIX = "gp_"
SCOPES: tuple[str, ...] = ("write", "admin")
"""``write``: create premises, and change and withdraw the ones the key created; ``admin``: change
and withdraw every listing (also those without a known owner: imported, sample data) and mark
them ``verified``."""
PREFIX_LEN = 10  # "gp_" + 7 characters: enough to recognise a key in a list


@dataclass
class ApiKey:
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Whether this key may act with ``scope`` (``admin`` includes ``write``)."""
        return self.active and (self.scope == scope or self.scope == "admin")


_COLUMNS = "id, name, scope, prefix, created_at, revoked_at"


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(conn: psycopg.Connection, name: str, scope: str = "write") -> tuple[str, ApiKey]:
    """A new key for ``name``: returns the plaintext (show it once, it is not stored) and row."""
    name = (name or "").strip()
    if not name or len(name) > 200 or "\x00" in name:
        raise ValidationError("name must be 1–200 characters (who holds the key)", "name")
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}", "scope")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(
        f"""INSERT INTO api_keys (name, scope, prefix, key_hash) VALUES (%s, %s, %s, %s)
            RETURNING {_COLUMNS}""",
        (name, scope, plaintext[:PREFIX_LEN], hash_key(plaintext)),
    ).fetchone()
    return plaintext, ApiKey(*row)


def list_keys(conn: psycopg.Connection, *, include_revoked: bool = True) -> list[ApiKey]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys WHERE %s OR revoked_at IS NULL ORDER BY id",
        (include_revoked,),
    ).fetchall()
    return [ApiKey(*r) for r in rows]


def key_names(conn: psycopg.Connection, ids: Iterable[int]) -> dict[int, str]:
    """Id → holder's name of the keys ``ids`` (revoked ones too): who owns which listing."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute("SELECT id, name FROM api_keys WHERE id = ANY(%s)", (wanted,))
    return dict(rows.fetchall())


def revoke_key(conn: psycopg.Connection, key_id: int) -> ApiKey:
    """Revoke a key at once (idempotent: revoking twice keeps the first time)."""
    if not 0 < key_id < 2**31:
        raise NotFoundError(f"no API key with id {key_id}")
    row = conn.execute(
        f"""UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s
            RETURNING {_COLUMNS}""",
        (key_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no API key with id {key_id}")
    return ApiKey(*row)


MAX_KEY_LENGTH = 200
"""Longer text is no key of ours (a key is 46 characters)."""


def well_formed(plaintext: str | None) -> bool:
    """Whether ``plaintext`` could be a key at all (``gp_…``, not too long): what can be told
    without the store, before a request's body is read."""
    return bool(plaintext) and plaintext.startswith(KEY_PREFIX) and len(plaintext) <= MAX_KEY_LENGTH


def verify_key(conn: psycopg.Connection, plaintext: str) -> ApiKey | None:
    """The active key matching ``plaintext``, or None (unknown, malformed or revoked)."""
    if not well_formed(plaintext):
        return None
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL",
        (hash_key(plaintext),),
    ).fetchone()
    return ApiKey(*row) if row else None
