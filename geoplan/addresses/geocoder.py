"""The geocoder: free-text addresses → ranked candidates from the ``addresses`` table.

A query is parsed (:func:`geoplan.addresses.normalise.parse_query`) into a street, a house
number and letter, and locality hints (postnummer, poststed, kommune, tilleggsnavn). Then:

1. **Street.** Rows whose loose street key equals the query's (btree index): street score 1.0
   when the strict keys agree too, 0.95 when only the loose ones do (``Solorvegen`` for
   ``Solørvegen``). Only when no street matches that way, streets *similar* to it (pg_trgm's
   ``%`` on the trigram index; up to :data:`FUZZY_STREETS` per query, similarity ≥ 0.3): street
   score 0.9 × similarity.
2. **House number**, per street found (one street = one ``kommunenummer`` + ``adressekode``):
   the rows whose number is nearest the query's — the number itself when it exists, else its
   neighbours — or, for a query without a number, the address nearest the middle of the
   street. Number factor: 1.0 when number and letter agree (``exact``); 0.9 for the same number
   with another or no letter, 0.8 − 0.01 per number away (at least 0.5) for another number
   (``nearest_house_number``); 1.0 for a street-only query (``street_only``).
3. **Locality.** Each postnummer, poststed/kommune/tilleggsnavn in the query that the candidate
   does not have multiplies its score by 0.7 (a hint is never required, but a contradicting one
   counts against).

``score`` = street score × number factor × locality factor, in (0, 1]; candidates are ranked by
score, then exact before nearest before street-only. The same statements serve one query and a
batch (arrays of queries, one round trip per pass), so ``geocode`` and ``geocode_many`` agree.

:func:`resolve` is for callers that need one position and must never guess (premises imported
or posted with an address and no coordinates): it returns the one candidate that is ``exact``
with a score ≥ :data:`RESOLVE_MIN_SCORE` — the street found by its spelling, number and letter
found, no locality hint contradicted — or raises :class:`AddressNotResolved` listing the
candidates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from geoplan.addresses.normalise import ParsedQuery, parse_query, place_key
from geoplan.errors import ValidationError

EXACT, NEAREST, STREET_ONLY = "exact", "nearest_house_number", "street_only"
MATCH_KINDS = (EXACT, NEAREST, STREET_ONLY)
_KIND_ORDER = {k: i for i, k in enumerate(MATCH_KINDS)}

DEFAULT_LIMIT = 5
MAX_LIMIT = 50
MAX_BATCH = 100_000
"""Most queries one :func:`geocode_many` call takes (arrays of this size are one statement)."""
FUZZY_STREETS = 3
"""How many similar streets a query without an exactly-spelt street is tried against."""
MIN_SIMILARITY = 0.3
RESOLVE_MIN_SCORE = 0.95
"""What :func:`resolve` accepts: an exact number on a street matched by its spelling (strict
1.0 or loose 0.95), no locality hint contradicted."""

LOOSE_STREET_SCORE = 0.95
FUZZY_STREET_FACTOR = 0.9
SAME_NUMBER_FACTOR = 0.9
OTHER_NUMBER_FACTOR, PER_NUMBER_AWAY, MIN_NUMBER_FACTOR = 0.8, 0.01, 0.5
LOCALITY_MISMATCH_FACTOR = 0.7


@dataclass(frozen=True)
class Candidate:
    """One address a query may mean, with where it is and how well it matches."""

    address: str  # as the register writes it: "Storgata 2B" (street-only: the street name)
    street: str
    number: int | None  # None for street_only
    letter: str | None
    postnummer: str | None
    poststed: str | None
    kommunenummer: str
    kommunenavn: str | None
    lon: float
    lat: float
    x: float  # EPSG:25833
    y: float
    score: float
    match_kind: str
    accuracy_m: float | None  # street_only: the radius of the street's addresses around it
    lokalid: int | None  # the register's id (street_only: of the address shown)
    source: str
    source_url: str | None
    licence: str | None
    dataset_date: date | None
    sample: bool

    def label(self) -> str:
        """One line for messages: "Storgata 2B, 2406 ELVERUM (kommune 3420)"."""
        place = " ".join(p for p in (self.postnummer, self.poststed) if p)
        return f"{self.address}, {place} (kommune {self.kommunenummer})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the API's and ``geoplan geocode --json``'s candidate."""
        return {
            "address": self.address,
            "street": self.street,
            "number": self.number,
            "letter": self.letter,
            "postnummer": self.postnummer,
            "poststed": self.poststed,
            "kommunenummer": self.kommunenummer,
            "kommunenavn": self.kommunenavn,
            "lon": self.lon,
            "lat": self.lat,
            "epsg25833": {"x": self.x, "y": self.y},
            "score": self.score,
            "match_kind": self.match_kind,
            "accuracy_m": self.accuracy_m,
            "lokalid": self.lokalid,
            "source": self.source,
            "source_url": self.source_url,
            "licence": self.licence,
            "dataset_date": self.dataset_date.isoformat() if self.dataset_date else None,
            "sample": self.sample,
        }


class AddressNotResolved(ValidationError):
    """An address that does not name exactly one address in the register.

    ``candidates`` are what it may mean (best first; empty when nothing matches); the message
    names them, and ``errors[0]["candidates"]`` carries them as dicts for an API response.
    """

    def __init__(self, text: str, candidates: list[Candidate], field: str, reason: str):
        self.text = text
        self.candidates = candidates
        if candidates:
            listed = "; ".join(
                f"{c.label()} [{c.match_kind}, score {c.score:g}]" for c in candidates
            )
            message = f"{reason}; candidates: {listed}"
        else:
            message = reason
        super().__init__(message, field)
        self.errors[0]["candidates"] = [c.as_dict() for c in candidates]


def check_limit(limit: int, field_name: str = "limit") -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be 1–{MAX_LIMIT}, got {limit!r}", field_name)
    return limit


def addresses_loaded(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM addresses)").fetchone()[0]


# -- the statements ------------------------------------------------------------------------------
_OUT = """
    r.i, r.sscore, h.lokalid, h.adresse_tekst, h.adressenavn, h.nummer, h.bokstav,
    h.postnummer, h.poststed, h.kommunenummer, h.kommunenavn, h.adressetilleggsnavn,
    h.street_key, ST_X(h.geom), ST_Y(h.geom),
    ST_X(ST_Transform(h.geom, 4326)), ST_Y(ST_Transform(h.geom, 4326)),
    h.accuracy_m, h.source, h.source_url, h.licence, h.dataset_date, h.sample"""

_QUERIES = """
    SELECT * FROM unnest(%(i)s::int[], %(loose)s::text[], %(num)s::int[], %(sscore)s::float8[])
        AS q(i, loose, num, sscore)"""

_NEAR = """
        SELECT a.id, a.kommunenummer, a.adressekode, a.street_loose, a.nummer FROM addresses a"""

NUMBERED_SQL = f"""
WITH q AS ({_QUERIES}),
near AS (
    SELECT q.i, q.sscore, q.num, n.*
    FROM q CROSS JOIN LATERAL (
        ({_NEAR} WHERE a.street_loose = q.loose AND a.nummer = q.num)
        UNION ALL
        ({_NEAR} WHERE a.street_loose = q.loose AND a.nummer > q.num
         ORDER BY a.nummer LIMIT %(k)s)
        UNION ALL
        ({_NEAR} WHERE a.street_loose = q.loose AND a.nummer < q.num
         ORDER BY a.nummer DESC LIMIT %(k)s)
    ) n
),
r AS (
    SELECT near.*, rank() OVER (PARTITION BY i, kommunenummer, adressekode, street_loose
                                ORDER BY abs(nummer - num)) AS rk
    FROM near
)
SELECT {_OUT}, NULL::float8 AS radius
FROM r JOIN addresses h ON h.id = r.id
WHERE r.rk = 1"""
"""Per query and street found: the addresses whose number is nearest the query's — all of them
on a tie: 2, 2A and 2B for "2"; 1 and 3 for a missing 2. Three index probes per query (the
number, the :data:`NEIGHBOURS` above it, those below), never a whole street."""

NEIGHBOURS = 8
"""Addresses fetched above and below a number that is not there (shared by same-named streets
of several municipalities; the nearest of each is kept)."""

STREET_SQL = f"""
WITH q AS ({_QUERIES})
SELECT {_OUT}, s.radius_m
FROM q AS r
JOIN address_streets s ON s.street_loose = r.loose
JOIN addresses h ON h.id = s.middle_id"""
"""Per query and street found: the address nearest the middle of the street (stored with the
street by the import) and the radius of the street's addresses around it."""

FUZZY_SQL = """
SELECT q.i, s.street_loose, s.sim
FROM unnest(%(i)s::int[], %(loose)s::text[]) AS q(i, loose)
CROSS JOIN LATERAL (
    SELECT d.street_loose, similarity(d.street_loose, q.loose) AS sim
    FROM (SELECT DISTINCT street_loose FROM address_streets WHERE street_loose %% q.loose) d
    ORDER BY sim DESC, d.street_loose
    LIMIT %(k)s
) s
WHERE s.sim >= %(min_sim)s"""
"""Streets spelt nearly like the query's (trigram index on the streets), most similar first."""


def _number_factor(pq: ParsedQuery, nummer: int, bokstav: str) -> tuple[float, str]:
    if pq.number is None:
        return 1.0, STREET_ONLY
    if nummer == pq.number:
        return (1.0, EXACT) if bokstav == pq.letter else (SAME_NUMBER_FACTOR, NEAREST)
    away = abs(nummer - pq.number)
    return max(MIN_NUMBER_FACTOR, OTHER_NUMBER_FACTOR - PER_NUMBER_AWAY * away), NEAREST


def _locality_factor(pq: ParsedQuery, row: tuple) -> float:
    if not (pq.postnummer or pq.places):
        return 1.0
    postnummer, poststed, kommunenavn, tillegg = row[7], row[8], row[10], row[11]
    factor = 1.0
    for code in pq.postnummer:
        if code != postnummer:
            factor *= LOCALITY_MISMATCH_FACTOR
    if pq.places:
        known = {place_key(p) for p in (poststed, kommunenavn, tillegg) if p}
        for place in pq.places:
            if place not in known:
                factor *= LOCALITY_MISMATCH_FACTOR
    return factor


def _candidate(pq: ParsedQuery, row: tuple) -> Candidate:
    (_i, sscore, lokalid, tekst, navn, nummer, bokstav, postnummer, poststed, kommunenummer,
     kommunenavn, _tillegg, key, x, y, lon, lat, accuracy, source, source_url, licence,
     dataset_date, sample, radius) = row  # fmt: skip
    if sscore >= 1.0 and key != pq.street_key:
        sscore = LOOSE_STREET_SCORE
    number_factor, kind = _number_factor(pq, nummer, bokstav)
    score = round(sscore * number_factor * _locality_factor(pq, row), 3)
    street_only = kind == STREET_ONLY
    if street_only and accuracy is not None and radius is not None:
        accuracy = max(accuracy, float(round(radius)))
    return Candidate(
        address=navn if street_only else tekst,
        street=navn,
        number=None if street_only else nummer,
        letter=None if street_only else (bokstav or None),
        postnummer=postnummer,
        poststed=poststed,
        kommunenummer=kommunenummer,
        kommunenavn=kommunenavn,
        lon=round(lon, 7),
        lat=round(lat, 7),
        x=round(x, 2),
        y=round(y, 2),
        score=score,
        match_kind=kind,
        accuracy_m=accuracy,
        lokalid=lokalid,
        source=source,
        source_url=source_url,
        licence=licence,
        dataset_date=dataset_date,
        sample=sample,
    )


def _rank_key(c: Candidate) -> tuple:
    return (
        -c.score,
        _KIND_ORDER[c.match_kind],
        c.kommunenummer,
        c.street,
        c.number or 0,
        c.letter or "",
    )


def _lookup(
    conn: psycopg.Connection,
    parsed: list[ParsedQuery],
    probes: list[tuple[int, str, float]],  # (query index, loose street key, street score)
) -> list[tuple]:
    """Rows for each probe: the nearest numbers (numbered queries) or the street's middle."""
    rows: list[tuple] = []
    for sql, numbered in ((NUMBERED_SQL, True), (STREET_SQL, False)):
        mine = [p for p in probes if (parsed[p[0]].number is not None) == numbered]
        if not mine:
            continue
        params = {
            "i": [p[0] for p in mine],
            "loose": [p[1] for p in mine],
            "num": [parsed[p[0]].number for p in mine],
            "sscore": [p[2] for p in mine],
            "k": NEIGHBOURS,
        }
        rows += conn.execute(sql, params).fetchall()
    return rows


def _check_batch(texts: Sequence[str], field: str) -> None:
    if isinstance(texts, str):
        raise ValidationError("give a list of addresses, not one string", field)
    if len(texts) > MAX_BATCH:
        raise ValidationError(f"at most {MAX_BATCH} addresses per batch, got {len(texts)}", field)


BATCH_SETTINGS_FROM = 50
"""From this many queries on, the statements run with JIT off and more sort memory (see
:func:`_batch_settings`)."""


@contextmanager
def _batch_settings(conn: psycopg.Connection, queries: int) -> Iterator[None]:
    """For a batch: ``jit = off`` and ``work_mem = 64MB``, local to a (sub)transaction.

    A batch's statements are estimated expensive enough for PostgreSQL's JIT compiler, which
    then spends more time compiling (measured: 1.1 s of 2.2 s for 10 000 queries) than the
    thousands of index probes take; their window sort also outgrows the default 4 MB. ``SET
    LOCAL`` keeps both to this transaction (a savepoint inside the caller's), so the caller's
    connection is left as it was. One query is cheap enough that neither applies.
    """
    if queries < BATCH_SETTINGS_FROM:
        yield
        return
    with conn.transaction():
        conn.execute("SET LOCAL jit = off")
        conn.execute("SET LOCAL work_mem = '64MB'")
        yield


def _geocode_parsed(
    conn: psycopg.Connection, parsed: list[ParsedQuery | None], limit: int
) -> list[list[Candidate]]:
    """Candidates for each parsed query (``None``: skipped, no candidates)."""
    found: list[list[Candidate]] = [[] for _ in parsed]
    wanted = [i for i, pq in enumerate(parsed) if pq is not None and pq.street_loose]
    ok: list[ParsedQuery] = parsed  # type: ignore[assignment]
    with _batch_settings(conn, len(wanted)):
        for row in _lookup(conn, ok, [(i, ok[i].street_loose, 1.0) for i in wanted]):
            found[row[0]].append(_candidate(ok[row[0]], row))
        missing = [i for i in wanted if not found[i]]
        if missing:
            similar = conn.execute(
                FUZZY_SQL,
                {
                    "i": missing,
                    "loose": [ok[i].street_loose for i in missing],
                    "k": FUZZY_STREETS,
                    "min_sim": MIN_SIMILARITY,
                },
            ).fetchall()
            probes = [(i, street, FUZZY_STREET_FACTOR * sim) for i, street, sim in similar]
            for row in _lookup(conn, ok, probes):
                found[row[0]].append(_candidate(ok[row[0]], row))
    return [sorted(cands, key=_rank_key)[:limit] for cands in found]


def geocode_many(
    conn: psycopg.Connection,
    texts: Sequence[str],
    limit: int = DEFAULT_LIMIT,
    field: str = "addresses",
) -> list[list[Candidate]]:
    """Candidates for each of ``texts`` (best first, at most ``limit`` each), in two or three
    statements for the whole batch. An unusable text (empty, too long) raises a
    :class:`ValidationError` naming ``field[index]``."""
    _check_batch(texts, field)
    check_limit(limit)
    parsed = [parse_query(t, f"{field}[{i}]") for i, t in enumerate(texts)]
    return _geocode_parsed(conn, parsed, limit)  # type: ignore[arg-type]


def geocode(
    conn: psycopg.Connection, text: str, limit: int = DEFAULT_LIMIT, field: str = "q"
) -> list[Candidate]:
    """Candidates for one free-text address, best first; a bad ``text`` or ``limit`` raises a
    :class:`ValidationError` naming ``field`` or ``limit``."""
    check_limit(limit)
    return _geocode_parsed(conn, [parse_query(text, field)], limit)[0]


def geocode_report(conn: psycopg.Connection, text: str, limit: int = DEFAULT_LIMIT) -> dict:
    """What ``GET /geocode`` and ``geoplan geocode --json`` answer: the query, how it was read
    and the candidates (an empty list when nothing matches)."""
    check_limit(limit)
    parsed = parse_query(text, "q")
    candidates = _geocode_parsed(conn, [parsed], limit)[0]
    return {
        "query": text,
        "parsed": parsed.as_dict(),
        "candidates": [c.as_dict() for c in candidates],
    }


# -- one position, never a guess -----------------------------------------------------------------
def unique_match(candidates: Sequence[Candidate]) -> Candidate | None:
    """The one candidate :func:`resolve` accepts, or ``None`` (none or several qualify)."""
    sure = [c for c in candidates if c.match_kind == EXACT and c.score >= RESOLVE_MIN_SCORE]
    return sure[0] if len(sure) == 1 else None


def _not_resolved(text: str, candidates: list[Candidate], field: str) -> AddressNotResolved:
    sure = [c for c in candidates if c.match_kind == EXACT and c.score >= RESOLVE_MIN_SCORE]
    if len(sure) > 1:
        reason = f"the address {text!r} is ambiguous: {len(sure)} addresses match it equally"
        return AddressNotResolved(text, sure, field, reason + "; add the postnummer or poststed")
    if not candidates:
        return AddressNotResolved(text, [], field, f"no address in the register matches {text!r}")
    return AddressNotResolved(
        text, candidates, field, f"the address {text!r} is not in the register as written"
    )


def resolve(conn: psycopg.Connection, text: str, field: str = "address") -> Candidate:
    """The one address ``text`` names, or :class:`AddressNotResolved` (a ValidationError naming
    ``field``) listing the candidates. Never a guess: see :func:`unique_match`."""
    candidates = geocode(conn, text, DEFAULT_LIMIT, field)
    match = unique_match(candidates)
    if match is None:
        raise _not_resolved(text, candidates, field)
    return match


def resolve_many(
    conn: psycopg.Connection, texts: Sequence[str], field: str = "address"
) -> list[Candidate | AddressNotResolved]:
    """:func:`resolve` for a batch (a file of premises): per text its one address or the
    :class:`AddressNotResolved` to report for that row (unusable texts included), not raised."""
    _check_batch(texts, field)
    parsed: list[ParsedQuery | None] = []
    problems: dict[int, AddressNotResolved] = {}
    for i, text in enumerate(texts):
        try:
            parsed.append(parse_query(text, field))
        except ValidationError as exc:
            parsed.append(None)
            problems[i] = AddressNotResolved(str(text), [], field, str(exc))
    results = _geocode_parsed(conn, parsed, DEFAULT_LIMIT)
    out: list[Candidate | AddressNotResolved] = []
    for i, (text, candidates) in enumerate(zip(texts, results, strict=True)):
        if i in problems:
            out.append(problems[i])
            continue
        match = unique_match(candidates)
        out.append(match if match is not None else _not_resolved(text, candidates, field))
    return out
