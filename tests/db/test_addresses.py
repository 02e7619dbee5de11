"""Elverum's real address register (Kartverket, Matrikkelen – Adresse, 10 871 addresses): the
import, checked against an independent read of the file, and the geocoder on it."""

from __future__ import annotations

import random
from datetime import date

import psycopg
import pytest
from pyproj import Transformer

from geoplan.addresses import (
    LICENCE,
    AddressNotResolved,
    geocode,
    geocode_many,
    import_addresses,
    resolve,
    resolve_many,
)
from geoplan.errors import ValidationError
from geoplan.store import db
from tests.conftest import truncate_all
from tests.real_data import ELVERUM_ADDRESSES, csv_records, load_boundary

TO_WGS84 = Transformer.from_crs(25833, 4326, always_xy=True)


@pytest.fixture(scope="module")
def elverum(db_url: str):
    """Elverum's boundary, then its addresses, imported once for this module's tests."""
    truncate_all(db_url)
    load_boundary(db_url, "3420")
    with db.transaction(db_url) as conn:
        result = import_addresses(conn, ELVERUM_ADDRESSES)
    return result


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    return csv_records()


def test_every_row_of_the_file_is_imported(elverum, records, conn) -> None:
    assert len(records) == 10_871  # the README's count, by the csv module alone
    street_addresses = [r for r in records if r["adressetype"] == "vegadresse"]
    assert elverum.rows == len(street_addresses) == 10_871
    assert elverum.skipped_matrikkeladresser == 0
    assert elverum.kommuner == {"3420": "ELVERUM"} and elverum.epsg == 25833
    stored = conn.execute(
        "SELECT count(*), count(DISTINCT lokalid) FROM addresses WHERE kommunenummer = '3420'"
    ).fetchone()
    assert stored == (10_871, 10_871)
    assert conn.execute("SELECT count(*) FROM addresses").fetchone()[0] == 10_871


def test_rows_keep_the_files_values_and_positions(elverum, records, conn) -> None:
    for r in random.Random(3420).sample(records, 200):
        row = conn.execute(
            "SELECT adresse_tekst, adressenavn, nummer, bokstav, postnummer, poststed, "
            "kommunenummer, adressekode, ST_X(geom), ST_Y(geom), attributes->>'gardsnummer' "
            "FROM addresses WHERE lokalid = %s",
            [int(r["lokalid"])],
        ).fetchone()
        assert row[:8] == (
            r["adresseTekst"], r["adressenavn"], int(r["nummer"]), r["bokstav"],
            r["postnummer"], r["poststed"], r["kommunenummer"], int(r["adressekode"]),
        )  # fmt: skip
        assert row[8] == pytest.approx(float(r["Øst"]), abs=0.005)
        assert row[9] == pytest.approx(float(r["Nord"]), abs=0.005)
        assert row[10] == r["gardsnummer"]


def test_provenance(elverum, conn) -> None:
    rows = conn.execute(
        "SELECT DISTINCT source, source_url, licence, accuracy_m, verified, sample, dataset_date "
        "FROM addresses"
    ).fetchall()
    assert len(rows) == 1
    source, url, licence, accuracy, verified, sample, day = rows[0]
    assert ELVERUM_ADDRESSES.name in source and "Kartverket" in source
    assert "geonorge.no" in url
    assert licence == LICENCE == "CC BY 4.0 © Kartverket"
    assert accuracy == 10 and verified is True and sample is False
    assert day == date(2025, 6, 12)  # datauttaksdato 12.06.2025


def test_exact_address_has_the_files_coordinates(elverum, records, conn) -> None:
    (r,) = [r for r in records if r["adresseTekst"] == "Storgata 2"]
    best = geocode(conn, "Storgata 2, Elverum")[0]
    assert (best.address, best.match_kind, best.score) == ("Storgata 2", "exact", 1.0)
    assert (best.x, best.y) == (float(r["Øst"]), float(r["Nord"]))
    lon, lat = TO_WGS84.transform(best.x, best.y)
    assert (best.lon, best.lat) == pytest.approx((lon, lat), abs=1e-7)
    assert (best.kommunenummer, best.postnummer, best.poststed) == ("3420", "2408", "ELVERUM")
    assert best.lokalid == int(r["lokalid"])
    assert best.licence == "CC BY 4.0 © Kartverket" and best.accuracy_m == 10


@pytest.mark.parametrize(
    "text",
    [
        "Storgata 2",
        "STORGATA 2, ELVERUM",
        "storgt. 2",
        "Storgaten 2, 2408 Elverum",
        "Storgata 2 2408",
        "Storgate 2, Elverum kommune",
    ],
)
def test_spellings_find_the_same_address(elverum, conn, text: str) -> None:
    best = geocode(conn, text)[0]
    assert (best.address, best.match_kind, best.score) == ("Storgata 2", "exact", 1.0)


@pytest.mark.parametrize(
    ("text", "address", "score"),
    [
        ("Anne Moes gt. 3", "Anne Moes gate 3", 1.0),
        ("St Olavs gt 5, 2414", "St. Olavs gate 5", 1.0),
        ("Solørveien 151", "Solørvegen 151", 1.0),
        ("Solorvegen 151", "Solørvegen 151", 0.95),  # ø typed as o
        ("Soloervn. 151", "Solørvegen 151", 1.0),  # ø typed as oe: the strict key
        ("Haaberget 777", "Håberget 777", 1.0),
        ("Haberget 777", "Håberget 777", 0.95),
        ("Storgata 6b", "Storgata 6B", 1.0),
        ("Storgata 6 B", "Storgata 6B", 1.0),
    ],
)
def test_variants_are_exact(elverum, conn, text: str, address: str, score: float) -> None:
    best = geocode(conn, text)[0]
    assert (best.address, best.match_kind, best.score) == (address, "exact", score)
    assert resolve(conn, text).address == address


def test_missing_house_number_gives_its_neighbours(elverum, conn) -> None:
    found = geocode(conn, "Storgata 3, Elverum")  # 1, 2, 4, 5 exist; 3 does not
    assert [c.address for c in found[:2]] == ["Storgata 2", "Storgata 4"]
    assert {c.match_kind for c in found} == {"nearest_house_number"}
    assert found[0].score == found[1].score < 0.95
    with pytest.raises(AddressNotResolved) as exc:
        resolve(conn, "Storgata 3, Elverum")
    assert [c.address for c in exc.value.candidates[:2]] == ["Storgata 2", "Storgata 4"]
    assert "Storgata 2, 2408 ELVERUM" in str(exc.value) and exc.value.field == "address"


def test_number_without_its_letter_is_not_a_guess(elverum, conn) -> None:
    found = geocode(conn, "Storgata 6")  # only 6A and 6B exist
    assert [(c.address, c.match_kind) for c in found] == [
        ("Storgata 6A", "nearest_house_number"),
        ("Storgata 6B", "nearest_house_number"),
    ]
    with pytest.raises(AddressNotResolved):
        resolve(conn, "Storgata 6")


def test_street_only(elverum, conn) -> None:
    (street,) = geocode(conn, "Storgata, Elverum")
    assert (street.address, street.number, street.match_kind) == ("Storgata", None, "street_only")
    assert street.score == 1.0
    assert 100 < street.accuracy_m < 2000  # Storgata is about 1 km long
    with pytest.raises(AddressNotResolved):
        resolve(conn, "Storgata, Elverum")


def test_typo_finds_the_street_but_resolve_will_not_guess(elverum, conn) -> None:
    best = geocode(conn, "Storgataa 2, Elverum")[0]
    assert (best.address, best.match_kind) == ("Storgata 2", "exact")
    assert best.score < 0.95
    with pytest.raises(AddressNotResolved) as exc:
        resolve(conn, "Storgataa 2, Elverum")
    assert exc.value.candidates[0].address == "Storgata 2"


def test_contradicting_locality_counts_against(elverum, conn) -> None:
    best = geocode(conn, "Storgata 2, 0150 Oslo")[0]
    assert best.address == "Storgata 2" and best.score == pytest.approx(0.49)
    with pytest.raises(AddressNotResolved):
        resolve(conn, "Storgata 2, 0150 Oslo")


def test_unknown_address(elverum, conn) -> None:
    assert geocode(conn, "Qwxzy 12") == []
    with pytest.raises(AddressNotResolved) as exc:
        resolve(conn, "Qwxzy 12")
    assert exc.value.candidates == [] and "no address" in str(exc.value)


def test_same_address_in_two_municipalities_is_ambiguous(elverum, conn) -> None:
    """A second Storgata 2 (another kommune, inserted in this test's transaction only)."""
    conn.execute(
        "INSERT INTO addresses (lokalid, kommunenummer, kommunenavn, adressekode, adressenavn, "
        "nummer, adresse_tekst, postnummer, poststed, street_key, street_loose, geom, source, "
        "sample) VALUES (1, '3403', 'HAMAR', 1, 'Storgata', 2, 'Storgata 2', '2317', 'HAMAR', "
        "'storgate', 'storgate', ST_SetSRID(ST_MakePoint(290000, 6746000), 25833), 'test', true)"
    )
    found = geocode(conn, "Storgata 2")
    assert [(c.kommunenummer, c.score) for c in found[:2]] == [("3403", 1.0), ("3420", 1.0)]
    with pytest.raises(AddressNotResolved) as exc:
        resolve(conn, "Storgata 2")
    assert "ambiguous" in str(exc.value) and len(exc.value.candidates) == 2
    assert resolve(conn, "Storgata 2, Elverum").kommunenummer == "3420"
    assert resolve(conn, "Storgata 2, 2317").kommunenummer == "3403"
    conn.rollback()


def test_every_address_of_the_file_resolves_to_itself(elverum, records, conn) -> None:
    """The batch path: all 10 871 "adresseTekst, postnummer poststed" at once."""
    texts = [f"{r['adresseTekst']}, {r['postnummer']} {r['poststed']}" for r in records]
    results = resolve_many(conn, texts)
    wrong = [
        (t, getattr(res, "lokalid", str(res)))
        for t, res, r in zip(texts, results, records, strict=True)
        if getattr(res, "lokalid", None) != int(r["lokalid"])
    ]
    assert wrong == []


def test_batch_matches_one_by_one(elverum, records, conn) -> None:
    texts = [r["adresseTekst"] for r in random.Random(7).sample(records, 50)]
    texts += ["Storgata 3", "Storgata, Elverum", "Storgataa 2", "Qwxzy 1"]
    assert geocode_many(conn, texts) == [geocode(conn, t) for t in texts]
    with pytest.raises(ValidationError) as exc:
        geocode_many(conn, ["Storgata 2", ""])
    assert exc.value.field == "addresses[1]"
    problems = resolve_many(conn, ["Storgata 2", "", "Storgata 3"])
    assert problems[0].address == "Storgata 2"
    assert isinstance(problems[1], AddressNotResolved) and problems[1].candidates == []
    assert isinstance(problems[2], AddressNotResolved) and problems[2].candidates


def test_bad_limits(elverum, conn) -> None:
    for limit in (0, 51, -1):
        with pytest.raises(ValidationError) as exc:
            geocode(conn, "Storgata 2", limit)
        assert exc.value.field == "limit"


def test_reimport_replaces_the_municipality(elverum, db_url, conn) -> None:
    conn.execute("DELETE FROM addresses WHERE lokalid IN (SELECT lokalid FROM addresses LIMIT 5)")
    conn.commit()
    with db.transaction(db_url) as c:
        again = import_addresses(c, ELVERUM_ADDRESSES)
    assert (again.rows, again.replaced) == (10_871, 10_866)
    assert conn.execute("SELECT count(*) FROM addresses").fetchone()[0] == 10_871


def test_import_needs_the_trigram_extension_installed(conn: psycopg.Connection) -> None:
    """The migration installs pg_trgm (Debian's postgresql-15 ships it)."""
    assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
