"""Bad Matrikkelen – Adresse files: one line naming the file (and line), nothing written.

The store holds Elverum's boundary and the first 300 addresses of the real file when each bad
file is tried; afterwards it must hold exactly those again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geoplan.addresses import AddressFileError, import_addresses
from geoplan.errors import ValidationError
from geoplan.store import db
from tests.conftest import table_counts, truncate_all
from tests.real_data import ELVERUM_ADDRESSES, load_boundary

HEAD = 300


def lines() -> list[str]:
    """The real file's header and rows, as text lines (BOM kept on the header)."""
    return ELVERUM_ADDRESSES.read_text(encoding="utf-8").splitlines(keepends=True)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    truncate_all(db_url)
    load_boundary(db_url, "3420")
    head = write(tmp_path_factory.mktemp("head"), "head.csv", "".join(lines()[: HEAD + 1]))
    with db.transaction(db_url) as conn:
        assert import_addresses(conn, head).rows == HEAD
    return table_counts(db_url)


def refused(db_url: str, before: dict[str, int], path: Path) -> str:
    """Import ``path``; it must fail with one line and leave every table as it was."""
    with pytest.raises(ValidationError) as exc, db.transaction(db_url) as conn:
        import_addresses(conn, path)
    message = str(exc.value)
    assert "\n" not in message, message
    assert path.name in message and "nothing was imported" in message
    assert table_counts(db_url) == before
    with db.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM address_streets").fetchone()[0] > 0
    return message


def test_missing_columns(base, db_url, tmp_path) -> None:
    rows = [";".join(x.split(";")[:17]) + "\n" for x in lines()[:20]]  # up to EPSG-kode
    message = refused(db_url, base, write(tmp_path, "cut.csv", "".join(rows)))
    assert "missing columns postnummer, poststed, Nord, Øst" in message


def test_comma_separated_file(base, db_url, tmp_path) -> None:
    text = "".join(x.replace(";", ",") for x in lines()[:20])
    assert "missing columns" in refused(db_url, base, write(tmp_path, "commas.csv", text))


def test_unknown_epsg(base, db_url, tmp_path) -> None:
    text = "".join(lines()[:20]).replace(";25833;", ";99999;")
    message = refused(db_url, base, write(tmp_path, "epsg.csv", text))
    assert "line 2: EPSG-kode 99999 is not a known CRS" in message


def test_mixed_epsg(base, db_url, tmp_path) -> None:
    rows = lines()[:20]
    rows[7] = rows[7].replace(";25833;", ";25832;")
    message = refused(db_url, base, write(tmp_path, "mixed.csv", "".join(rows)))
    assert "line 8: EPSG-kode 25832 differs from 25833 on line 2" in message


def test_empty_file_and_header_only(base, db_url, tmp_path) -> None:
    assert "empty" in refused(db_url, base, write(tmp_path, "empty.csv", ""))
    message = refused(db_url, base, write(tmp_path, "header.csv", lines()[0]))
    assert "no address rows" in message


def test_ragged_rows(base, db_url, tmp_path) -> None:
    rows = lines()[:50]
    rows[4] = ";".join(rows[4].split(";")[:30]) + "\n"
    rows[9] = rows[9].rstrip("\n") + ";extra\n"
    message = refused(db_url, base, write(tmp_path, "ragged.csv", "".join(rows)))
    assert "2 errors" in message
    assert "line 5: 30 fields, the header has 46" in message
    assert "line 10: 47 fields, the header has 46" in message


def test_bad_values_name_line_and_column(base, db_url, tmp_path) -> None:
    rows = lines()[:30]
    f = rows[3].split(";")
    f[8] = "12x"  # nummer
    rows[3] = ";".join(f)
    f = rows[5].split(";")
    f[17] = "north"  # Nord
    rows[5] = ";".join(f)
    with pytest.raises(AddressFileError) as exc, db.transaction(db_url) as conn:
        import_addresses(conn, write(tmp_path, "values.csv", "".join(rows)))
    assert "line 4: nummer '12x' is not a house number" in str(exc.value)
    assert "line 6: Nord/Øst 'north'" in str(exc.value)
    assert [e["row"] for e in exc.value.errors] == [4, 6]
    assert table_counts(db_url) == base


def test_binary_data(base, db_url, tmp_path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    assert "not UTF-8" in refused(db_url, base, write(tmp_path, "image.csv", png))
    nul = lines()[0].encode() + b"1;2;\x00\x00\x00;4\n"
    assert "binary data" in refused(db_url, base, write(tmp_path, "nul.csv", nul))
    latin1 = "".join(lines()[:20]).encode("latin-1", errors="replace")
    assert "not UTF-8" in refused(db_url, base, write(tmp_path, "latin1.csv", latin1))


def test_coordinates_elsewhere(base, db_url, tmp_path) -> None:
    """Right kommunenummer, positions 300 km north: the region check refuses them."""
    rows = lines()[:20]
    for i in (3, 4):
        f = rows[i].split(";")
        f[17] = str(float(f[17]) + 300_000)
        rows[i] = ";".join(f)
    message = refused(db_url, base, write(tmp_path, "moved.csv", "".join(rows)))
    assert "2 of 19 addresses lie outside the region" in message and "line 4:" in message


def test_file_of_another_municipality(base, db_url, tmp_path) -> None:
    """Oslo's boundary loaded, Elverum's file imported: refused, naming both."""
    load_boundary(db_url, "0301")
    try:
        message = refused(db_url, base, ELVERUM_ADDRESSES)
        assert "the file is for kommune 3420 ELVERUM" in message
        assert "the loaded boundary is 0301 Oslo" in message
    finally:
        load_boundary(db_url, "3420")


def test_a_folder_is_not_a_file(base, db_url, tmp_path) -> None:
    assert "is a folder" in refused(db_url, base, tmp_path)
