"""Webhooks of saved searches: where they may point, and delivering new and changed matches.

**Where.** A webhook makes geoplan send a request wherever its owner says, so a URL must not
reach the server's own network (SSRF): :func:`check_webhook_url` accepts only ``http``/``https``
URLs whose host resolves to public (global) addresses only, unless the administrator allows
private ones (``GEOPLAN_WEBHOOK_ALLOW_PRIVATE``, an intranet receiver). The check is made when
the search is saved and again at every delivery, and the request goes to the address that was
checked (the connection is pinned to it, so DNS cannot answer differently a second later), and
redirects are not followed.

**Delivering.** :func:`run_once` is one pass over the saved searches with a webhook that are
due: the matches whose listing changed since the last delivery (``notified_until``) are POSTed
as one JSON document (:func:`payload`), signed with the search's secret (``X-Geoplan-Signature:
sha256=<HMAC of the body>``). A failed request (no connection, a timeout, 5xx, 429) is retried
at once with exponential backoff (``attempts``, ``backoff_s``); when all attempts fail, the
search is due again after ``60 s × 2^failures`` (at most an hour) and nothing is lost:
``notified_until`` moves only when a delivery succeeds. Passes run from ``geoplan alerts run``
(once, or every ``--interval`` seconds); rows are locked ``FOR UPDATE SKIP LOCKED``, so several
runners never send one change twice.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg

from geoplan.errors import ValidationError
from geoplan.premises.saved import Match, changed_since

MAX_URL = 2000
RESOLVE_TIMEOUT_S = 5.0
MAX_BACKOFF = timedelta(hours=1)
USER_AGENT = "geoplan-webhook/1"


@dataclass(frozen=True)
class Target:
    """A checked webhook URL and the address its request goes to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _bad(message: str) -> ValidationError:
    return ValidationError(f"webhook_url: {message}", field="webhook_url")


def _resolve(host: str, port: int) -> list[str]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=RESOLVE_TIMEOUT_S)
        except FutureTimeout:
            raise _bad(
                f"the host {host!r} did not resolve within {RESOLVE_TIMEOUT_S:g} s"
            ) from None
        except (OSError, UnicodeError):
            raise _bad(f"the host {host!r} does not resolve") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_webhook_url(url: Any, *, allow_private: bool = False) -> Target:
    """The :class:`Target` of ``url``; :class:`ValidationError` naming ``webhook_url`` for
    anything but an http(s) URL whose host resolves to public addresses only (any address but
    multicast and unspecified ones with ``allow_private``)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or "\x00" in url:
        raise _bad(f"must be an http or https URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _bad("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("must be an http or https URL with a host")
    if parts.username or parts.password:
        raise _bad("must not carry a user name or password; sign with the webhook secret")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise _bad(f"the host {parts.hostname!r} does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address.is_multicast or address.is_unspecified:
            raise _bad(f"{parts.hostname} resolves to {address}, which cannot receive a webhook")
        if not allow_private and not address.is_global:
            raise _bad(
                f"{parts.hostname} resolves to the non-public address {address}; webhooks go "
                "to public addresses only (an administrator may allow private ones: "
                "GEOPLAN_WEBHOOK_ALLOW_PRIVATE)"
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate checked for the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to the checked address of ``target``; the response status (no redirect
    is followed: a 3xx is a failure like any other non-2xx)."""
    if target.scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPS(target, timeout)
    else:
        conn = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    try:
        host = target.host if ":" not in target.host else f"[{target.host}]"
        default_port = 443 if target.scheme == "https" else 80
        host_header = host if target.port == default_port else f"{host}:{target.port}"
        conn.request("POST", target.path, body=body, headers={"Host": host_header, **headers})
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def payload(record: dict[str, Any], matches: list[Match], base_url: str) -> dict[str, Any]:
    """The JSON a webhook receives: the saved search and each new or changed match."""
    base = base_url.rstrip("/")
    return {
        "type": "geoplan.saved_search.matches",
        "saved_search": {
            "id": record["id"],
            "title": record.get("title"),
            "url": f"{base}/premises/searches/{record['id']}",
            "feed": f"{base}/premises/searches/{record['id']}/feed.atom",
        },
        "matches": [
            {
                "id": m.id,
                "change": "new" if m.new else "changed",
                "updated": m.updated.isoformat(),
                "address": m.row.get("address"),
                "uses": list(m.row.get("uses") or []),
                "floor_area_m2": m.row.get("floor_area_m2"),
                "rent_nok_m2_year": _number(m.row.get("rent_nok_m2_year")),
                "url": f"{base}/maps/premises/{m.id}",
                "api": f"{base}/premises/{m.id}",
            }
            for m in matches
        ],
    }


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """What became of one saved search's webhook in a pass."""

    search_id: str
    matches: int
    delivered: bool
    attempts: int
    error: str | None = None


@dataclass
class PassReport:
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def summary(self) -> str:
        sent = sum(1 for d in self.deliveries if d.delivered and d.matches)
        failed = sum(1 for d in self.deliveries if not d.delivered)
        quiet = sum(1 for d in self.deliveries if d.delivered and not d.matches)
        return f"{sent} webhook(s) delivered, {failed} failed, {quiet} without news"


def deliver(
    record: dict[str, Any],
    secret: str,
    matches: list[Match],
    *,
    base_url: str,
    allow_private: bool,
    attempts: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``matches`` to the search's webhook, retrying failures ``attempts`` times in all,
    ``backoff_s × 2^n`` apart. A 4xx other than 408/429 is not retried: the receiver refuses."""
    body = json.dumps(payload(record, matches, base_url), ensure_ascii=False, default=str)
    data = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Geoplan-Signature": signature(secret, data),
    }
    error = None
    for attempt in range(1, attempts + 1):
        try:
            target = check_webhook_url(record["webhook_url"], allow_private=allow_private)
        except ValidationError as exc:
            return Delivery(record["id"], len(matches), False, attempt - 1, str(exc))
        try:
            status = post_json(target, data, headers, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            if 200 <= status < 300:
                return Delivery(record["id"], len(matches), True, attempt)
            error = f"HTTP {status}"
            if 300 <= status < 500 and status not in (408, 429):
                return Delivery(record["id"], len(matches), False, attempt, error)
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(record["id"], len(matches), False, attempts, error)


def run_once(
    conn: psycopg.Connection,
    *,
    base_url: str,
    allow_private: bool = False,
    now: datetime | None = None,
    **delivery: Any,
) -> PassReport:
    """One pass: every saved search with a webhook that is due gets its news delivered (one
    transaction per search, committed as it goes). ``delivery``: :func:`deliver`'s knobs."""
    report = PassReport()
    while True:
        moment = now or datetime.now(UTC)
        with conn.transaction():
            row = conn.execute(
                """SELECT id, title, filters, webhook_url, webhook_secret, notified_until,
                          webhook_failures
                   FROM saved_searches
                   WHERE webhook_url IS NOT NULL
                     AND (webhook_next_attempt IS NULL OR webhook_next_attempt <= %s)
                     AND NOT id = ANY(%s)
                   ORDER BY webhook_next_attempt NULLS FIRST, id
                   LIMIT 1 FOR UPDATE SKIP LOCKED""",
                (moment, [d.search_id for d in report.deliveries]),
            ).fetchone()
            if row is None:
                return report
            keys = ("id", "title", "filters", "webhook_url", "secret", "since", "failures")
            record = dict(zip(keys, row, strict=True))
            since = record["since"] or datetime.fromtimestamp(0, UTC)
            matches = changed_since(conn, record, since)
            if not matches:
                report.deliveries.append(Delivery(record["id"], 0, True, 0))
                continue
            result = deliver(
                record,
                record["secret"],
                matches,
                base_url=base_url,
                allow_private=allow_private,
                **delivery,
            )
            report.deliveries.append(result)
            if result.delivered:
                conn.execute(
                    """UPDATE saved_searches SET notified_until = %s, webhook_failures = 0,
                              webhook_last_error = NULL, webhook_next_attempt = NULL
                       WHERE id = %s""",
                    (max(m.row["updated_at"] for m in matches), record["id"]),
                )
            else:
                failures = record["failures"] + 1
                wait = min(MAX_BACKOFF, timedelta(seconds=60 * 2 ** min(failures, 20)))
                conn.execute(
                    """UPDATE saved_searches SET webhook_failures = %s, webhook_last_error = %s,
                              webhook_next_attempt = %s WHERE id = %s""",
                    (failures, result.error, moment + wait, record["id"]),
                )
