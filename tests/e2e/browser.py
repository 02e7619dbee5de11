"""Headless Chromium for the browser tests: Debian's ``/usr/bin/chromium`` through Playwright
(no browser download), every request that leaves 127.0.0.1 aborted (base-map tiles), and
axe-core (vendored in ``tests/e2e/vendor``) injected into every page and frame."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright import sync_api as playwright_api

CHROMIUM = os.environ.get("GEOPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VENDOR = Path(__file__).resolve().parent / "vendor"
AXE_JS = VENDOR / "axe.min.js"
AXE_VERSION = "4.14.1"
"""The vendored axe-core (``npm pack axe-core@4.14.1``; MPL-2.0, licence beside it)."""
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""The rules run: WCAG 2.0 and 2.1, levels A and AA (what Norway's regulation refers to)."""
BLOCKING = {"serious", "critical"}

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@contextmanager
def browser_page(
    tmp_path: Path, viewport: dict[str, int], *, phone: bool = False
) -> Iterator[playwright_api.Page]:
    """A fresh Chromium profile and one page. ``phone`` emulates a touch phone (mobile viewport,
    touch events) as well as its size. ``page.errors`` collects JavaScript errors."""
    with playwright_api.sync_playwright() as p:
        extra: dict[str, Any] = {"is_mobile": True, "has_touch": True} if phone else {}
        context = p.chromium.launch_persistent_context(
            str(tmp_path / f"chromium-{viewport['width']}"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            viewport=viewport,
            **extra,
        )
        context.add_init_script(path=str(AXE_JS))

        def route(r):
            if urlsplit(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                r.abort("internetdisconnected")

        context.route("**/*", route)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and "Failed to load resource" not in m.text
                and page.errors.append(f"console: {m.text}")
            ),
        )
        try:
            yield page
        finally:
            context.close()


RUN_AXE = """(tags) => axe.run(document, {
  runOnly: {type: 'tag', values: tags},
  resultTypes: ['violations'],
}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
})))"""


def run_axe(page: playwright_api.Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page, iframes included."""
    return page.evaluate(RUN_AXE, WCAG_TAGS)


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and node, for assertion messages."""
    lines = []
    for v in violations:
        for n in v["nodes"][:5]:
            lines.append(f"[{v['impact']}] {v['id']}: {v['help']} at {n['target']}: {n['summary']}")
    return "\n".join(lines)


def wait_for(page: playwright_api.Page, predicate: str, arg: Any = None, timeout_s: float = 30):
    """Poll a JavaScript predicate (an expression, or a function of ``arg``) until it is true.

    Instead of ``page.wait_for_function``: Playwright compiles that one's predicate with
    ``eval`` inside the page, which a page whose Content-Security-Policy has no
    ``'unsafe-eval'`` (every geoplan page but the maps with the measure tool) refuses.
    """
    import time

    function = predicate if "=>" in predicate else f"() => ({predicate})"
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {predicate}")
        time.sleep(0.1)
