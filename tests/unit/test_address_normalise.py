"""How address text is folded and a query is read (no database): the rules in docs/geocoding.md."""

from __future__ import annotations

import pytest

from geoplan.addresses import fold, loose, parse_query, street_key
from geoplan.errors import ValidationError


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Storgata", "storgate"),
        ("Storgata", "Storgt."),
        ("Storgata", "STORGATEN"),
        ("Anne Moes gate", "Anne Moes gt."),
        ("Anne Moes gate", "annemoesgate"),
        ("Gobakkvegen", "Gobakkveien"),
        ("Gobakkvegen", "Gobakkvn."),
        ("Gobakkvegen", "gobakk vei"),
        ("Skoginspektør Kiærs veg", "Skoginspektoer Kiaers vei"),
        ("Torgplassen", "Torgpl."),
        ("St. Olavs gate", "St Olavs gt"),
        ("Ole Paus' gate", "Ole Paus gate"),
        ("Kongens allé", "Kongens alle"),
    ],
)
def test_spellings_of_one_street_share_a_key(a: str, b: str) -> None:
    assert street_key(a) == street_key(b)


@pytest.mark.parametrize(
    ("register", "typed"),
    [("Solørvegen", "Solorvegen"), ("Håberget", "Haberget"), ("Kiærs veg", "Kiars veg")],
)
def test_aeoeaa_without_a_norwegian_keyboard_meet_on_the_loose_key(register, typed) -> None:
    assert street_key(register) != street_key(typed)
    assert loose(street_key(register)) == loose(street_key(typed))


def test_fold() -> None:
    assert fold("  ÆØÅ  æøå, Café–Ölbar ") == "aeoeaa aeoeaa cafe oelbar"
    assert fold("\x00\n;") == ""


def test_query_parts() -> None:
    q = parse_query("Storgata 2B, 2408 Elverum")
    assert (q.street_key, q.number, q.letter) == ("storgate", 2, "B")
    assert q.postnummer == ("2408",) and q.places == ("elverum",)
    q = parse_query("storgt 2 b 2408 elverum kommune")
    assert (q.street_key, q.number, q.letter, q.postnummer, q.places) == (
        "storgate", 2, "B", ("2408",), ("elverum",),
    )  # fmt: skip
    q = parse_query("Grindalen, Grindalsvegen 121 H0101")
    assert (q.street_key, q.number, q.places) == ("grindalsvei", 121, ("grindalen",))
    q = parse_query("2408 Elverum, Storgata 2")
    assert (q.street_key, q.number, q.postnummer) == ("storgate", 2, ("2408",))
    q = parse_query("Storgata, Elverum")
    assert (q.street_key, q.number, q.places) == ("storgate", None, ("elverum",))
    q = parse_query("7. juni-plassen 3")  # a street that starts with a number
    assert (q.street_key, q.number) == ("7juniplass", 3)


@pytest.mark.parametrize("bad", ["", "   ", ",,;.", "x" * 201])
def test_unusable_queries_name_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_query(bad, "q")
    assert exc.value.field == "q"
    assert "\n" not in str(exc.value)
