"""Rendered text that branca would compile as a template again, taken as the text it is.

branca (under folium) renders each element's macros and wraps the output — already the page's
HTML and script, with its data — in a new ``Element``, whose ``__init__`` compiles it as a Jinja
template (``jinja2.Template(source)``) only to render it once more. With 10⁶ premises the
overview's render took ≈ 0.3 s under load, two thirds of it compiling 205 such texts, the
largest the areas' and catchments' GeoJSON (cProfile, issue 13); the first overview after every
commit paid it. Text without any Jinja delimiter renders to itself (less one trailing newline,
which Jinja drops by default), so :func:`keep_rendered_text` makes branca wrap such text in a
:class:`RenderedText` that returns exactly that, and compile the rest as before: no byte of a
page changes (``tests/db/test_rendered_text.py`` renders pages both ways).
"""

from __future__ import annotations

from typing import Any

import branca.element
import jinja2

_DELIMITERS = ("{{", "{%", "{#", "\r")
"""What makes Jinja's output differ from its source (``\\r``: newlines are normalised)."""


class RenderedText:
    """A template without Jinja syntax: renders to its source, as ``jinja2.Template`` would."""

    def __init__(self, source: str) -> None:
        self.text = source[:-1] if source.endswith("\n") else source

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.text


def template(source: Any, *args: Any, **kwargs: Any) -> jinja2.Template | RenderedText:
    """``jinja2.Template(source)`` as branca calls it, without compiling text that has no
    Jinja syntax."""
    if args or kwargs or not isinstance(source, str) or any(d in source for d in _DELIMITERS):
        return jinja2.Template(source, *args, **kwargs)
    return RenderedText(source)


def keep_rendered_text() -> None:
    """Make branca's elements take rendered text as it is (idempotent; see the module)."""
    branca.element.Template = template  # the name branca.element.Element.__init__ calls
