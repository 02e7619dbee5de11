"""Defect 6: an unauthenticated 200 MB JSON body was read and parsed before the key was checked
(the worker grew by 0.7 GB). Now the key is checked from the headers before a byte of the body
is read, and bodies are capped (``GEOPLAN_MAX_BODY_BYTES``, 413 problem+json).

Tested against a real uvicorn server with a real streamed body: the client sends up to 200 MB
and stops as soon as the server answers; the test measures how much it got to send and how
far the process's peak memory rose (the server runs in this process)."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from geoplan.auth import keys
from geoplan.config import Settings
from geoplan.ingest.shipped import load_layers
from geoplan.store import db
from tests.conftest import LAYERS_DIR, free_port, truncate_all
from tests.e2e.live_server import live_server
from tests.hostile.conftest import auth, listing, refused

BIG = 200 * 1024**2
CHUNK = 1024**2
MAX_BODY = 1024**2
STATUS = Path("/proc/self/status")


def rss_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.M).group(1))


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[tuple[str, str]]:
    truncate_all(db_url)
    with db.transaction(db_url) as conn:
        load_layers(conn, LAYERS_DIR)
        key, _ = keys.create_key(conn, "megler-as", "write")
    settings = Settings(max_body_bytes=MAX_BODY)
    with live_server(db_url, free_port(), settings) as base:
        yield base, key


def stream(base: str, path: str, headers: dict[str, str], *, chunked: bool) -> tuple[int, int]:
    """Send ``BIG`` bytes of a JSON body to ``path`` until the server answers; returns the
    status and how many body bytes the client got to send."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    body = b"[" + b"1," * (CHUNK // 2 - 1) + b"1,"  # JSON that never ends
    sent, answer = 0, b""
    deadline = time.monotonic() + 60
    try:
        while sent < BIG and time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            piece = body[: min(CHUNK, BIG - sent)]
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    match = re.match(rb"HTTP/1\.1 (\d{3})", answer)
    assert match, answer[:200]
    return int(match.group(1)), sent


def test_big_bodies_are_refused_without_being_read(server):
    base, key = server
    cases = [
        ({}, False, 401),  # no key: refused from the headers
        ({}, True, 401),
        ({"Authorization": "Bearer not-a-key"}, False, 401),
        ({"Authorization": "Bearer gp_unknown"}, False, 413),  # declared too long
        ({"Authorization": "Bearer gp_unknown"}, True, 413),  # counted as it streams
        ({"Authorization": f"Bearer {key}"}, True, 413),
    ]
    rss_before = rss_kib("VmRSS")
    reset_peak()
    started = time.monotonic()
    for headers, chunked, status in cases:
        got, sent = stream(base, "/premises", headers, chunked=chunked)
        assert got == status, (headers, chunked, got)
        # the socket buffers hold a few MB; the server never took the 200 MB
        assert sent < 32 * CHUNK, (headers, chunked, sent)
    elapsed = time.monotonic() - started
    grown_mib = (rss_kib("VmHWM") - rss_before) / 1024
    print(f"6 refused 200 MB uploads: {elapsed:.2f} s, peak memory +{grown_mib:.0f} MiB")
    assert grown_mib < 64, f"the server process grew by {grown_mib:.0f} MiB"
    assert elapsed < 30


def test_the_api_still_takes_ordinary_writes(server):
    import httpx

    base, key = server
    r = httpx.post(f"{base}/premises", json=listing(), headers=auth(key), timeout=30)
    assert r.status_code == 201, r.text


def test_limits_answer_problem_json(client, api_keys):
    big = json.dumps(listing(description="x" * (2 * 1024**2)))
    r = client.post(
        "/premises",
        content=big,
        headers={**auth(api_keys["write"]), "Content-Type": "application/json"},
    )
    body = refused(r, 413)
    assert "GEOPLAN_MAX_BODY_BYTES" in body["detail"]
    r = client.post("/premises", content=big, headers={"Content-Type": "application/json"})
    refused(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    # a chunked body (no Content-Length) is counted as it streams
    r = client.post(
        "/assessments",
        content=iter([b'{"site": "' + b"x" * MAX_BODY, b"x" * MAX_BODY + b'"}']),
        headers={**auth(api_keys["write"]), "Content-Type": "application/json"},
    )
    refused(r, 413)


def test_the_limit_is_a_setting():
    assert Settings().max_body_bytes == 1024**2
    assert Settings(max_body_bytes=5 * 1024**2).max_body_bytes == 5 * 1024**2
    with pytest.raises(ValueError):
        Settings(max_body_bytes=10)
