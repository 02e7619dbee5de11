"""How address text is normalised, and how a free-text query is split into its parts.

One function turns a street name into the keys the geocoder compares, and it is applied to both
sides — the register's ``adressenavn`` when a file is imported and the street a user typed — so
"consistent" matters more than "linguistically right": a rule that mangles a word mangles it the
same way in the register and in the query.

The steps (documented with examples in ``docs/geocoding.md``):

1. **fold**: case-folded; ``æ ø å`` become ``ae oe aa`` (and ``ä ö ü`` ``ae oe ue``); other
   accents are dropped (``é`` → ``e``); anything that is not a letter or digit separates words
   (``St. Olavs gate`` → ``st olavs gate``, ``Ole Paus' gate`` → ``ole paus gate``).
2. **street words**: each word's street-type ending is made canonical — ``gata``, ``gaten``,
   ``gate``, ``gt`` → ``gate``; ``veien``, ``vegen``, ``vei``, ``veg``, ``vn``, ``vg`` → ``vei``;
   ``plassen``, ``plass``, ``pl`` → ``plass``; ``alleen``, ``alle`` → ``alle`` — whether it is
   a word of its own (``Anne Moes gt.``) or the end of a compound (``Storgt.``,
   ``Gobakkveien``).
3. **key**: the words joined without spaces, so ``Kongens gate`` and ``Kongensgate`` meet.
4. **loose key**: the key with ``aa`` → ``a``, ``oe`` → ``o``, ``ae`` → ``a``, so the common
   spellings of æ, ø and å without a Norwegian keyboard (``Solorvegen``, ``Soloervegen``,
   ``Haberget``) meet the register's ``Solørvegen`` and ``Håberget``.

A query is ``street number[letter] [postnummer] [poststed or kommune]``, with commas optional:
``Storgata 2B, 2406 Elverum``, ``storgata 2 b elverum``, ``Grindalen, Grindalsvegen 121``. See
:func:`parse_query`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from geoplan.errors import ValidationError

MAX_QUERY_CHARS = 200
"""Longest accepted query: a full Norwegian address with tilleggsnavn, postnummer and poststed
is well under 100 characters."""

_LETTERS = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue"})
_NOT_WORD = re.compile(r"[^a-z0-9]+")

# (ending, canonical form), tried in this order on every word: the first ending a word has is
# replaced. Longer endings come before the shorter ones they contain ("veien" before "vei").
_STREET_ENDINGS: tuple[tuple[str, str], ...] = (
    ("veien", "vei"),
    ("vegen", "vei"),
    ("vei", "vei"),
    ("veg", "vei"),
    ("vn", "vei"),
    ("vg", "vei"),
    ("gaten", "gate"),
    ("gata", "gate"),
    ("gate", "gate"),
    ("gt", "gate"),
    ("plassen", "plass"),
    ("plass", "plass"),
    ("pl", "plass"),
    ("alleen", "alle"),
    ("alle", "alle"),
)

_NUMBER = re.compile(r"^(\d{1,5})([a-z]?)$")
_POSTNUMMER = re.compile(r"^\d{4}$")
_BRUKSENHET = re.compile(r"^[hkul]\d{4}$")  # a dwelling's number (H0101): not part of the address
_PLACE_NOISE = frozenset({"kommune", "kommun", "norge", "norway"})


def fold(text: str) -> str:
    """``text`` case-folded, æøå spelt out, accents dropped, words separated by one space."""
    text = text.casefold().translate(_LETTERS)
    if not text.isascii():  # accents left: decompose and drop the marks (é → e)
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    return " ".join(_NOT_WORD.sub(" ", text).split())


def street_word(word: str) -> str:
    """One folded word with its street-type ending made canonical (``storgt`` → ``storgate``)."""
    for ending, canonical in _STREET_ENDINGS:
        if word.endswith(ending):
            return word[: -len(ending)] + canonical
    return word


def street_key(words: list[str] | str) -> str:
    """The strict key of a street: folded words, endings canonical, joined without spaces."""
    if isinstance(words, str):
        words = fold(words).split()
    return "".join(street_word(w) for w in words)


def loose(key: str) -> str:
    """The loose key: ``aa``/``oe``/``ae`` (å, ø, æ spelt out) reduced to ``a``/``o``/``a``."""
    return key.replace("aa", "a").replace("oe", "o").replace("ae", "a")


@lru_cache(maxsize=8192)
def place_key(text: str) -> str:
    """A poststed, kommunenavn or tilleggsnavn as the geocoder compares it (loose, no spaces)."""
    return loose("".join(w for w in fold(text).split() if w not in _PLACE_NOISE))


@dataclass(frozen=True)
class ParsedQuery:
    """What a query asks for; ``street_key``/``street_loose`` are empty when it names no street.

    ``places`` are loose keys of the words after the house number or in other comma-separated
    parts (poststed, kommune or tilleggsnavn); ``postnummer`` the four-digit codes among them.
    """

    text: str
    street: str  # the folded street words, for messages
    street_key: str
    street_loose: str
    number: int | None = None
    letter: str = ""  # upper case, as the register writes it
    postnummer: tuple[str, ...] = ()
    places: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """The interpretation, as the API and ``--json`` show it."""
        return {
            "street": self.street or None,
            "number": self.number,
            "letter": self.letter or None,
            "postnummer": list(self.postnummer),
            "places": list(self.places),
        }


def check_query(text: object, field_name: str = "q") -> str:
    """``text`` if it is a usable query, else a :class:`ValidationError` naming ``field_name``."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(
            "the address is empty; give a street and house number, e.g. 'Storgata 2, Elverum'",
            field_name,
        )
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError(
            f"the address is {len(text)} characters long; at most {MAX_QUERY_CHARS} are accepted",
            field_name,
        )
    if not fold(text):
        raise ValidationError(
            f"the address {text!r} has no letters or digits; give a street and house number",
            field_name,
        )
    return text


def _number_at(words: list[str]) -> int | None:
    """Index of the house number in a comma-part: the first number-like word after a word."""
    for i, w in enumerate(words):
        if i > 0 and _NUMBER.match(w):
            return i
    return None


def _hints(words: list[str], postnummer: list[str], places: list[str]) -> None:
    """Sort the words of a locality part into postnummer and one place key."""
    place_words = []
    for w in words:
        if _POSTNUMMER.match(w):
            postnummer.append(w)
        elif w.isdigit() or _BRUKSENHET.match(w) or w in _PLACE_NOISE:
            continue  # a stray number or a dwelling's number says nothing about the place
        else:
            place_words.append(w)
    if place_words:
        places.append(loose("".join(place_words)))


def parse_query(text: str, field_name: str = "q") -> ParsedQuery:
    """Split a free-text address into street, house number, letter, postnummer and places.

    The comma-separated part with a house number (a number after at least one word) is the
    street part; without one, the first part names a street only. Words after the number, and
    every other part, are locality hints: four digits are a postnummer, words a poststed,
    kommune or tilleggsnavn. A single letter right after the number (``2 B``) is its letter.
    """
    check_query(text, field_name)
    parts = [fold(p).split() for p in text.split(",")]
    parts = [p for p in parts if p]
    main = next((i for i, p in enumerate(parts) if _number_at(p) is not None), 0)
    words = parts[main]
    postnummer: list[str] = []
    places: list[str] = []
    number: int | None = None
    letter = ""
    at = _number_at(words)
    if at is None:
        street_words, rest = words, []
    else:
        street_words, rest = words[:at], words[at + 1 :]
        m = _NUMBER.match(words[at])
        assert m is not None
        number, letter = int(m.group(1)), m.group(2)
        if not letter and rest and len(rest[0]) == 1 and rest[0].isalpha():
            letter, rest = rest[0], rest[1:]
    _hints(rest, postnummer, places)
    for i, p in enumerate(parts):
        if i != main:
            _hints(p, postnummer, places)
    key = street_key(street_words)
    return ParsedQuery(
        text=text,
        street=" ".join(street_words),
        street_key=key,
        street_loose=loose(key),
        number=number,
        letter=letter.upper(),
        postnummer=tuple(postnummer),
        places=tuple(places),
    )
