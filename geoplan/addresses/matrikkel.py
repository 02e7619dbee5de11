"""Reading Kartverket's *Matrikkelen – Adresse* CSV: the file → checked rows in EPSG:25833.

The file is what Geonorge delivers for every municipality (``Basisdata_<kommunenummer>_<name>_
<epsg>_MatrikkelenAdresse.csv``): UTF-8 with a byte-order mark, semicolon-separated, a header
of 46 columns. What geoplan reads (every other column is ignored):

================================  ==========================================================
column                            use
================================  ==========================================================
``adressetype``                   ``vegadresse`` rows are read; ``matrikkeladresse`` rows
                                  (gnr/bnr addresses without a street) are counted, skipped
``lokalid``                       the register's id of the address (unique in the file)
``kommunenummer``, ``kommunenavn``  the municipality (four digits)
``adressekode``, ``adressenavn``  the street's code and name
``nummer``, ``bokstav``           house number and letter
``adressetilleggsnavn``           a farm or place name some addresses carry
``adresseTekst``                  the address as written ("Storgata 2B")
``postnummer``, ``poststed``      the postal code and place
``EPSG-kode``, ``Nord``, ``Øst``  the position and its CRS (one CRS per file)
``datauttaksdato``                when Kartverket extracted the data: the dataset date
``gardsnummer`` … ``tettstednavn``  kept in the row's ``attributes`` (see :data:`KEPT`)
================================  ==========================================================

Any problem is a :class:`geoplan.errors.ValidationError` naming the file and the line (the
header is line 1): a missing column, a row with the wrong number of fields, a bad number or
code, an unknown or mixed ``EPSG-kode``, binary or non-UTF-8 content, no rows at all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

from geoplan.addresses.normalise import loose, street_key
from geoplan.errors import ValidationError

REQUIRED = (
    "lokalid",
    "kommunenummer",
    "adressetype",
    "adressekode",
    "adressenavn",
    "nummer",
    "bokstav",
    "adresseTekst",
    "postnummer",
    "poststed",
    "EPSG-kode",
    "Nord",
    "Øst",
)
"""Columns a file must have (by exact name, as Kartverket writes them)."""

OPTIONAL = ("kommunenavn", "adressetilleggsnavn", "datauttaksdato")

KEPT = (
    "gardsnummer",
    "bruksnummer",
    "festenummer",
    "undernummer",
    "adresseId",
    "uuidAdresse",
    "grunnkretsnummer",
    "grunnkretsnavn",
    "tettstednavn",
    "oppdateringsdato",
)
"""Further columns kept, when present and not empty, in each row's ``attributes``."""

SHOW_ERRORS = 3
"""How many line errors a message names before it says "and N more" (one line in all)."""

_KOMMUNENUMMER = re.compile(r"^\d{4}$")
_POSTNUMMER = re.compile(r"^\d{4}$")
_BOKSTAV = re.compile(r"^[A-ZÆØÅ]{0,2}$")


class AddressFileError(ValidationError):
    """A Matrikkelen – Adresse file that cannot be imported; ``str()`` is one line."""


@dataclass
class AddressRows:
    """The checked ``vegadresse`` rows of a file, column by column (positions in EPSG:25833)."""

    source_name: str
    lokalid: list[int] = field(default_factory=list)
    kommunenummer: list[str] = field(default_factory=list)
    kommunenavn: list[str | None] = field(default_factory=list)
    adressekode: list[int] = field(default_factory=list)
    adressenavn: list[str] = field(default_factory=list)
    nummer: list[int] = field(default_factory=list)
    bokstav: list[str] = field(default_factory=list)
    adressetilleggsnavn: list[str | None] = field(default_factory=list)
    adresse_tekst: list[str] = field(default_factory=list)
    postnummer: list[str] = field(default_factory=list)
    poststed: list[str] = field(default_factory=list)
    street_key: list[str] = field(default_factory=list)
    street_loose: list[str] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each row's line in the file, for messages
    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))
    epsg: int | None = None
    dataset_date: date | None = None
    skipped_matrikkeladresser: int = 0

    def __len__(self) -> int:
        return len(self.lokalid)

    @property
    def kommuner(self) -> dict[str, str | None]:
        """kommunenummer → kommunenavn of the rows (sorted by number)."""
        out: dict[str, str | None] = {}
        for nr, name in zip(self.kommunenummer, self.kommunenavn, strict=True):
            out.setdefault(nr, name)
        return dict(sorted(out.items()))


class _Errors:
    """Line errors collected while reading; raised together as one :class:`AddressFileError`."""

    def __init__(self, source_name: str):
        self.source_name = source_name
        self.items: list[tuple[int, str, str]] = []  # line, column, message

    def add(self, line: int, column: str, message: str) -> None:
        self.items.append((line, column, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        self.items.sort()
        n = len(self.items)
        shown = "; ".join(f"line {line}: {msg}" for line, _c, msg in self.items[:SHOW_ERRORS])
        more = f" (and {n - SHOW_ERRORS} more)" if n > SHOW_ERRORS else ""
        what = f"{n} error{'s' if n != 1 else ''}"
        raise AddressFileError(
            f"{self.source_name}: {what}, nothing was imported: {shown}{more}",
            field=self.items[0][1],
            errors=[
                {"field": c, "row": line, "message": f"line {line}: {msg}"}
                for line, c, msg in self.items
            ],
        )


def _fail(source_name: str, message: str, column: str | None = None) -> AddressFileError:
    return AddressFileError(f"{source_name}: {message}; nothing was imported", field=column)


def _records(raw: io.BufferedReader, source_name: str) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each CSV record, with decoding and CSV errors as one clear line."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")

    def checked() -> Iterator[str]:
        for physical, s in enumerate(text, start=1):
            if "\x00" in s:
                raise _fail(source_name, f"line {physical}: binary data (a NUL byte), not text")
            yield s

    reader = csv.reader(checked(), delimiter=";", quotechar='"', strict=True)
    line = 0
    try:
        for fields in reader:
            line = reader.line_num
            yield line, fields
    except UnicodeDecodeError as exc:
        where = f"after line {line}" if line else "in the first line"
        raise _fail(
            source_name,
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} {where} cannot be decoded); "
            "Kartverket's Matrikkelen – Adresse CSV is UTF-8",
        ) from exc
    except csv.Error as exc:
        raise _fail(source_name, f"line {line + 1}: not a readable CSV record: {exc}") from exc


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: str) -> float | None:
    try:
        f = float(value.replace(",", "."))
    except ValueError:
        return None
    return f if np.isfinite(f) else None


def _dataset_date(value: str) -> date | None:
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _transform(
    epsg: int, east: np.ndarray, north: np.ndarray, source_name: str, line: int
) -> tuple[np.ndarray, np.ndarray]:
    """Øst/Nord in ``epsg`` → x/y in EPSG:25833 (pyproj; geographic CRSs give Øst = longitude)."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(epsg)
    except CRSError as exc:
        raise _fail(
            source_name, f"line {line}: EPSG-kode {epsg} is not a known CRS", "EPSG-kode"
        ) from exc
    if crs.is_geocentric or crs.is_vertical or len(crs.axis_info) < 2:
        raise _fail(
            source_name,
            f"line {line}: EPSG-kode {epsg} ({crs.name}) is not a horizontal CRS for positions",
            "EPSG-kode",
        )
    if epsg == 25833:
        return east, north
    tr = Transformer.from_crs(crs, 25833, always_xy=True)
    x, y = tr.transform(east, north)
    return np.asarray(x, float), np.asarray(y, float)


def read_addresses(
    path: Path,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> AddressRows:
    """The checked ``vegadresse`` rows of a Matrikkelen – Adresse CSV; raises
    :class:`AddressFileError` (one line naming the file and line) on any problem."""
    report = progress or (lambda *_: None)
    name = path.name
    if path.is_dir():
        raise _fail(name, "is a folder, not a Matrikkelen – Adresse CSV file")
    if path.stat().st_size == 0:
        raise _fail(name, "the file is empty")
    out = AddressRows(source_name=name)
    errors = _Errors(name)
    east: list[float] = []
    north: list[float] = []
    epsg_first: tuple[int, int] | None = None  # (code, line)
    dates: set[date] = set()
    seen: dict[int, int] = {}
    with path.open("rb") as raw:
        records = _records(raw, name)  # type: ignore[arg-type]
        _, header = next(records, (0, []))
        if not header or not any(h.strip() for h in header):
            raise _fail(name, "no header line: not a Matrikkelen – Adresse CSV")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            found = ", ".join(header[:8]) + (" …" if len(header) > 8 else "")
            raise _fail(
                name,
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(found: {found}): not a semicolon-separated Matrikkelen – Adresse CSV",
                missing[0],
            )
        col = {h: i for i, h in enumerate(header)}
        kept = [(c, col[c]) for c in KEPT if c in col]
        opt = {c: col.get(c) for c in OPTIONAL}
        width = len(header)
        n = 0
        for line, fields in records:
            n += 1
            if n % 5000 == 0:
                report("reading", n, None)
            if len(fields) != width:
                if len(fields) == 1 and not fields[0].strip():
                    continue  # a blank line
                errors.add(
                    line,
                    "",
                    f"{len(fields)} field{'s' if len(fields) != 1 else ''}, the header has {width}",
                )
                continue

            def get(c: str, fields: list[str] = fields) -> str:
                return fields[col[c]].strip()

            def opt_get(c: str, fields: list[str] = fields) -> str | None:
                i = opt[c]
                v = fields[i].strip() if i is not None else ""
                return v or None

            kind = get("adressetype")
            if kind == "matrikkeladresse":
                out.skipped_matrikkeladresser += 1
                continue
            if kind != "vegadresse":
                errors.add(line, "adressetype", f"unknown adressetype {kind!r}")
                continue
            bad = len(errors.items)
            lokalid = _int(get("lokalid"))
            if lokalid is None:
                errors.add(line, "lokalid", f"lokalid {get('lokalid')!r} is not a number")
            elif lokalid in seen:
                errors.add(line, "lokalid", f"lokalid {lokalid} repeats line {seen[lokalid]}")
            kommune = get("kommunenummer")
            if not _KOMMUNENUMMER.match(kommune):
                errors.add(line, "kommunenummer", f"kommunenummer {kommune!r} is not 4 digits")
            kode = _int(get("adressekode"))
            if kode is None:
                errors.add(
                    line, "adressekode", f"adressekode {get('adressekode')!r} is not a number"
                )
            street = get("adressenavn")
            key = street_key(street)
            if not key:
                errors.add(line, "adressenavn", "adressenavn is empty for a vegadresse")
            nummer = _int(get("nummer"))
            if nummer is None or nummer < 0:
                errors.add(line, "nummer", f"nummer {get('nummer')!r} is not a house number")
            bokstav = get("bokstav").upper()
            if not _BOKSTAV.match(bokstav):
                errors.add(line, "bokstav", f"bokstav {get('bokstav')!r} is not a house letter")
            tekst = get("adresseTekst")
            if not tekst:
                errors.add(line, "adresseTekst", "adresseTekst is empty")
            post = get("postnummer")
            if not _POSTNUMMER.match(post):
                errors.add(line, "postnummer", f"postnummer {post!r} is not 4 digits")
            code = _int(get("EPSG-kode"))
            if code is None:
                errors.add(line, "EPSG-kode", f"EPSG-kode {get('EPSG-kode')!r} is not a code")
            elif epsg_first is None:
                epsg_first = (code, line)
            elif code != epsg_first[0]:
                errors.add(
                    line,
                    "EPSG-kode",
                    f"EPSG-kode {code} differs from {epsg_first[0]} on line {epsg_first[1]} "
                    "(one CRS per file)",
                )
            e, nn = _float(get("Øst")), _float(get("Nord"))
            if e is None or nn is None:
                errors.add(line, "Nord", f"Nord/Øst {get('Nord')!r}/{get('Øst')!r} not numbers")
            if len(errors.items) > bad:
                continue
            seen[lokalid] = line  # type: ignore[index]
            when = opt_get("datauttaksdato")
            if when and (d := _dataset_date(when)):
                dates.add(d)
            out.lokalid.append(lokalid)  # type: ignore[arg-type]
            out.kommunenummer.append(kommune)
            out.kommunenavn.append(opt_get("kommunenavn"))
            out.adressekode.append(kode)  # type: ignore[arg-type]
            out.adressenavn.append(street)
            out.nummer.append(nummer)  # type: ignore[arg-type]
            out.bokstav.append(bokstav)
            out.adressetilleggsnavn.append(opt_get("adressetilleggsnavn"))
            out.adresse_tekst.append(tekst)
            out.postnummer.append(post)
            out.poststed.append(get("poststed"))
            out.street_key.append(key)
            out.street_loose.append(loose(key))
            out.attributes.append({c: fields[i].strip() for c, i in kept if fields[i].strip()})
            out.lines.append(line)
            east.append(e)  # type: ignore[arg-type]
            north.append(nn)  # type: ignore[arg-type]
    report("reading", n, n)
    errors.raise_if_any()
    if not out.lokalid:
        if out.skipped_matrikkeladresser:
            raise _fail(
                name,
                f"no street addresses: all {out.skipped_matrikkeladresser} rows are "
                "matrikkeladresser (gnr/bnr), which the geocoder cannot use",
            )
        raise _fail(name, "no address rows after the header")
    assert epsg_first is not None
    out.epsg = epsg_first[0]
    out.x, out.y = _transform(epsg_first[0], np.array(east), np.array(north), name, epsg_first[1])
    finite = np.isfinite(out.x) & np.isfinite(out.y)
    for i in np.flatnonzero(~finite)[: SHOW_ERRORS + 1]:
        errors.add(out.lines[i], "Nord", f"Nord/Øst cannot be placed in EPSG:{out.epsg}")
    errors.raise_if_any()
    out.dataset_date = max(dates) if dates else None
    return out
