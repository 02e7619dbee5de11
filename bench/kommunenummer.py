"""What deriving ``kommunenummer`` costs a bulk write (migration 0005's trigger).

Inserts 100 000 premises at random positions into a throwaway PostGIS cluster holding the
shipped layers (serving Lørenskog), with the row trigger ``premises_kommunenummer`` enabled and
disabled in turn (the same statement; the other triggers — the stored OGC heads — always on),
and prints the best of ``--rounds`` for each, the difference per row, and the set-based backfill
of the same rows. Two spreads: Lørenskog's envelope (about 70 % of the rows inside the served
boundary: one lookup each), and a box around it (about 10 % inside; the rest in Oslo,
Lillestrøm, Rælingen and other neighbours, found in the national register after the served
boundary missed).
Run: ``python -m bench.kommunenummer [--rows N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import time

from bench._harness import throwaway_cluster
from geoplan.config import REPO_ROOT
from geoplan.ingest.municipalities import backfill
from geoplan.ingest.shipped import load_layers
from geoplan.store import db

DEFAULT_ROWS = 100_000
TRIGGER = "premises_kommunenummer"
SPREADS: dict[str, tuple[int, int, int, int]] = {
    "Lørenskog's envelope": (270_900, 6_639_900, 278_300, 6_653_600),
    "around Lørenskog": (262_000, 6_632_000, 287_000, 6_660_000),
}
"""EPSG:25833 boxes the rows are spread over."""

INSERT = """
    INSERT INTO premises (id, address, uses, floor_area_m2, source, sample, geom)
    SELECT 'b-' || i, 'Benchveien', '{office}', 100, 'BENCHMARK DATA', true,
           ST_SetSRID(ST_MakePoint(%(x0)s + random() * %(w)s, %(y0)s + random() * %(h)s), 25833)
    FROM generate_series(1, %(n)s) i"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kommunenummer", description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    cluster = throwaway_cluster()
    url = cluster.up()
    try:
        db.upgrade(url=url)
        with db.transaction(url) as conn:
            load_layers(conn, REPO_ROOT / "layers")
        for spread, (x0, y0, x1, y1) in SPREADS.items():
            params = {"x0": x0, "y0": y0, "w": x1 - x0, "h": y1 - y0, "n": args.rows}
            _measure(url, spread, params, args.rows, args.rounds)
    finally:
        cluster.destroy()


def _measure(url: str, spread: str, params: dict, rows: int, rounds: int) -> None:
    """Best of ``rounds``: the insert without the trigger, with it (wall clock), and the
    trigger's own time as PostgreSQL counts it (``EXPLAIN ANALYZE``: less disturbed by other
    work on a shared machine than the difference of two wall-clock times)."""
    times: dict[str, list[float]] = {"with": [], "without": [], "trigger": [], "backfill": []}
    with db.connect(url, autocommit=True) as conn:
        for _ in range(rounds):
            for mode in ("without", "with"):
                action = "ENABLE" if mode == "with" else "DISABLE"
                conn.execute(f"ALTER TABLE premises {action} TRIGGER premises_kommunenummer")
                conn.execute("DELETE FROM premises WHERE id LIKE 'b-%'")
                conn.execute("VACUUM ANALYZE premises")
                start = time.perf_counter()
                plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + INSERT, params)
                times[mode].append(time.perf_counter() - start)
                if mode == "with":
                    triggers = plan.fetchone()[0][0].get("Triggers", [])
                    ms = next(t["Time"] for t in triggers if t["Trigger Name"] == TRIGGER)
                    times["trigger"].append(ms / 1000)
                else:  # the rows lack their number: backfill them
                    start = time.perf_counter()
                    with conn.transaction():
                        backfill(conn)
                    times["backfill"].append(time.perf_counter() - start)
        conn.execute("ALTER TABLE premises ENABLE TRIGGER premises_kommunenummer")
        served = conn.execute(
            "SELECT avg((kommunenummer = '3222')::int) FROM premises WHERE id LIKE 'b-%'"
        ).fetchone()[0]
        conn.execute("DELETE FROM premises WHERE id LIKE 'b-%'")
    best = {k: min(v) for k, v in times.items()}
    print(
        f"{spread} ({float(served):.0%} in the served municipality), {rows} premises inserted, "
        f"best of {rounds}: without the trigger {best['without']:.2f} s, with it "
        f"{best['with']:.2f} s; the trigger itself {best['trigger']:.2f} s = "
        f"{best['trigger'] / rows * 1e6:.1f} µs a row; set-based backfill of the same rows "
        f"{best['backfill']:.2f} s"
    )


if __name__ == "__main__":
    main()
