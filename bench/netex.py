"""``geoplan import-netex`` on Ruter's AOR export and on a file ten times its size: memory and time.

One command (``python -m bench.netex``): builds ``AOR×N.zip`` in a temp directory from the real
AOR zip (../shared/data/real/netex/ruter_AOR_romerike_2017.zip, © Ruter/Entur, NLOD) by
repeating every ServiceJourney of its line files N times under new ids (``…-bench2``,
``…-bench3``...), N chosen so the XML is at least ten times AOR's; starts a throwaway PostGIS
cluster holding Lillestrøm's boundary (3205); then imports AOR and the big file, each in a fresh
process, and prints, side by side, the uncompressed size, journeys, wall time of the import and
the process's peak resident memory (``VmHWM``, else ``ru_maxrss``; it includes lxml's C
allocations, which ``tracemalloc`` does not see), in total and above the baseline of a process
that has imported geoplan.

The claim it checks: memory grows with the number of stops, not with the size of the files
(the big file has the same stops and journey patterns, ten times the journeys).
Run: ``python -m bench.netex [--factor N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from geoplan.config import REPO_ROOT

REAL = REPO_ROOT.parent / "shared" / "data" / "real"
AOR = REAL / "netex" / "ruter_AOR_romerike_2017.zip"
KOMMUNER = REAL / "boundaries" / "kommuner_norge_2024_generalised.geojson"
JOURNEY = re.compile(rb"<ServiceJourney\b.*?</ServiceJourney>", re.DOTALL)
JOURNEY_ID = re.compile(rb'(<ServiceJourney\b[^>]*?\bid=")([^"]+)(")')


def _sizes(src: zipfile.ZipFile) -> tuple[int, int]:
    """(bytes of ServiceJourneys, all other bytes) of the XML in ``src``."""
    journeys = other = 0
    for info in src.infolist():
        data = src.read(info)
        j = sum(len(m.group(0)) for m in JOURNEY.finditer(data))
        journeys += j
        other += len(data) - j
    return journeys, other


def build(dst: Path, factor: int | None = None) -> tuple[Path, int]:
    """``dst``: AOR with every ServiceJourney repeated ``factor`` times (default: enough for
    ten times AOR's uncompressed size). Returns the path and the factor used."""
    with zipfile.ZipFile(AOR) as src:
        if factor is None:
            journeys, other = _sizes(src)
            factor = math.ceil((9 * other + 10 * journeys) / journeys)
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
            for info in src.infolist():
                data = src.read(info)

                def repeat(m: re.Match) -> bytes:
                    block = m.group(0)
                    copies = [block]
                    for k in range(2, factor + 1):
                        suffix = f"-bench{k}".encode()
                        copies.append(
                            JOURNEY_ID.sub(lambda i, s=suffix: i[1] + i[2] + s + i[3], block, 1)
                        )
                    return b"\n".join(copies)

                out.writestr(info.filename, JOURNEY.sub(repeat, data))
    return dst, factor


def _peak_kb() -> int:
    """Peak resident memory of this process in kB: Linux's ``VmHWM``, which belongs to the
    process image (``ru_maxrss`` also keeps the peak of the parent it was forked from)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(url: str, path: str) -> None:
    """In a fresh process: import ``path`` and print time and peak memory as JSON."""
    from geoplan.ingest.netex import NetexOptions, import_netex
    from geoplan.store import db

    base = _peak_kb()
    t = time.perf_counter()
    with db.transaction(url) as conn:
        r = import_netex(conn, Path(path), NetexOptions(replace=True))
    elapsed = time.perf_counter() - t
    peak = _peak_kb()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_kb": peak,
                "base_kb": base,
                "journeys": r.journeys,
                "stop_places": r.stop_places,
                "hubs": r.hubs,
            }
        )
    )


def _measure(url: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.netex", "--child", url, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load_boundary(url: str) -> None:
    import geopandas as gpd

    from geoplan.geo.region import Region, municipality
    from geoplan.ingest.validation import prepare
    from geoplan.ingest.writer import write_layer
    from geoplan.layers.spec import layer_spec
    from geoplan.store import db

    g = gpd.read_file(KOMMUNER)
    g = g[g["kommunenummer"] == "3205"].rename(columns={"kommunenavn": "name"})
    g["id"] = "3205"
    with db.transaction(url) as conn:
        wide = Region(municipality(conn, use_boundary=False), 2_000_000)
        write_layer(conn, prepare(g, layer_spec("boundary"), region=wide, source_name="3205"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.netex", description=__doc__)
    parser.add_argument("--factor", type=int, default=None, help="journey copies (default: ≥10×)")
    parser.add_argument("--keep", type=Path, default=None, help="write the big zip here")
    parser.add_argument("--child", nargs=2, metavar=("URL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return

    from bench._harness import throwaway_cluster
    from geoplan.store import db

    work = tempfile.TemporaryDirectory(prefix="geoplan-bench-netex-")
    big = (args.keep or Path(work.name)) / "AOR-x10.zip"
    t = time.perf_counter()
    big, factor = build(big, args.factor)
    print(f"built {big.name} (journeys × {factor}) in {time.perf_counter() - t:.0f} s", flush=True)

    def xml_mb(p: Path) -> float:
        with zipfile.ZipFile(p) as z:
            return sum(i.file_size for i in z.infolist()) / 1e6

    sizes = {p: (p.stat().st_size / 1e6, xml_mb(p)) for p in (AOR, big)}
    cluster = throwaway_cluster()
    url = cluster.up()
    try:
        db.upgrade(url=url)
        _load_boundary(url)
        results = [(AOR, _measure(url, AOR)), (big, _measure(url, big))]
    finally:
        cluster.destroy()
        work.cleanup()
    print(
        f"{'file':<34} {'zip MB':>7} {'XML MB':>7} {'journeys':>9} {'stops':>6} {'hubs':>5} "
        f"{'time s':>7} {'MB/s':>6} {'peak RSS MB':>12} {'above base':>11}"
    )
    for path, r in results:
        zip_mb, mb = sizes[path]
        print(
            f"{path.name:<34} {zip_mb:7.1f} {mb:7.1f} {r['journeys']:9d} "
            f"{r['stop_places']:6d} {r['hubs']:5d} {r['seconds']:7.1f} {mb / r['seconds']:6.1f} "
            f"{r['peak_kb'] / 1e3:12.0f} {(r['peak_kb'] - r['base_kb']) / 1e3:11.0f}"
        )
    (a_path, a), (b_path, b) = results
    above_a, above_b = a["peak_kb"] - a["base_kb"], b["peak_kb"] - b["base_kb"]
    size_x = sizes[b_path][1] / sizes[a_path][1]
    print(
        f"size × {size_x:.1f}, time × {b['seconds'] / a['seconds']:.1f}, "
        f"memory above base × {above_b / max(above_a, 1):.2f}"
    )


if __name__ == "__main__":
    main()
